#!/usr/bin/env bash
# Every test, from a fresh Debian 12 machine: install the packages (and the test-only npm packages), build,
# run the whole CTest suite, the style checks, then the container (built with podman and run). Exits non-zero if
# anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
for setup in tests/integration/*/setup.sh; do
  [ -x "$setup" ] && "$setup"
done
./scripts/build.sh
ctest --test-dir build --output-on-failure --timeout 1800 -j "$(nproc)"
./scripts/lint.sh
./scripts/container-check.sh
