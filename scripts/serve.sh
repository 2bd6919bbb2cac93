#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine: install the packages, build, and run the service on the
# embedded default (local storage under ./data, port $PORT or 8080). Extra arguments go to `serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
exec ./build/src/cli/spectrum-master serve "$@"
