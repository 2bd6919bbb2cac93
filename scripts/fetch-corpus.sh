#!/usr/bin/env bash
# Fetches the real-music test corpus (tests/realmusic/corpus.tsv) from pinned Debian 12 packages into
# ${SPECTRUM_CORPUS_DIR:-$HOME/.cache/spectrum-corpus}: `apt-get download PKG=VERSION`, sha256 of the .deb,
# `dpkg-deb -x`, sha256 of each chosen track. Only the tracks are kept, as ID.EXT. A complete cache is
# verified and nothing is downloaded. See docs/real-music-corpus.md.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
manifest="${SPECTRUM_CORPUS_MANIFEST:-$here/../tests/realmusic/corpus.tsv}"
cache="${SPECTRUM_CORPUS_DIR:-$HOME/.cache/spectrum-corpus}"

die() { echo "fetch-corpus: $*" >&2; exit 1; }
sha() { sha256sum "$1" | cut -d' ' -f1; }

[[ -r "$manifest" ]] || die "manifest not found: $manifest"
mkdir -p "$cache"

# Rows (skipping comments and the header): id package version deb_sha256 path track_sha256 ...
mapfile -t rows < <(grep -v '^#' "$manifest" | tail -n +2)
[[ ${#rows[@]} -gt 0 ]] || die "manifest has no tracks: $manifest"

target_of() {  # id path -> cache file name
  local base="${2##*/}"
  echo "$cache/$1.${base##*.}"
}

# Which tracks are missing or wrong?
declare -A need_pkg=()
for row in "${rows[@]}"; do
  IFS=$'\t' read -r id pkg ver deb_sum path track_sum _ <<<"$row"
  out="$(target_of "$id" "$path")"
  if [[ -f "$out" && "$(sha "$out")" == "$track_sum" ]]; then continue; fi
  rm -f "$out"
  need_pkg["$pkg=$ver"]="$deb_sum"
done

if [[ ${#need_pkg[@]} -eq 0 ]]; then
  echo "fetch-corpus: all ${#rows[@]} tracks present and verified in $cache"
  exit 0
fi

command -v apt-get >/dev/null || die "apt-get not found (the corpus comes from Debian 12 packages)"
command -v dpkg-deb >/dev/null || die "dpkg-deb not found"
work="$(mktemp -d "${TMPDIR:-/tmp}/spectrum-corpus.XXXXXX")"
trap 'rm -rf "$work"' EXIT

for spec in "${!need_pkg[@]}"; do
  pkg="${spec%%=*}"
  ver="${spec#*=}"
  want="${need_pkg[$spec]}"
  echo "fetch-corpus: downloading $pkg $ver"
  dl="$work/dl-$pkg"
  mkdir -p "$dl"
  download() { (cd "$dl" && apt-get download -q "$pkg=$ver" >"$work/apt.log" 2>&1); }
  # A machine whose package lists are old or absent: refresh them once (as root) and try again.
  if ! download && [ "$(id -u)" -eq 0 ] && [ -z "${lists_refreshed:-}" ]; then
    lists_refreshed=1
    apt-get update -qq >"$work/apt-update.log" 2>&1 || true
  fi
  if ! [ -n "$(ls "$dl"/*.deb 2>/dev/null)" ] && ! download; then
    cat "$work/apt.log" >&2
    die "apt-get download $pkg=$ver failed (run 'apt-get update' first; the pinned version must be in Debian 12's archive)"
  fi
  deb="$(ls "$dl"/*.deb)"
  got="$(sha "$deb")"
  [[ "$got" == "$want" ]] || die "checksum mismatch for $(basename "$deb"): expected sha256 $want, got $got"
  root="$work/root-$pkg"
  mkdir -p "$root"
  dpkg-deb -x "$deb" "$root"
  rm -f "$deb"
  for row in "${rows[@]}"; do
    IFS=$'\t' read -r id rpkg rver _ path track_sum _ <<<"$row"
    [[ "$rpkg" == "$pkg" && "$rver" == "$ver" ]] || continue
    out="$(target_of "$id" "$path")"
    [[ -f "$out" ]] && continue
    if [[ "$path" == *'!'* ]]; then  # a member of a zip archive inside the package (e.g. a .pk3)
      archive="$root/${path%%!*}"
      member="${path#*!}"
      [[ -f "$archive" ]] || die "$pkg $ver has no $archive"
      python3 - "$archive" "$member" "$out.part" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
    else
      [[ -f "$root/$path" ]] || die "$pkg $ver has no /$path"
      cp "$root/$path" "$out.part"
    fi
    got="$(sha "$out.part")"
    if [[ "$got" != "$track_sum" ]]; then
      rm -f "$out.part"
      die "checksum mismatch for track $id ($path in $pkg $ver): expected sha256 $track_sum, got $got"
    fi
    mv "$out.part" "$out"
    echo "fetch-corpus: $id -> $out"
  done
  rm -rf "$root"  # keep only the chosen tracks
done

for row in "${rows[@]}"; do
  IFS=$'\t' read -r id _ _ _ path _ _ <<<"$row"
  [[ -f "$(target_of "$id" "$path")" ]] || die "track $id is still missing"
done
echo "fetch-corpus: all ${#rows[@]} tracks present and verified in $cache"
