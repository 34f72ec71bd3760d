#!/usr/bin/env bash
# Build and run mpstored on its defaults: ipc:///tmp/mpstore.ipc and ./mpstore.db.
# Extra arguments go to mpstored (see mpstored --help).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/tools/deps.sh"
build=${MPSTORE_BUILD_DIR:-$root/build}
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)"
echo "mpstored: client with $build/clients/cli/mpstore ls   (Ctrl-C stops, writing a snapshot)"
exec "$build/daemon/mpstored" "$@"
