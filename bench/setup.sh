# Sourced by the bench scripts: from the repository root, installs what is missing (scripts/deps.sh, python3),
# builds the release binary, and sets `binary` and `work` (a temporary directory removed on exit).
# Usage: source "$(dirname "$0")/setup.sh" NAME
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/deps.sh
command -v python3 >/dev/null || { sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo; $sudo apt-get install -y --no-install-recommends python3; }
swift build -c release --product jobgate >&2
binary="$(swift build -c release --show-bin-path)/jobgate"
work="$(mktemp -d "/tmp/jobgate-${1:-bench}.XXXXXX")"
trap 'rm -rf "$work"' EXIT
