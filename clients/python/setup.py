"""pip install clients/python: the mpstore package (docs/python.md, "Install").

Needs libmpstore, found in this order:
  $MPSTORE_BUILD_DIR   a CMake build tree of this repository (its
                       clients/c/libmpstore.a is linked in)
  pkg-config mpstore   an installed libmpstore (cmake --install)
  ../../build          the repository's own build tree, when pip runs from
                       a checkout (pip builds in place)
and nng and protobuf-c (Debian: libnng-dev, libprotobuf-c-dev), Python's
headers (python3-dev) and setuptools (python3-setuptools). Nothing is
downloaded: it works offline, also with --no-build-isolation.

The mpstored of the build tree ($MPSTORED, else BUILD/daemon/mpstored) is
installed next to the package, where Manager() looks for it first after
$MPSTORED.
"""
import os
import shutil
import subprocess

from setuptools import Extension, setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def build_tree():
    for d in (os.environ.get("MPSTORE_BUILD_DIR"), os.path.join(REPO, "build")):
        if d and os.path.exists(os.path.join(d, "clients", "c", "libmpstore.a")):
            return os.path.abspath(d)
    return None


def source_of(tree):
    """The repository a CMake build tree was made from (its CMakeCache)."""
    try:
        with open(os.path.join(tree, "CMakeCache.txt")) as f:
            for line in f:
                if line.startswith("mpstore_SOURCE_DIR:"):
                    return line.split("=", 1)[1].strip()
    except OSError:
        pass
    return REPO


def sanitized(tree):
    """Whether the build tree was configured with MPSTORE_SANITIZE=ON: its
    libmpstore.a then needs the ASan/UBSan runtimes at link time (and
    libasan loaded first at run time, as the tests do with LD_PRELOAD)."""
    try:
        with open(os.path.join(tree, "CMakeCache.txt")) as f:
            return any(line.strip() in ("MPSTORE_SANITIZE:BOOL=ON", "MPSTORE_SANITIZE:BOOL=1")
                       for line in f)
    except OSError:
        return False


def pkg_config(*args):
    try:
        return subprocess.run(["pkg-config"] + list(args) + ["mpstore"], check=True,
                              capture_output=True, text=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        return None


def library():
    """(include dirs, extra objects, libraries, library dirs, link args)."""
    tree = os.environ.get("MPSTORE_BUILD_DIR") and build_tree()
    if tree is None and pkg_config("--exists") is not None:
        cflags, libs = pkg_config("--cflags"), pkg_config("--libs")
        return ([f[2:] for f in cflags if f.startswith("-I")], [],
                [f[2:] for f in libs if f.startswith("-l")],
                [f[2:] for f in libs if f.startswith("-L")], [])
    tree = tree or build_tree()
    if tree is None:
        raise SystemExit("libmpstore not found: build the repository with CMake (or set "
                         "MPSTORE_BUILD_DIR), or install it (pkg-config mpstore)")
    return ([os.path.join(source_of(tree), "clients", "c", "include")],
            [os.path.join(tree, "clients", "c", "libmpstore.a")],
            # libmpstore.a's link interface (clients/c/CMakeLists.txt, mpstore_static)
            ["nng", "protobuf-c", "crypto"], [],
            ["-fsanitize=address,undefined"] if sanitized(tree) else [])


class BuildWithDaemon(build_py):
    """Also put mpstored next to the package."""

    def run(self):
        super().run()
        tree = build_tree()
        exe = os.environ.get("MPSTORED") or (tree and os.path.join(tree, "daemon", "mpstored"))
        if exe and os.path.exists(exe):
            dest = os.path.join(self.build_lib, "mpstore", "mpstored")
            shutil.copy2(exe, dest)


inc, objs, libs, libdirs, ldflags = library()
setup(
    name="mpstore",
    version="0.1.0",
    description="multiprocessing.Manager() over mpstored, a durable shared-object store",
    packages=["mpstore"],
    python_requires=">=3.11",
    ext_modules=[Extension(
        "mpstore._core",
        sources=["src/module.c", "src/client.c", "src/convert.c", "src/pending.c",
                 "src/watch.c"],
        include_dirs=inc, extra_objects=objs, libraries=libs + ["pthread"],
        library_dirs=libdirs, extra_link_args=ldflags, extra_compile_args=["-std=c11", "-fvisibility=hidden"],
        define_macros=[("_POSIX_C_SOURCE", "200809L"), ("_DEFAULT_SOURCE", None)])],
    cmdclass={"build_py": BuildWithDaemon},
)
