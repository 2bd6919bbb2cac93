#!/usr/bin/env bash
# Installs what the browser test needs: Debian's chromium (the browser; never a downloaded one) and the npm
# packages pinned in package-lock.json, into DIR, outside the source tree. The default DIR is where CTest's
# web_browser test looks: ${SPECTRUM_BUILD_DIR:-<repo>/build}/tests/integration/web/node.
# Usage: setup.sh [DIR]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
target="${1:-${SPECTRUM_BUILD_DIR:-$repo/build}/tests/integration/web/node}"

if [[ ! -x /usr/bin/chromium ]]; then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
    echo "setup.sh: installing Debian's chromium" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium >/dev/null
  else
    echo "setup.sh: /usr/bin/chromium is missing; run: sudo apt-get install chromium" >&2
    exit 1
  fi
fi

command -v node >/dev/null || { echo "setup.sh: node is missing (Node.js 20 or later)" >&2; exit 1; }

mkdir -p "$target"
if [[ "$target" != "$here" ]]; then
  cp "$here/package.json" "$here/package-lock.json" "$target/"
fi
# Skip the install when the lock file has not changed since the last one.
stamp="$target/node_modules/.spectrum-lock"
if [[ -f "$stamp" ]] && cmp -s "$stamp" "$target/package-lock.json"; then
  exit 0
fi
# PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: playwright-core downloads nothing, but be explicit that no browser is fetched.
(cd "$target" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
cp "$target/package-lock.json" "$stamp"
