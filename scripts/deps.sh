#!/usr/bin/env bash
# Installs what jobgate needs from Debian, only if something is missing:
# libmicrohttpd-dev, pkg-config, QEMU for this host's architecture, and qemu-utils (qemu-img, qemu-io).
# With JOBGATE_DEPS=test (scripts/test.sh) also what the tests need: python3-fusepy (a stalled FUSE mount) and
# python3-venv (the Python tools of requirements-test.txt), openssl (a certificate for the HTTPS test),
# chromium and chromium-driver (the browser test), a Java runtime (OpenAPI Generator's client test), nginx
# (the reverse-proxy test, with deploy/nginx/jobgate.conf), systemd (systemd-analyze checks the unit in deploy/).
# The Swift 6 toolchain itself is not a Debian package: it must be on PATH (or in /opt/swift/usr/bin).
set -euo pipefail

case "$(uname -m)" in
  x86_64) qemu_pkg=qemu-system-x86 ;;
  aarch64) qemu_pkg=qemu-system-arm ;;
  ppc64le) qemu_pkg=qemu-system-ppc ;;
  s390x) qemu_pkg=qemu-system-s390x ;;
  riscv64) qemu_pkg=qemu-system-misc ;;
  *) qemu_pkg=qemu-system-x86 ;;
esac
packages=(libmicrohttpd-dev pkg-config "$qemu_pkg" qemu-utils curl ca-certificates)
if [ "${JOBGATE_DEPS:-}" = test ]; then
  packages+=(python3-fusepy python3-venv openssl chromium chromium-driver default-jre-headless nginx systemd)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "deps: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi

if ! command -v swift >/dev/null 2>&1; then
  if [ -x /opt/swift/usr/bin/swift ]; then
    export PATH="/opt/swift/usr/bin:$PATH"
  else
    echo "deps: the Swift 6 toolchain is not on PATH (see https://www.swift.org/install/linux/)" >&2
    exit 1
  fi
fi
