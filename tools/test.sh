#!/usr/bin/env bash
# Build everything with -Werror and ASan/UBSan, then run the whole test suite,
# then, when clang's libFuzzer is there, a bounded fuzzing run (tools/fuzz.sh,
# about a minute; MPSTORE_FUZZ_SECONDS for more, MPSTORE_FUZZ=0 for none).
# MPSTORE_SANITIZE=0 builds without sanitizers; MPSTORE_SOAK=1 runs the long
# crash-loop and soak variants (see docs/testing.md).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/tools/deps.sh"
build=${MPSTORE_BUILD_DIR:-$root/build-test}
san=${MPSTORE_SANITIZE:-1}
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMPSTORE_WERROR=ON \
      -DMPSTORE_SANITIZE=$([ "$san" = 1 ] && echo ON || echo OFF) >/dev/null
cmake --build "$build" -j"$(nproc)"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$root/tests/lsan.supp}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$build"
ctest -j2 --output-on-failure --timeout 600 "$@"
cd "$root"
if [ "${MPSTORE_FUZZ:-1}" != 0 ] && command -v clang >/dev/null &&
   echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' |
     clang -x c -fsanitize=fuzzer -o /dev/null - 2>/dev/null; then
  "$root/tools/fuzz.sh"
else
  echo "fuzzing skipped: no clang with libFuzzer (apt-get install clang libclang-rt-14-dev)"
fi
