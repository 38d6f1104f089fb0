#!/usr/bin/env bash
# The Debian packages the test suite needs, installed if missing (idempotent). `make test` runs this first, so the
# README's test command works on a fresh machine by itself; .ci/run calls `make test` too.
#   promtool, amtool (prometheus, prometheus-alertmanager): alert-rule tests and the live alert chain
#   chromium + a CJK font (fonts-wqy-zenhei): the dashboard's browser test
#   stunnel4: the TLS endpoint in front of the embedded broker for the real-TLS Kafka test
set -euo pipefail
need=()
command -v promtool >/dev/null || need+=(prometheus)
command -v prometheus-alertmanager >/dev/null || need+=(prometheus-alertmanager)
command -v chromium >/dev/null || need+=(chromium)
command -v stunnel4 >/dev/null || need+=(stunnel4)
fc-list 2>/dev/null | grep -qi wqy || need+=(fonts-wqy-zenhei)
[ ${#need[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "piplwatch tests need these packages (or their equivalents): ${need[*]}" >&2
  exit 1
fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null; then
    echo "piplwatch tests need these Debian packages; install them as root: apt-get install ${need[*]}" >&2
    exit 1
  fi
  sudo=(sudo)
fi
echo "installing for the tests: ${need[*]}" >&2
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
