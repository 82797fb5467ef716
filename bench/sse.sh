#!/usr/bin/env bash
# jobgate's event-stream benchmark: 1,000 subscribers on GET /events while 4 throttled backups run for about 15 s;
# delivery latency p50/p99, completeness, and jobgate's CPU and memory (see bench/sse.py for what is measured).
#
#   bench/sse.sh [SUBSCRIBERS] [JOBS] [SECONDS]    (defaults 1000 4 15; copy the output into bench/RESULTS.md)
source "$(dirname "$0")/setup.sh" sse
ulimit -n "$(ulimit -Hn)"
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -m), $(. /etc/os-release; echo "$PRETTY_NAME")"
echo "date: $(date -u +%Y-%m-%d)"
command -v cc >/dev/null || { sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo; $sudo apt-get install -y --no-install-recommends gcc libc6-dev; }
cc -O2 -o "$work/sse_client" bench/sse_client.c
python3 bench/sse.py "$binary" "$work/sse_client" "$work" 18190 "${1:-1000}" "${2:-4}" "${3:-15}"
