#!/usr/bin/env bash
# Build what running needs (mpstored and the mpstore CLI) and run mpstored on
# its defaults: ipc:///tmp/mpstore.ipc and ./mpstore.db. Extra arguments go
# to mpstored (tools/run.sh --help). A build directory that is already
# configured is not configured again (cmake --build re-runs CMake by itself
# when a CMakeLists.txt changed), and nothing is built when no source file
# changed since run.sh last built: a second start takes about a second.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/tools/deps.sh"
build=${MPSTORE_BUILD_DIR:-$root/build}
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
# Nothing to build when no source file changed since the last build made
# here (a no-op `cmake --build` still takes seconds on a loaded machine).
daemon=$build/daemon/mpstored cli=$build/clients/cli/mpstore stamp=$build/.run.sh-built
changed() {
  [ -f "$stamp" ] && [ -x "$daemon" ] && [ -x "$cli" ] || return 0
  [ -n "$(find "$root" \( -path "$root/.git" -o -path "$root/build*" -o -path "$build" \) -prune \
    -o -type f \( -name '*.[ch]' -o -name '*.proto' -o -name '*.txt' -o -name '*.cmake' \
    -o -name '*.in' -o -name '*.map' \) -newer "$stamp" -print -quit)" ]
}
if changed; then
  touch "$stamp.new"
  cmake --build "$build" -j"$(nproc)" --target mpstored mpstore-cli
  mv "$stamp.new" "$stamp"
fi
echo "mpstored: client with $build/clients/cli/mpstore ls   (Ctrl-C stops, writing a snapshot)" >&2
exec "$daemon" "$@"
