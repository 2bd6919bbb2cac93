#!/usr/bin/env bash
# Masters each file at -16, -14 and -11 LUFS and reads each output with ffmpeg's ebur128 (integrated loudness
# and true peak) beside our report's loudness, warnings and passes (loop + written).
# Usage, from the repository root after a build: bench/engine/accuracy_sweep.sh FILE...
set -u
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for f in "$@"; do for t in -16 -14 -11; do
  out="$work/out.${f##*.}"
  ./build/src/cli/spectrum-master master "$f" "$out" --target-loudness $t --json > "$work/report.json" 2>/dev/null || { echo "$f $t FAILED"; continue; }
  read -r I TP < <(ffmpeg -nostats -hide_banner -i "$out" -af ebur128=peak=true -f null - 2>&1 | awk '/I:/{i=$2} /Peak:/{p=$2} END{print i, p}')
  python3 - "$f" "$t" "$I" "$TP" "$work/report.json" <<'PY'
import json,sys; r=json.load(open(sys.argv[5])); f,t,i,tp=sys.argv[1:5]
print(f"{f.split('/')[-1][:24]:24s} {t:>4} ffmpeg I {i:>6} TP {tp:>6}  ours I {r['output']['integratedLufs'] if r['output']['integratedLufs'] is None else round(r['output']['integratedLufs'],3)} warn {len(r['warnings'])} passes {r['loudnessPasses']}+{r['encodePasses']}")
PY
done; done
