#!/bin/sh
# pip install clients/python works offline (no index: the build backend uses
# the interpreter's own setuptools) into a fresh venv, with libmpstore from
# the build tree $MPSTORE_BUILD_DIR; the installed package finds the mpstored
# installed next to it (no $MPSTORED, no PYTHONPATH) and works. With a
# sanitizer build the extension links the sanitizers' runtimes; pip and the
# compiler run without the LD_PRELOAD'ed libasan, the test's python with it.
#   pip_install_test.sh PYTHON SOURCE_DIR BUILD_DIR
set -eu
py=$1 src=$2 build=$3
tmp=$(mktemp -d /tmp/mpstore-pip.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
env -u LD_PRELOAD "$py" -m venv "$tmp/venv"
cp -r "$src" "$tmp/src"  # pip builds in place: keep the source tree clean
rm -rf "$tmp/src/build" "$tmp/src/mpstore.egg-info"
env -u LD_PRELOAD MPSTORE_BUILD_DIR=$build PIP_NO_INDEX=1 "$tmp/venv/bin/pip" install --quiet "$tmp/src"
cd "$tmp"
env -u MPSTORED -u PYTHONPATH "$tmp/venv/bin/python" - <<'PY'
import os, mpstore
m = mpstore.Manager()
assert m._daemon.exe == os.path.join(os.path.dirname(mpstore.__file__), "mpstored"), m._daemon.exe
d = m.dict(a=[1])
d["b"] = m.list([2])
d["b"].append(3)
assert d["a"] == [1] and d["b"][:] == [2, 3]
m.shutdown()
print("pip install: ok")
PY
env -u LD_PRELOAD "$tmp/venv/bin/pip" uninstall --quiet -y mpstore
