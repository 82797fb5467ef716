#!/usr/bin/env bash
# Installs what is missing, builds jobgate (release) and runs it with a local data dir and an embedded QEMU
# engine. Extra arguments go to jobgate, e.g. scripts/run.sh --listen 127.0.0.1:9090
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
swift build -c release --product jobgate
exec "$(swift build -c release --show-bin-path)/jobgate" --data-dir ./data "$@"
