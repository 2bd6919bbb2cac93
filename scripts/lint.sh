#!/usr/bin/env bash
# Style checks run in CI: clang-format (must be clean) and clang-tidy (.clang-tidy; warnings are errors for
# the checks it lists). Needs ./build/compile_commands.json (scripts/build.sh makes it).
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files 'src/*.cpp' 'src/*.h' 'tests/*.cpp' 'tests/*.h' 'bench/*.cpp' 'web/*.cpp' 'web/*.h')
clang-format --dry-run --Werror "${files[@]}"
echo "lint: clang-format clean (${#files[@]} files)"
mapfile -t sources < <(git ls-files 'src/*.cpp')
printf '%s\n' "${sources[@]}" | xargs -P "$(nproc)" -n 4 clang-tidy -p build --quiet --warnings-as-errors='*' 2>/dev/null
echo "lint: clang-tidy clean (${#sources[@]} files)"
