#!/usr/bin/env bash
# Installs Debian's chromium for the console's browser test (test/console/).
# Idempotent: does nothing when /usr/bin/chromium exists. Needs root (CI runs
# as root); playwright-core drives this binary, it never downloads a browser.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-chromium: /usr/bin/chromium is missing and this is not root; run: sudo apt-get install -y chromium" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
/usr/bin/chromium --version
