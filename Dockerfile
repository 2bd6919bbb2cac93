# Spectrum: the mastering service as a Cloud Run container (docs/deploy-cloud-run.md).
# Two stages: Debian 12 with the development packages builds spectrum-master; debian:bookworm-slim runs it
# with the runtime libraries only. tests/container/ checks both package lists against the Debian archive
# and the runtime list against the libraries the built binary loads.

# ---- build ------------------------------------------------------------------------------------------
FROM debian:bookworm AS build
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update && apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config ca-certificates \
      libavformat-dev libavcodec-dev libavutil-dev libswresample-dev libebur128-dev libfftw3-dev \
      libboost1.81-dev libcurl4-openssl-dev libssl-dev \
      nlohmann-json3-dev libcli11-dev libspdlog-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DSPECTRUM_BUILD_TESTS=OFF -DSPECTRUM_BUILD_BENCH=OFF \
    && cmake --build /build --target spectrum-master \
    && install -D -m 0755 /build/src/cli/spectrum-master /out/spectrum-master

# ---- runtime ----------------------------------------------------------------------------------------
FROM debian:bookworm-slim AS runtime
ARG DEBIAN_FRONTEND=noninteractive
# Runtime libraries only (each -dev package above has one of these as its library); ca-certificates for
# TLS to Google APIs.
RUN apt-get update && apt-get install -y --no-install-recommends \
      ca-certificates \
      libavformat59 libavcodec59 libavutil57 libswresample4 libebur128-1 libfftw3-single3 \
      libcurl4 libssl3 libspdlog1.10 libfmt9 \
    && rm -rf /var/lib/apt/lists/*
# A group of the same id, so USER 10001:10001 names a real user and group (useradd --system alone would give
# the user a group with another id).
RUN groupadd --system --gid 10001 spectrum \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/spectrum --create-home \
       --shell /usr/sbin/nologin spectrum
COPY --from=build /out/spectrum-master /usr/local/bin/spectrum-master
USER 10001:10001
WORKDIR /var/lib/spectrum
# Cloud Run sets PORT; the service reads it (flag --port overrides). 8080 is the default.
ENV PORT=8080 \
    SPECTRUM_HOST=0.0.0.0 \
    SPECTRUM_TEMP_DIR=/tmp
EXPOSE 8080
# The slim image has no curl: bash's /dev/tcp sends a bare HTTP/1.0 request to /health.
# (Cloud Run ignores HEALTHCHECK and uses its own probes; this serves docker run and compose.)
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${PORT:-8080} && printf 'GET /health HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && head -n1 <&3 | grep -q ' 200 '"]
ENTRYPOINT ["/usr/local/bin/spectrum-master"]
CMD ["serve"]
