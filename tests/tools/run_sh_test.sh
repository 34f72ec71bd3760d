#!/bin/sh
# tools/run.sh (issue 15): on a configured build directory it does not
# configure again and builds only mpstored and the CLI, then hands its
# arguments to mpstored (`tools/run.sh --help` prints mpstored's usage;
# nothing is built when nothing changed); on
# a fresh directory it configures once. cmake is a logging wrapper on PATH.
# $PROJECT_SRC, $PROJECT_BIN, $CMAKE_BIN come from tests/CMakeLists.txt.
set -u
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
mkdir -p "$T/bin"
cat >"$T/bin/cmake" <<EOS
#!/bin/sh
echo "\$*" >>"$T/cmake.log"
if [ -n "\${FAKE_CMAKE:-}" ]; then [ "\$1" = -S ] && mkdir -p "\$4"; exit 0; fi
exec "$CMAKE_BIN" "\$@"
EOS
chmod +x "$T/bin/cmake"

before=$(stat -c %Y "$PROJECT_BIN/CMakeCache.txt")
PATH="$T/bin:$PATH" MPSTORE_BUILD_DIR="$PROJECT_BIN" "$PROJECT_SRC/tools/run.sh" --help >"$T/out" 2>"$T/err"
rc=$?
[ "$rc" = 0 ] || fail "run.sh --help: rc $rc: $(cat "$T/err")"
grep -qi "usage" "$T/out" || fail "run.sh --help: not mpstored's usage: $(head -3 "$T/out")"
grep -q -- "-S " "$T/cmake.log" && fail "a configured build directory was configured again: $(cat "$T/cmake.log")"
# nothing, or a build of the two programs only (when a source is newer)
grep -v -- "--build $PROJECT_BIN .*--target mpstored mpstore-cli$" "$T/cmake.log" >"$T/other"
[ ! -s "$T/other" ] || fail "not a build of mpstored and the CLI only: $(cat "$T/cmake.log")"
[ "$(stat -c %Y "$PROJECT_BIN/CMakeCache.txt")" = "$before" ] || fail "CMakeCache.txt rewritten"
# again, nothing changed: no cmake at all
: >"$T/cmake.log"
PATH="$T/bin:$PATH" MPSTORE_BUILD_DIR="$PROJECT_BIN" "$PROJECT_SRC/tools/run.sh" --help >"$T/out" 2>"$T/err" ||
	fail "run.sh --help again: $(cat "$T/err")"
grep -qi "usage" "$T/out" || fail "run.sh --help again: $(head -3 "$T/out")"
[ ! -s "$T/cmake.log" ] || fail "nothing changed, yet: $(cat "$T/cmake.log")"

: >"$T/cmake.log"
FAKE_CMAKE=1 PATH="$T/bin:$PATH" MPSTORE_BUILD_DIR="$T/fresh" "$PROJECT_SRC/tools/run.sh" --help >/dev/null 2>&1
[ "$(sed -n 1p "$T/cmake.log" | cut -d' ' -f1-4)" = "-S $PROJECT_SRC -B $T/fresh" ] ||
	fail "a fresh directory is not configured first: $(cat "$T/cmake.log")"
sed -n 2p "$T/cmake.log" | grep -q -- "--build $T/fresh .*--target mpstored mpstore-cli$" ||
	fail "fresh: $(cat "$T/cmake.log")"

[ "$fails" = 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "run_sh_test: all passed"
