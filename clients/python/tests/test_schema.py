"""Typed containers from a generated schema (docs/schemas.md): the CLI
registers tests/plugin/fixtures/shop.proto and creates the containers it
declares; Python attaches to them, stores objects of the classes protoc
generated for Python (sent as messages), and reads their encodings back;
the C side (the CLI) reads what Python wrote."""
import json
import os
import shutil
import subprocess
import sys

import pytest

import mpstore

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    protoc, cli = shutil.which("protoc"), os.environ.get("MPSTORE_CLI")
    if not protoc or not cli:
        pytest.skip("needs protoc and MPSTORE_CLI")
    pytest.importorskip("google.protobuf")
    out = tmp_path_factory.mktemp("shop")
    inc = ["-I", os.path.join(REPO, "schema"), "-I",
           os.path.join(REPO, "tests", "plugin", "fixtures")]
    subprocess.run([protoc] + inc + ["--include_imports", "-o", str(out / "shop.pb"),
                                     "shop.proto"], check=True)
    subprocess.run([protoc] + inc + ["--python_out", str(out), "shop.proto",
                                     "mpstore/options.proto"], check=True)
    # the generated "from mpstore import options_pb2" would find this
    # package (docs/python.md says so): give that module another name
    os.rename(out / "mpstore" / "options_pb2.py", out / "mpstore_options_pb2.py")
    gen = (out / "shop_pb2.py").read_text().replace(
        "from mpstore import options_pb2 as", "import mpstore_options_pb2 as")
    (out / "shop_pb2.py").write_text(gen)
    sys.path.insert(0, str(out))
    import shop_pb2
    m = mpstore.Manager()
    subprocess.run([cli, "--url", m.address, "register-schema", str(out / "shop.pb"),
                    "--declared"], check=True, capture_output=True)
    yield m, shop_pb2, cli
    m.shutdown()
    sys.path.remove(str(out))


def test_messages_in_typed_containers(shop):
    m, pb, cli = shop
    jobs = m.attach("shop.jobs")
    job = pb.Job(id=7, title="weld", priority=pb.HIGH, tags=["a", "b"])
    jobs.append(job)
    jobs.append(mpstore.Message(pb.Job(id=8).SerializeToString()))
    assert pb.Job.FromString(jobs[0]) == job and pb.Job.FromString(jobs[1]).id == 8
    shown = json.loads(subprocess.run([cli, "--url", m.address, "get", "shop.jobs", "0"],
                                      check=True, capture_output=True, text=True).stdout)
    assert shown["id"] == 7 and shown["title"] == "weld"
    with pytest.raises(TypeError):
        jobs.append("not a Job")  # a typed container refuses other values
    by_id = m.attach("shop.by_id")
    by_id["w"] = job
    assert pb.Job.FromString(by_id["w"]).title == "weld"


def test_scalar_typed_containers(shop):
    m, pb, cli = shop
    done, ids, motd = m.attach("shop.done"), m.attach("shop.ids"), m.attach("shop.motd")
    assert done.add(2) == 2
    ids.extend([1, 2, 3])
    with pytest.raises(TypeError):
        ids.append(1.5)
    motd.value = "hello"
    assert ids[:] == [1, 2, 3] and motd.value == "hello"
    with pytest.raises(TypeError):
        motd.value = [1]  # pickled: not a string
    samples = m.attach("shop.sample_table")  # int64 keys, as declared
    samples[3] = pb.Scalars(f_int32=3)
    assert pb.Scalars.FromString(samples[3]).f_int32 == 3 and list(samples.keys()) == [3]
