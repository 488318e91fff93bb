#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian/Ubuntu machine, then `npm ci`.
# Debian packages are installed only when missing: mosquitto (the reference broker the
# client is tested against), mosquitto-clients (mosquitto_pub/sub interop), redis-server,
# chromium (browser tests, driven by playwright-core; no browser is ever downloaded) and openssl
# (test certificates).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
command -v mosquitto_pub >/dev/null 2>&1 || need+=(mosquitto-clients)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

npm ci --no-audit --no-fund
