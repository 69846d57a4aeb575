#!/usr/bin/env bash
# Makes sure Debian's `chromium` is installed at /usr/bin/chromium for the Web UI browser test
# (test/ui/ui.test.ts drives it with playwright-core; no browser is ever downloaded by Playwright).
# Idempotent and quiet: does nothing when the binary is already there. Meant to be called from
# .ci/run (`bash .ci/install-chromium.sh`); needs root or passwordless sudo for apt-get.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
  exit 0
fi

fail() {
  echo "install-chromium: $*" >&2
  echo "install-chromium: the Web UI browser test (test/ui) needs Debian's chromium at $CHROMIUM." >&2
  exit 1
}

if ! command -v apt-get >/dev/null 2>&1; then
  fail "apt-get not found; install Chromium by hand so that $CHROMIUM exists."
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
  else
    fail "not root and no passwordless sudo; run as root: apt-get update && apt-get install -y chromium"
  fi
fi

log=$(mktemp "${TMPDIR:-/tmp}/install-chromium.XXXXXX.log")
echo "install-chromium: installing Debian's chromium (log: $log)"
if ! "${SUDO[@]}" apt-get update >"$log" 2>&1; then
  tail -n 20 "$log" >&2
  fail "apt-get update failed (full log: $log)"
fi
if ! "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium >>"$log" 2>&1; then
  tail -n 20 "$log" >&2
  fail "apt-get install chromium failed (full log: $log)"
fi
if [ ! -x "$CHROMIUM" ]; then
  fail "apt-get installed chromium but $CHROMIUM is missing (full log: $log)"
fi
rm -f "$log"
echo "install-chromium: $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM installed")"
