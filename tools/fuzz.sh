#!/usr/bin/env bash
# Build the libFuzzer targets of tests/fuzz with clang and run each for a
# bounded time from its corpus (docs/fuzzing.md). Called by tools/test.sh
# when clang's libFuzzer is there.
#   MPSTORE_FUZZ_SECONDS   total seconds, shared by the targets (default 60)
#   MPSTORE_FUZZ_TARGETS   which ones (default "request persist sp")
#   MPSTORE_FUZZ_BUILD_DIR the clang build (default build-fuzz)
# New inputs go to a scratch copy of the corpus; a fault's input is kept in
# BUILD/artifacts and this script fails.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${MPSTORE_FUZZ_BUILD_DIR:-$root/build-fuzz}
secs=${MPSTORE_FUZZ_SECONDS:-60}
read -r -a targets <<< "${MPSTORE_FUZZ_TARGETS:-request persist sp}"
CC=clang cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMPSTORE_WERROR=ON \
      -DMPSTORE_FUZZ=ON >/dev/null
cmake --build "$build" -j"$(nproc)" --target "${targets[@]/#/fuzz_}" >/dev/null
work=$(mktemp -d "${TMPDIR:-/tmp}/mpstore-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
per=$(( secs / ${#targets[@]} ))
[ "$per" -ge 1 ] || per=1
status=0
for t in "${targets[@]}"; do
  mkdir -p "$work/$t" "$work/art-$t" "$build/artifacts"
  cp "$root/tests/fuzz/corpus/$t"/* "$work/$t/"
  log="$work/$t.log"
  if (cd "$work" && "$build/tests/fuzz/fuzz_$t" -max_total_time="$per" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/art-$t/" \
        "$work/$t") >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    echo "fuzz_$t: ${runs:-?} runs in ${per} s, no fault"
  else
    status=1
    echo "fuzz_$t FOUND A FAULT:"
    grep -E "ERROR|runtime error|SUMMARY|fuzz_$t:|Test unit written" "$log" | head -20 || tail -40 "$log"
    cp "$work/art-$t"/* "$build/artifacts/" 2>/dev/null || true
    echo "the input is in $build/artifacts/; fix the bug and add the input to"
    echo "tests/fuzz/corpus/$t/ as regress-<what> (docs/fuzzing.md)"
  fi
done
exit $status
