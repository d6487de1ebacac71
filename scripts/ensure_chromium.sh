#!/bin/sh
# Debian's headless Chromium and fonts for tests/test_browser.py: Chinese shows as empty boxes
# without fonts-noto-cjk, emoji icons without fonts-noto-color-emoji. Installs them with
# apt-get when missing and we are root.
# Never fails: where they cannot be installed the browser test skips and says why.
# Never `playwright install`: Playwright drives /usr/bin/chromium.
set -u
PACKAGES="chromium fonts-noto-cjk fonts-noto-color-emoji"
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"; }
have_fonts() { installed fonts-noto-cjk && installed fonts-noto-color-emoji; }
if [ -x /usr/bin/chromium ] && have_fonts; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "ensure_chromium: not root, cannot apt-get install $PACKAGES; the browser test skips if chromium is missing"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure_chromium: no apt-get here, cannot install $PACKAGES; the browser test skips if chromium is missing"
  exit 0
fi
echo "ensure_chromium: installing $PACKAGES for the browser test"
export DEBIAN_FRONTEND=noninteractive
{ apt-get update -q && apt-get install -y -q --no-install-recommends $PACKAGES; } >/tmp/ensure_chromium.log 2>&1 \
  || echo "ensure_chromium: apt-get failed (log: /tmp/ensure_chromium.log); the browser test skips if chromium is missing"
exit 0
