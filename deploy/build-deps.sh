#!/usr/bin/env bash
# Build dependencies of the compiled scanner core that pip cannot install: Hyperscan's C library and headers
# (Debian libhyperscan-dev), for detectors/_hs.pyx. `make install` (and so `make demo` and `make test`) runs this
# before pip. Idempotent. Without apt or root it says so in one line and the build goes on: the core then scans
# through python-hyperscan (same findings, slower on identifier-dense data).
set -euo pipefail
[ -f /usr/include/hs/hs.h ] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "note: Hyperscan headers not found (install libhyperscan-dev or your system's equivalent for the faster core)" >&2
  exit 0
fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null || ! sudo -n true 2>/dev/null; then
    echo "note: as root, apt-get install libhyperscan-dev gives the faster scanner core; building without it" >&2
    exit 0
  fi
  sudo=(sudo -n)
fi
echo "installing the scanner core's build dependency: libhyperscan-dev" >&2
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libhyperscan-dev >/dev/null
