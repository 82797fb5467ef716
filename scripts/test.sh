#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite: unit tests and the integration tests that
# drive a real jobgate over HTTP against a real QEMU engine. A missing QEMU fails the run; nothing is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBGATE_DEPS=test source scripts/deps.sh
# Python tools the tests run (requirements-test.txt), in a virtual environment kept out of git.
# Rebuilt whenever requirements-test.txt differs from the copy kept in it at its last install.
if ! cmp -s requirements-test.txt .venv-test/requirements-test.txt; then
  rm -rf .venv-test
  /usr/bin/python3 -m venv .venv-test
  .venv-test/bin/pip install --quiet --disable-pip-version-check -r requirements-test.txt
  cp requirements-test.txt .venv-test/requirements-test.txt
fi
export JOBGATE_TEST_VENV="$PWD/.venv-test"
swift format lint --strict -r Sources Tests
# No lock held across a system call that can block; Mutex the one kind of lock (see the script).
python3 scripts/check-locks.py
swift build --product jobgate
export JOBGATE_BINARY="$(swift build --show-bin-path)/jobgate"
# The Dockerfile, the systemd unit and the Kubernetes manifests, checked by hadolint, systemd-analyze and
# kubernetes-validate.
scripts/check-deploy.sh
swift test "$@"
