"""The manager: a private daemon and its life, shared daemons, connect(),
named and anonymous containers, finding mpstored, and a Python process
sharing containers with the CLI (a C program)."""
import json
import os
import signal
import subprocess
import sys
import time
from multiprocessing.context import ProcessError

import pytest

import mpstore
from mpstore import _daemon


def cli(url, *args):
    exe = os.environ.get("MPSTORE_CLI")
    if not exe:
        pytest.skip("MPSTORE_CLI not set (ctest sets it)")
    p = subprocess.run([exe, "--url", url] + list(args), capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


def test_private_daemon_life():
    with mpstore.Manager() as m:
        url, d = m.address, m._daemon
        assert url.startswith("ipc://") and os.path.isdir(d.dir)
        lst = m.list([1])
        assert oct(os.stat(d.dir).st_mode)[-3:] == "700"
    assert not os.path.exists(d.dir)
    t0 = time.monotonic()
    with pytest.raises(mpstore.ConnectionError):
        lst.append(2)  # at once, not after a timeout
    assert time.monotonic() - t0 < 5
    with pytest.raises(ProcessError):
        m.list()
    m.shutdown()  # again: nothing happens


def test_states():
    m = mpstore.SyncManager()
    with pytest.raises(ProcessError):
        m.dict()
    m.start()
    with pytest.raises(ProcessError):
        m.start()
    m.shutdown()
    with pytest.raises(ProcessError):
        m.__enter__()
    with pytest.raises(NotImplementedError):
        mpstore.SyncManager.register("Foo", dict)
    with pytest.raises(ValueError):
        mpstore.SyncManager(serializer="xmlrpclib")


def test_shared_daemon_and_connect():
    owner = mpstore.Manager()
    try:
        a = mpstore.Manager(owner.address)  # a daemon answers there: used, not started
        b = mpstore.SyncManager(address=owner.address)
        b.connect()
        assert a._daemon is None and b._daemon is None
        jobs_a, jobs_b = a.dict("jobs"), b.dict("jobs")
        jobs_a["x"] = 1
        assert jobs_b["x"] == 1  # unrelated managers share named containers
        anon = a.list([1])
        a.shutdown()  # deletes what a made anonymously, keeps named ones
        assert jobs_b["x"] == 1
        with pytest.raises(mpstore.ContainerGone):
            b.attach(anon.name)
        b.shutdown()
        assert owner.dict("jobs")["x"] == 1
    finally:
        owner.shutdown()


def test_start_with_an_address_where_nothing_answers(tmp_path):
    url = "ipc://%s/own.ipc" % tmp_path
    m = mpstore.Manager(url)
    try:
        assert m.address == url and m._daemon is not None
        assert mpstore.Manager(str(tmp_path / "own.ipc"))._daemon is None  # a path works too
    finally:
        m.shutdown()


def test_connect_needs_a_daemon(tmp_path):
    m = mpstore.SyncManager(address="ipc://%s/nobody.ipc" % tmp_path, timeout=2)
    with pytest.raises(mpstore.ConnectionError):
        m.connect()


def test_auth_key():
    m = mpstore.Manager(authkey=b"secret")
    try:
        m.list([1])
        wrong = mpstore.SyncManager(m.address, authkey=b"wrong")
        with pytest.raises(mpstore.AuthenticationError):
            wrong.connect()
        right = mpstore.SyncManager(m.address, authkey=b"secret")
        right.connect()
        assert right.dict("d") is not None
    finally:
        m.shutdown()


def test_finding_mpstored(tmp_path, monkeypatch):
    real = os.environ["MPSTORED"]
    assert _daemon.find_mpstored() == real
    assert _daemon.find_mpstored("/bin/true") == "/bin/true"  # an explicit path first
    monkeypatch.setenv("MPSTORED", str(tmp_path / "missing"))
    pkg = os.path.join(os.path.dirname(mpstore.__file__), "mpstored")
    if os.path.exists(pkg):  # the build tree links it next to the package
        assert _daemon.find_mpstored() == pkg
    monkeypatch.setattr(_daemon, "__file__", str(tmp_path / "mpstore" / "_daemon.py"))
    (tmp_path / "bin").mkdir()
    os.symlink(real, tmp_path / "bin" / "mpstored")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    assert _daemon.find_mpstored() == str(tmp_path / "bin" / "mpstored")
    monkeypatch.setenv("PATH", "")
    with pytest.raises(FileNotFoundError, match="MPSTORED"):
        _daemon.find_mpstored()


CHILD = """
import mpstore, sys
m = mpstore.Manager()
print(m.address, m._daemon.pid, m._daemon.dir, flush=True)
sys.stdin.read()
"""


def test_daemon_stops_when_its_process_is_killed():
    p = subprocess.Popen([sys.executable, "-c", CHILD], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    url, pid, ddir = p.stdout.readline().split()
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        os.kill(int(pid), signal.SIGKILL)
        pytest.fail("mpstored outlived the process that started it")
    while os.path.exists(ddir) and time.monotonic() < deadline:
        time.sleep(0.05)  # the guard removes the directory after the daemon
    assert not os.path.exists(ddir)


def test_python_and_the_cli_share_containers(manager):
    url = manager.address
    jobs = manager.list("jobs", [1, "two", 3.5, None, True])
    assert json.loads(cli(url, "get", "jobs")) == [1, "two", 3.5, None, True]
    cli(url, "append", "jobs", "42", '"from C"')
    assert jobs[-2:] == [42, "from C"]
    cli(url, "create", "hits", "counter")
    hits = manager.attach("hits")
    assert hits.add(5) == 5 and cli(url, "incr", "hits", "2") == "7"
    cfg = manager.dict("cfg")
    cfg["mode"] = "fast"
    assert json.loads(cli(url, "get", "cfg")) == {"mode": "fast"}
    cli(url, "create", "ids", "dict", "int64", "--key-type", "int64")
    ids = manager.attach("ids")  # a C program's int-keyed, typed dict
    cli(url, "set", "ids", "7", "70")
    assert ids[7] == 70 and 7 in ids and "7" not in ids
    with pytest.raises(TypeError):
        ids[8] = "not an int"
    lock = manager.Lock("L")
    assert lock.acquire()
    p = subprocess.run([os.environ["MPSTORE_CLI"], "--url", url, "--timeout", "0.5",
                        "with-lock", "L", "--", "true"], capture_output=True, timeout=60)
    assert p.returncode != 0  # held by Python: the CLI could not take it
    lock.release()
    cli(url, "with-lock", "L", "--", "true")
