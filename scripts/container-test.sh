#!/usr/bin/env bash
# Builds jobgate's container image from the Dockerfile with buildah (no Docker engine runs here), starts it with
# the image's own entrypoint and command, and runs a backup through it over HTTP, checking the copy with
# qemu-img; then checks the HEALTHCHECK command and that SIGTERM stops it cleanly.
#
# The image is built in Docker's format, as `docker build` makes it (OCI's has no HEALTHCHECK).
# The base images are made here, not pulled: debian:bookworm-slim with debootstrap (minbase) from Debian's
# mirror, and a Swift build image from it plus the toolchain in /opt/swift and the Swift package mirror in
# /opt/swift-packages. They are kept in buildah's storage, so a second run builds only jobgate.
#
#   scripts/container-test.sh       (as root; JOBGATE_CONTAINER_PORT, default 8080, is the port it listens on)
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "container-test: run as root (buildah, debootstrap)" >&2; exit 1; }
missing=()
for tool in buildah:buildah debootstrap:debootstrap qemu-img:qemu-utils curl:curl python3:python3; do
  command -v "${tool%%:*}" >/dev/null || missing+=("${tool##*:}")
done
if [ "${#missing[@]}" -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi
export BUILDAH_ISOLATION=chroot
port="${JOBGATE_CONTAINER_PORT:-8080}"
swift_version="$(swift --version 2>/dev/null | sed -n 's/.*Swift version \([0-9.]*\).*/\1/p' | head -1)"
base=docker.io/library/debian:bookworm-slim
builder="localhost/jobgate-swift:${swift_version:-6}-bookworm"
work="$(mktemp -d /var/tmp/jobgate-container.XXXXXX)"
container=""
runner=""
cleanup() {
  # A failed run leaves nothing behind: the container's jobgate (and with it the engine) is stopped first.
  if [ -n "$runner" ] && kill -0 "$runner" 2>/dev/null; then
    pkill -TERM -f -- "tini -- /usr/local/bin/jobgate --listen 0.0.0.0:$port" || true
    for _ in $(seq 1 50); do kill -0 "$runner" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$runner" 2>/dev/null || true
  fi
  [ -n "$container" ] && buildah rm "$container" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
step() { echo "container-test: $*" >&2; }

if ! buildah inspect --type image "$base" >/dev/null 2>&1; then
  step "making $base with debootstrap"
  debootstrap --variant=minbase bookworm "$work/rootfs" http://deb.debian.org/debian >"$work/debootstrap.log"
  rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
  tar -C "$work/rootfs" -cf "$work/rootfs.tar" .
  rm -rf "$work/rootfs"
  scratch="$(buildah from scratch)"
  buildah add "$scratch" "$work/rootfs.tar" / >/dev/null
  buildah config --cmd /bin/bash "$scratch"
  buildah commit --rm "$scratch" "$base" >/dev/null
  rm -f "$work/rootfs.tar"
fi

if ! buildah inspect --type image "$builder" >/dev/null 2>&1; then
  step "making $builder from /opt/swift"
  [ -x /opt/swift/usr/bin/swift ] || { echo "container-test: no toolchain in /opt/swift" >&2; exit 1; }
  stage="$(buildah from "$base")"
  # What Swift's own bookworm images install for the toolchain.
  buildah run "$stage" -- sh -c 'apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y \
    --no-install-recommends binutils git gnupg2 libc6-dev libcurl4-openssl-dev libedit2 libgcc-12-dev \
    libpython3-dev libsqlite3-0 libstdc++-12-dev libxml2-dev libncurses-dev libz3-dev pkg-config tzdata \
    zlib1g-dev ca-certificates >/dev/null && rm -rf /var/lib/apt/lists/*'
  buildah copy "$stage" /opt/swift /opt/swift >/dev/null
  if [ -d /opt/swift-packages ]; then
    buildah copy "$stage" /opt/swift-packages /opt/swift-packages >/dev/null
    buildah run "$stage" -- git config --system url./opt/swift-packages/.insteadOf https://github.com/
  fi
  buildah config --env PATH=/opt/swift/usr/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$stage"
  buildah commit --rm "$stage" "$builder" >/dev/null
fi

step "building localhost/jobgate:test from the Dockerfile"
started=$SECONDS
buildah bud --isolation chroot --pull=never --layers --format docker --build-arg "SWIFT_IMAGE=$builder" \
  -t localhost/jobgate:test . >"$work/build.log" 2>&1 || { tail -40 "$work/build.log" >&2; exit 1; }
step "built in $((SECONDS - started)) s"

# The image's entrypoint, command and health check, as a container runtime would read them.
buildah inspect --type image localhost/jobgate:test >"$work/image.json"
read_config() { python3 -c 'import json, sys; c = json.load(open(sys.argv[1]))["Docker"]["config"]; print(json.dumps(c.get(sys.argv[2])))' "$work/image.json" "$1"; }
entrypoint="$(read_config Entrypoint)"
command="$(read_config Cmd)"
health="$(read_config Healthcheck)"
user="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["Docker"]["config"]["User"])' "$work/image.json")"
step "entrypoint $entrypoint, command $command, user $user"
[ "$user" = "10001:10001" ] || { echo "container-test: the image runs as '$user', not uid 10001" >&2; exit 1; }

# A data volume and a token file as an operator provides them (owned by the image's user, mode 0600).
mkdir -p "$work/data/images" "$work/secrets"
token="container-test-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
echo "$token operate container-test" >"$work/secrets/jobgate-tokens"
chmod 0600 "$work/secrets/jobgate-tokens"
qemu-img create -q -f qcow2 "$work/data/images/src.qcow2" 64M
qemu-io -f qcow2 -c "write -P 0x5a 0 24M" "$work/data/images/src.qcow2" >/dev/null
qemu-img create -q -f qcow2 "$work/data/images/dst.qcow2" 64M
chown -R 10001:10001 "$work/data" "$work/secrets"
[ "$port" = 8080 ] || command="$(python3 -c 'import json, sys; c = json.loads(sys.argv[1]); c[c.index("--listen") + 1] = "0.0.0.0:" + sys.argv[2]; print(json.dumps(c))' "$command" "$port")"
if curl -s -o /dev/null "http://127.0.0.1:$port/"; then
  echo "container-test: something already listens on port $port (set JOBGATE_CONTAINER_PORT)" >&2; exit 1
fi

container="$(buildah from localhost/jobgate:test)"
mapfile -t argv < <(python3 -c 'import json, sys; [print(a) for a in json.loads(sys.argv[1]) + json.loads(sys.argv[2])]' "$entrypoint" "$command")
step "starting: ${argv[*]}"
buildah run --user 10001:10001 -v "$work/data:/var/lib/jobgate" -v "$work/secrets:/run/secrets:ro" \
  "$container" -- "${argv[@]}" >"$work/jobgate.log" 2>&1 &
runner=$!
base_url="http://127.0.0.1:$port"
auth=(-H "Authorization: Bearer $token")
for _ in $(seq 1 300); do
  curl -sf -o /dev/null "$base_url/readyz" && break
  kill -0 "$runner" 2>/dev/null || { cat "$work/jobgate.log" >&2; exit 1; }
  sleep 0.1
done
curl -sf "$base_url/readyz" >&2 || { echo; cat "$work/jobgate.log" >&2; exit 1; }
echo >&2

step "a backup through the container's jobgate"
# One API call that must answer `expected`; otherwise its answer and jobgate's log are shown.
call() {
  local expected="$1"; shift
  local status
  status="$(curl -s "${auth[@]}" -o "$work/answer.json" -w '%{http_code}' "$@")"
  if [ "$status" != "$expected" ]; then
    echo "container-test: $* answered $status, not $expected: $(cat "$work/answer.json")" >&2
    tail -20 "$work/jobgate.log" >&2
    exit 1
  fi
}
for name in src dst; do
  call 201 --json \
    "{\"node-name\":\"$name\",\"driver\":\"qcow2\",\"file\":{\"driver\":\"file\",\"filename\":\"$name.qcow2\"}}" \
    "$base_url/nodes"
done
call 201 --json '{"type":"backup","id":"b0","device":"src","target":"dst","sync":"full"}' "$base_url/jobs"
for _ in $(seq 1 300); do
  curl -sf "${auth[@]}" "$base_url/jobs/b0" | grep -q '"status":"null"' && break
  sleep 0.1
done
record="$(curl -sf "${auth[@]}" "$base_url/jobs/b0")"
echo "$record" | python3 -c 'import json, sys; r = json.load(sys.stdin); print("container-test: b0", r["status"], r["stats"]["outcome"], r["current-progress"], "bytes", file=sys.stderr); sys.exit(0 if r["stats"]["outcome"] == "completed" else 1)'
for name in src dst; do
  call 204 -X DELETE "$base_url/nodes/$name"
done
qemu-img compare -f qcow2 -F qcow2 "$work/data/images/src.qcow2" "$work/data/images/dst.qcow2" >&2

step "the image's HEALTHCHECK command, inside the container"
python3 -c 'import json, sys; h = json.loads(sys.argv[1]); assert h and h["Test"][0] == "CMD", h; [print(a) for a in h["Test"][1:]]' "$health" >"$work/health.txt"
mapfile -t check <"$work/health.txt"
[ "$port" = 8080 ] || check=("${check[@]/:8080/:$port}")
buildah run --user 10001:10001 "$container" -- "${check[@]}"

step "SIGTERM"
pid="$(pgrep -f -n -- "/usr/local/bin/jobgate --listen 0.0.0.0:$port")"
tini="$(ps -o ppid= -p "$pid" | tr -d ' ')"
kill -TERM "$tini"
for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then echo "container-test: jobgate still runs 10 s after SIGTERM" >&2; exit 1; fi
wait "$runner"
grep -q "HTTP server stopped" "$work/jobgate.log" || { cat "$work/jobgate.log" >&2; exit 1; }
engine="$(cat "$work/data/engine.pid" 2>/dev/null || true)"
if [ -n "$engine" ] && kill -0 "$engine" 2>/dev/null; then
  echo "container-test: the engine (pid $engine) outlived the container" >&2; exit 1
fi
step "passed: the image builds, serves, backs up (qemu-img compare: identical), is healthy, and stops on SIGTERM"
