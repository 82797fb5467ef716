#!/usr/bin/env bash
# Reads against libmicrohttpd in C, side by side in one run: for each GET route, wrk (32 connections) against
# jobgate, then against bench/reference_server.c answering a body of the same size, and the ratio of the two.
# Routes: /healthz, a finished job, a live job with ?stats=false, a live job with stats. Appends the table, with
# the date, the machine and the commit, to bench/RESULTS.md.
#
#   bench/reads.sh [SECONDS]     (default 5 per measurement)
source "$(dirname "$0")/setup.sh" reads
seconds="${1:-5}"
for tool in wrk cc; do
  command -v "$tool" >/dev/null && continue
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends wrk gcc libc6-dev
done
threads="$(nproc)"
cc -O2 -o "$work/reference_server" bench/reference_server.c $(pkg-config --cflags --libs libmicrohttpd)
mkdir -p "$work/data/images"
for name in src dst live livedst; do qemu-img create -q -f qcow2 "$work/data/images/$name.qcow2" 64M; done
qemu-io -f qcow2 -c "write 0 16M" "$work/data/images/live.qcow2" >/dev/null
"$binary" --listen 127.0.0.1:18200 --data-dir "$work/data" --stop-engine-on-exit --log-level warning \
  >"$work/jobgate.log" 2>&1 &
jobgate=$!
trap 'kill "$jobgate" 2>/dev/null; wait "$jobgate" 2>/dev/null; rm -rf "$work"' EXIT
base=http://127.0.0.1:18200
until curl -sf -o /dev/null "$base/readyz"; do sleep 0.05; done
for name in src dst live livedst; do
  curl -sf -o /dev/null --json "{\"node-name\":\"$name\",\"driver\":\"qcow2\",\"file\":{\"driver\":\"file\",\"filename\":\"$name.qcow2\"}}" "$base/nodes"
done
curl -sf -o /dev/null --json '{"type":"backup","id":"done","device":"src","target":"dst","sync":"full"}' "$base/jobs"
until curl -sf "$base/jobs/done" | grep -q '"status":"null"'; do sleep 0.05; done
curl -sf -o /dev/null --json '{"type":"backup","id":"live","device":"live","target":"livedst","sync":"full","speed":1}' "$base/jobs"
until curl -sf "$base/jobs/live" | grep -q '"status":"running"'; do sleep 0.05; done

# One wrk run: "requests/s p99-ms".
measure() {
  wrk -t 2 -c 32 -d "${seconds}s" --latency "$1" | awk '
    /Requests\/sec/ { rate = $2 }
    /^ +99%/ { p = $2; if (p ~ /us$/) { sub(/us/, "", p); p /= 1000 } else if (p ~ /ms$/) { sub(/ms/, "", p) } else if (p ~ /s$/) { sub(/s/, "", p); p *= 1000 }; p99 = p }
    END { printf "%d %.2f\n", rate, p99 }'
}

machine="$(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -m), $(. /etc/os-release; echo "$PRETTY_NAME")"
table="| route | body bytes | jobgate req/s | jobgate p99 | C req/s | C p99 | ratio |
| --- | --- | --- | --- | --- | --- | --- |"
for route in "/healthz" "/jobs/done" "/jobs/live?stats=false" "/jobs/live"; do
  bytes="$(curl -s "$base$route" | wc -c)"
  read -r gate_rate gate_p99 <<<"$(measure "$base$route")"
  "$work/reference_server" 18201 "$bytes" "$threads" &
  reference=$!
  until curl -sf -o /dev/null http://127.0.0.1:18201/; do sleep 0.02; done
  read -r c_rate c_p99 <<<"$(measure http://127.0.0.1:18201/)"
  kill "$reference"; wait "$reference" 2>/dev/null || true
  ratio="$(awk -v a="$gate_rate" -v b="$c_rate" 'BEGIN { printf "%.2f", a / b }')"
  table+="
| \`GET $route\` | $bytes | $gate_rate | $gate_p99 ms | $c_rate | $c_p99 ms | $ratio |"
done
section="
### $(date -u +%Y-%m-%d), $machine, $(git rev-parse --short HEAD 2>/dev/null || echo unknown)

wrk -t 2 -c 32, ${seconds} s per line; jobgate release, then the C reference with the same body size, one after
the other; wrk, the server and QEMU share the machine.

$table"
echo "$section"
echo "$section" | python3 bench/results.py '## Reads against libmicrohttpd in C' \
  "Each GET route of jobgate against \`bench/reference_server.c\` (libmicrohttpd, epoll, a thread pool as large as
jobgate's) answering a body of the same size. Goals (issue #13): a finished record at least 0.6x, a live job
with stats at least 0.3x with p99 under 5 ms."
