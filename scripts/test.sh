#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite: unit tests and the integration tests that
# drive a real jobgate over HTTP against a real QEMU engine. A missing QEMU fails the run; nothing is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBGATE_DEPS=test source scripts/deps.sh
swift format lint --strict -r Sources Tests
swift build --product jobgate
export JOBGATE_BINARY="$(swift build --show-bin-path)/jobgate"
swift test "$@"
