"""The PEP 517 build backend of clients/python: builds the wheel with the
installing interpreter's own setuptools and zips it itself, so that
``pip install clients/python`` needs nothing from an index (pip's isolated
build environment would download setuptools and wheel; a fresh venv has
setuptools but not wheel).

setup.py says what is built (the extension, the Python files, mpstored
next to them); this module only runs ``setup.py build`` and packs the
result as a wheel (the format: PEP 427).
"""
import base64
import hashlib
import os
import site
import subprocess
import sys
import sysconfig
import tempfile
import zipfile

NAME, VERSION = "mpstore", "0.1.0"
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _tag():
    impl = "cp%d%d" % sys.version_info[:2]
    plat = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    return "%s-%s-%s" % (impl, impl, plat)


def _metadata():
    return ("Metadata-Version: 2.1\nName: %s\nVersion: %s\nSummary: multiprocessing.Manager() "
            "over mpstored, a durable shared-object store\nRequires-Python: >=3.11\n"
            % (NAME, VERSION))


def _setuptools_dirs():
    """The interpreter's own site-packages that hold setuptools (pip's
    isolated environment keeps them off sys.path)."""
    dirs = []
    for scheme in sysconfig.get_scheme_names():
        try:
            d = sysconfig.get_path("purelib", scheme)
        except KeyError:
            continue
        if d and d not in dirs and os.path.isdir(os.path.join(d, "setuptools")):
            dirs.append(d)
    for d in site.getsitepackages():
        if d not in dirs and os.path.isdir(os.path.join(d, "setuptools")):
            dirs.append(d)
    return dirs


def get_requires_for_build_wheel(config_settings=None):
    return []


def _dist_info(directory):
    info = os.path.join(directory, "%s-%s.dist-info" % (NAME, VERSION))
    os.makedirs(info, exist_ok=True)
    with open(os.path.join(info, "METADATA"), "w") as f:
        f.write(_metadata())
    return os.path.basename(info)


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    return _dist_info(metadata_directory)


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(_setuptools_dirs())
    with tempfile.TemporaryDirectory(prefix="mpstore-wheel-") as tmp:
        lib = os.path.join(tmp, "lib")
        subprocess.run([sys.executable, "setup.py", "build", "--build-lib", lib,
                        "--build-temp", os.path.join(tmp, "temp")], cwd=HERE, env=env,
                       check=True, stdout=sys.stderr)
        info = _dist_info(lib)
        with open(os.path.join(lib, info, "WHEEL"), "w") as f:
            f.write("Wheel-Version: 1.0\nGenerator: mpstore_build\nRoot-Is-Purelib: false\n"
                    "Tag: %s\n" % _tag())
        name = "%s-%s-%s.whl" % (NAME, VERSION, _tag())
        record, files = [], []
        for root, _, names in os.walk(lib):
            for n in sorted(names):
                files.append(os.path.relpath(os.path.join(root, n), lib))
        with zipfile.ZipFile(os.path.join(wheel_directory, name), "w",
                             zipfile.ZIP_DEFLATED) as whl:
            for rel in sorted(files):
                path = os.path.join(lib, rel)
                with open(path, "rb") as f:
                    data = f.read()
                digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
                record.append("%s,sha256=%s,%d" % (rel, digest.decode(), len(data)))
                zi = zipfile.ZipInfo(rel)
                zi.external_attr = (os.stat(path).st_mode & 0o777 | 0o100000) << 16
                zi.compress_type = zipfile.ZIP_DEFLATED
                whl.writestr(zi, data)
            rec = "%s/RECORD" % info
            record.append(rec + ",,")
            whl.writestr(rec, "\n".join(record) + "\n")
    return name
