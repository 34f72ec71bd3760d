#!/bin/sh
# The hand-run schema path and pkg-config from an installed prefix (issue
# 15), run by client_cli_run against a fresh daemon, with $CMAKE_BIN,
# $PROJECT_BIN, $PROJECT_SRC and $EXAMPLE_C_FLAGS from schema.cmake:
# install this build with `cmake --install --prefix P`, check that
# pkg-config follows P, then run the sh block of docs/schemas.md that
# holds `--mpstore_out` on a copy of examples/jobs, as written, and run the
# program it builds against the daemon.
set -u
T="$MPSTORED_DIR/handrun.$$"
P="$T/prefix"
mkdir -p "$T"
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

"$CMAKE_BIN" --install "$PROJECT_BIN" --prefix "$P" >"$T/install.log" 2>&1 ||
	{ cat "$T/install.log"; echo "FAIL: install"; exit 1; }

# pkg-config names the install prefix, not the configured one
out=$(PKG_CONFIG_PATH="$P/lib/pkgconfig" pkg-config --cflags mpstore | sed "s/ *$//")
[ "$out" = "-I$P/include" ] || fail "pkg-config --cflags: [$out], want [-I$P/include]"
out=$(PKG_CONFIG_PATH="$P/lib/pkgconfig" pkg-config --libs mpstore)
case "$out" in "-L$P/lib -lmpstore"*-lprotobuf-c*) ;; *) fail "pkg-config --libs: [$out]" ;; esac
for f in bin/protoc-gen-mpstore share/mpstore/proto/mpstore/options.proto \
	include/mpstore/mpstore.h include/mpstore/options.pb-c.h \
	include/mpstore/google/protobuf/descriptor.pb-c.h; do
	[ -e "$P/$f" ] || fail "not installed: $f"
done
# the plugin answers --help and --version instead of reading stdin
"$P/bin/protoc-gen-mpstore" --version </dev/null | grep -q "^protoc-gen-mpstore [0-9]" || fail "plugin --version"
"$P/bin/protoc-gen-mpstore" --help </dev/null | grep -q "mpstore_out" || fail "plugin --help"

# the block of docs/schemas.md, as written (cc: the sanitizers' flags when
# this build has them, through a cc on PATH)
awk '/^```sh$/ { blk = ""; inb = 1; next } /^```$/ { if (inb && blk ~ /--mpstore_out/) { printf "%s", blk; exit } inb = 0; next } inb { blk = blk $0 "\n" }' \
	"$PROJECT_SRC/docs/schemas.md" >"$T/block.sh"
grep -q -- "--mpstore_out" "$T/block.sh" || fail "no --mpstore_out block in docs/schemas.md"
mkdir -p "$T/work/examples" "$T/cc"
cp -r "$PROJECT_SRC/examples/jobs" "$T/work/examples/"
cat >"$T/cc/cc" <<EOS
#!/bin/sh
exec /usr/bin/cc $EXAMPLE_C_FLAGS "\$@"
EOS
chmod +x "$T/cc/cc"
(cd "$T/work" && PATH="$T/cc:$PATH" P="$P" sh -e "$T/block.sh") >"$T/run.log" 2>&1 ||
	fail "the docs/schemas.md block failed: $(cat "$T/run.log")"
grep -q "completed 3 jobs in total; all good" "$T/run.log" || fail "examples/jobs output: $(cat "$T/run.log")"
[ -f "$T/work/examples/jobs/jobs.mps.h" ] || fail "no jobs.mps.h"

rm -rf "$T"
if [ "$fails" != 0 ]; then
	echo "$fails failure(s)"
	exit 1
fi
echo "schema_handrun: all passed"
