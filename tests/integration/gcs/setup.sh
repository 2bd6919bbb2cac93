#!/usr/bin/env bash
# Installs the GCS integration tests' Node tools, pinned by package-lock.json: the Cloud Storage emulator
# (firebase-tools) and the official client (@google-cloud/storage). About 20 s and 240 MB; install
# scripts are skipped (the emulator runs in-process and needs none). Idempotent.
set -euo pipefail
cd "$(dirname "$0")"
if [ -f node_modules/.package-lock.json ] && cmp -s package-lock.json node_modules/.spectrum-installed-lock; then
  echo "gcs setup: node_modules up to date"
  exit 0
fi
npm ci --ignore-scripts --no-audit --no-fund
cp package-lock.json node_modules/.spectrum-installed-lock
