#!/usr/bin/env bash
# Installs every Debian 12 package the build, the tests and the benchmarks need.
# Idempotent: packages already present are skipped by apt-get; safe to run repeatedly.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config git ca-certificates
  clang-format clang-tidy
  # engine: decode/encode and loudness
  libavformat-dev libavcodec-dev libavutil-dev libswresample-dev libebur128-dev libfftw3-dev
  # service (Boost.Beast edge; cpp-httplib is the tests' HTTP client), cloud client, CLI, logging
  libboost1.81-dev libcpp-httplib-dev libcurl4-openssl-dev libssl-dev
  nlohmann-json3-dev libcli11-dev libspdlog-dev
  # tests and benchmarks (node and npm come with the machine image: Node 20 from NodeSource)
  libgtest-dev libgmock-dev libbenchmark-dev
  ffmpeg python3 curl wrk hyperfine time
  # browser test of the web page (driven by playwright-core from npm)
  chromium
  # the container, built and run without a registry (scripts/container-check.sh)
  podman buildah runc debootstrap netavark containernetworking-plugins catatonit
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo_cmd=""
[ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo_cmd apt-get update -qq
$sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: installed ${missing[*]}"
