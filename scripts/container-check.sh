#!/usr/bin/env bash
# The container, built and run as Cloud Run runs it, with no registry: a Debian 12 base image made with
# debootstrap from Debian's archive (cached between runs) and imported under the names the Dockerfile's FROM
# lines use; `podman build`; then `podman run` as the image's non-root user with PORT set: /health, one upload
# and master-audio round trip on local storage, the mastered file downloaded, and SIGTERM ending in exit 0.
# Prints the build time and the image size. Exits non-zero on any failure. Needs root (rootful podman).
#
# This machine's podman needs runc (crun refuses the hybrid cgroup setup) and nofile/nproc limits under the
# machine's hard limits (at the hard limit, runc may not set them).
set -euo pipefail
cd "$(dirname "$0")/.."
[[ "$(id -u)" -eq 0 ]] || exec sudo "$0" "$@"

cache="${SPECTRUM_CONTAINER_CACHE:-$HOME/.cache/spectrum-container}"
base_tar="$cache/debian-bookworm-minbase.tar"
image=localhost/spectrum-master:check
limits=(--runtime runc --ulimit nofile=1024:1024 --ulimit nproc=4096:4096)
work=$(mktemp -d)
container=""
cleanup() {
  [[ -n "$container" ]] && podman rm -f "$container" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "container-check: FAILED: $*" >&2
  [[ -n "$container" ]] && podman logs "$container" 2>&1 | tail -20 >&2
  exit 1
}

# 1. The base image, from Debian's archive. Both FROM names get the same minimal system.
if [[ ! -s "$base_tar" ]]; then
  mkdir -p "$cache"
  rootfs="$work/rootfs"
  echo "container-check: debootstrap bookworm (minbase) into the cache"
  debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log" >&2; fail "debootstrap"; }
  tar -C "$rootfs" -c . >"$base_tar.tmp"
  mv "$base_tar.tmp" "$base_tar"
  rm -rf "$rootfs"
fi
if ! podman image exists docker.io/library/debian:bookworm; then
  podman import "$base_tar" docker.io/library/debian:bookworm >/dev/null
fi
podman tag docker.io/library/debian:bookworm docker.io/library/debian:bookworm-slim

# 2. Build.
start=$(date +%s)
podman build "${limits[@]}" --pull=never -t "$image" . >"$work/build.log" 2>&1 ||
  { tail -30 "$work/build.log" >&2; fail "podman build"; }
build_s=$(($(date +%s) - start))
size_bytes=$(podman image inspect --format '{{.Size}}' "$image")
echo "container-check: built in ${build_s} s; image size $((size_bytes / 1000000)) MB"

# 3. Run as Cloud Run does: PORT set, the image's user, a published loopback port.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
container=$(podman run -d "${limits[@]}" -e PORT=8080 -p "127.0.0.1:$port:8080" "$image")
base="http://127.0.0.1:$port"
for _ in $(seq 1 100); do
  curl -fsS "$base/health" >"$work/health.json" 2>/dev/null && break
  sleep 0.2
done
grep -q '"status":"healthy"' "$work/health.json" 2>/dev/null || fail "/health did not answer healthy within 20 s"
[[ "$(podman exec "$container" id -u)" == "10001" ]] || fail "the service does not run as uid 10001"
[[ "$(podman exec "$container" id -g)" == "10001" ]] || fail "the service does not run as gid 10001"

# 4. One upload and master-audio round trip on local storage.
ffmpeg -nostdin -v error -y -f lavfi -i "sine=frequency=440:duration=4:sample_rate=44100" -af volume=-20dB -ac 2 \
  "$work/tone.wav"
curl -fsS -X POST -H 'Content-Type: application/json' -d '{"fileName":"tone.wav","contentType":"audio/wav"}' \
  "$base/api/upload-url" >"$work/upload.json" || fail "upload-url"
upload_path=$(python3 -c 'import json, sys, urllib.parse as u; p = u.urlsplit(json.load(open(sys.argv[1]))["uploadUrl"]); print(p.path + ("?" + p.query if p.query else ""))' "$work/upload.json")
curl -fsS -X PUT -H 'Content-Type: audio/wav' --data-binary "@$work/tone.wav" "$base$upload_path" >/dev/null ||
  fail "PUT of the upload"
object=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["fileName"])' "$work/upload.json")
curl -fsS -X POST -H 'Content-Type: application/json' \
  -d "{\"inputUrl\":\"ignored\",\"fileName\":\"$object\",\"settings\":{\"targetLoudness\":-14}}" \
  "$base/api/master-audio" >"$work/master.json" || fail "master-audio"
python3 - "$work/master.json" <<'PY' || fail "master-audio answered $(cat "$work/master.json")"
import json, sys
body = json.load(open(sys.argv[1]))
assert body.get("success") is True and body.get("masteredUrl") and body.get("jobId"), body
PY
mastered_path=$(python3 -c 'import json, sys, urllib.parse as u; p = u.urlsplit(json.load(open(sys.argv[1]))["masteredUrl"]); print(p.path + ("?" + p.query if p.query else ""))' "$work/master.json")
curl -fsS "$base$mastered_path" -o "$work/mastered.wav" || fail "download of the mastered file"
lufs=$(ffmpeg -nostdin -hide_banner -nostats -i "$work/mastered.wav" -af ebur128 -f null - 2>&1 |
  awk '/Integrated loudness:/ { getline; print $2 }')
python3 -c 'import sys; v = float(sys.argv[1]); sys.exit(0 if abs(v + 14.0) <= 0.2 else 1)' "$lufs" ||
  fail "the mastered file measures $lufs LUFS, not -14"
echo "container-check: round trip ok (mastered file at $lufs LUFS by ffmpeg)"

# 5. SIGTERM (what Cloud Run sends) ends the service with exit 0 within its 10 s.
podman kill --signal TERM "$container" >/dev/null
status=$(timeout 15 podman wait "$container") || fail "the service did not exit within 15 s of SIGTERM"
[[ "$status" == "0" ]] || fail "exit status $status after SIGTERM"
echo "container-check: SIGTERM -> exit 0; passed"
