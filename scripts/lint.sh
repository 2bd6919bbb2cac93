#!/usr/bin/env bash
# Style checks run in CI: clang-format (must be clean) and clang-tidy (.clang-tidy; every finding is an error).
# Needs ./build/compile_commands.json (scripts/build.sh makes it). Prints the findings, then one summary line;
# exits non-zero on any format difference, any clang-tidy finding, any file clang-tidy cannot compile, or a
# clang-tidy crash.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=build
if [[ ! -f "$build_dir/compile_commands.json" ]]; then
  echo "lint: $build_dir/compile_commands.json is missing; run scripts/build.sh first" >&2
  exit 2
fi

mapfile -t files < <(git ls-files 'src/*.cpp' 'src/*.h' 'tests/*.cpp' 'tests/*.h' 'bench/*.cpp' 'web/*.cpp' 'web/*.h')
format_failed=0
clang-format --dry-run --Werror "${files[@]}" || format_failed=1

mapfile -t sources < <(git ls-files 'src/*.cpp')
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
# One clang-tidy per file (even load across cores); each writes its own log so parallel output never interleaves.
# The wrapper turns a crash (a signal) into an exit status, so xargs carries on and then exits 123 for any failure.
# -Wno-unknown-warning-option: the compile commands carry GCC-only flags (-Wno-restrict) that clang rejects.
tidy_status=0
printf '%s\0' "${sources[@]}" | xargs -0 -P "$(nproc)" -n 1 sh -c '
  log="$2/$(printf %s "$3" | tr / _).log"
  clang-tidy -p "$1" --quiet --warnings-as-errors="*" --extra-arg=-Wno-unknown-warning-option "$3" >"$log" 2>&1 || {
    status=$?
    echo "lint: clang-tidy exited with status $status on $3" >>"$log"
    echo "$3" >>"$2/failed"
    exit 1
  }
' lint-tidy "$build_dir" "$logs" || tidy_status=$?

failed_files=0
findings=0
if [[ -f "$logs/failed" ]]; then
  failed_files=$(sort -u "$logs/failed" | wc -l)
  while read -r source; do
    grep -v -E '^[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$|^Suppressed [0-9]+ warnings|^Use -header-filter' \
      "$logs/$(printf %s "$source" | tr / _).log" || true
  done < <(sort -u "$logs/failed")
  # A header's finding shows once per file that includes it: count distinct locations.
  findings=$(cat "$logs"/*.log | { grep -E '^[^ ].*:[0-9]+:[0-9]+: (warning|error): .*\[[^]]+\]$' || true; } |
    sort -u | wc -l)
fi

if ((format_failed == 0 && tidy_status == 0 && failed_files == 0)); then
  echo "lint: ok: clang-format clean (${#files[@]} files), clang-tidy clean (${#sources[@]} files)"
  exit 0
fi
format_result="clang-format clean"
((format_failed == 0)) || format_result="clang-format found differences"
tidy_result="clang-tidy clean"
if ((tidy_status != 0 || failed_files != 0)); then
  tidy_result="clang-tidy failed on ${failed_files} of ${#sources[@]} files (${findings} distinct findings, xargs status ${tidy_status})"
fi
echo "lint: FAILED: ${format_result}; ${tidy_result}"
exit 1
