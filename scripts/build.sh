#!/usr/bin/env bash
# Configures and builds the project into ./build (Release, Ninja). Incremental on re-runs.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)"
