"""Run the examples of a document (README.md, docs/cli.md, docs/schemas.md)
and compare what they print with what the document shows, so that a doc
that drifts from the behaviour fails (issue 15). Run by docs_*.sh through
client_cli_run, against a fresh daemon ($MPSTORE, $MPSTORE_URL,
$MPSTORED_DIR), with $PROJECT_SRC, $PROJECT_BIN, $SHOP_PB and
$EXAMPLE_C_FLAGS from client.cmake.

Examples are fenced blocks whose lines start with "$ ": each such line is
a shell command (`mpstore` is the CLI under test, on PATH), run in order in
one scratch directory with stderr merged into stdout; the lines under it,
up to the next "$ " line, are its output. A last expected line "..." stands
for any further output. A command exits 0 unless its expected output
shows an "mpstore: ERR_..." line. A ```c block (README's snippet) is
compiled as the body of main() against libmpstore and run against the
daemon and against no daemon (it must fail cleanly, status 1); a ```proto
block goes through protoc with the freshly built protoc-gen-mpstore."""
import os
import subprocess
import sys

doc = sys.argv[1]
src = os.environ["PROJECT_SRC"]
work = os.path.join(os.environ["MPSTORED_DIR"], "docs.%d" % os.getpid())
bindir = os.path.join(work, ".bin")
os.makedirs(bindir)
os.symlink(os.environ["MPSTORE"], os.path.join(bindir, "mpstore"))
if os.environ.get("SHOP_PB"):
    os.symlink(os.environ["SHOP_PB"], os.path.join(work, "shop.pb"))
env = dict(os.environ, PATH=bindir + ":" + os.environ["PATH"])
failures = []
ran = 0


def check_transcript(lineno, cmd, want):
    global ran
    ran += 1
    p = subprocess.run(["sh", "-c", cmd], cwd=work, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=120)
    got = p.stdout.decode(errors="replace").rstrip("\n").split("\n")
    if got == [""]:
        got = []
    ok = got == want
    if want and want[-1] == "...":
        ok = got[:len(want) - 1] == want[:-1]
    expect_fail = any(l.startswith("mpstore: ERR_") for l in want)
    if ok and (p.returncode != 0) != expect_fail:
        ok = False
    if not ok:
        failures.append("%s:%d: $ %s\n  status %d\n  want: %s\n  got:  %s" % (
            doc, lineno, cmd, p.returncode, "\n        ".join(want),
            "\n        ".join(got)))


def check_c(lineno, body):
    global ran
    ran += 1
    c = os.path.join(work, "snippet%d.c" % lineno)
    exe = c[:-2]
    with open(c, "w") as f:
        f.write("#include <stdio.h>\n#include <mpstore/mpstore.h>\n"
                "int main(void)\n{\n%s\nreturn 0;\n}\n" % body)
    lib = os.path.join(os.environ["PROJECT_BIN"], "clients", "c")
    cc = (["cc"] + os.environ.get("EXAMPLE_C_FLAGS", "").split() +
          ["-Wall", "-o", exe, c, "-I", os.path.join(src, "clients", "c", "include"),
           "-L", lib, "-Wl,-rpath," + lib, "-lmpstore"])
    p = subprocess.run(cc, capture_output=True, text=True)
    if p.returncode != 0:
        failures.append("%s:%d: C example does not compile:\n%s" % (doc, lineno, p.stderr))
        return
    p = subprocess.run([exe], env=env, capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        failures.append("%s:%d: C example against the daemon: status %d\n%s%s" % (
            doc, lineno, p.returncode, p.stdout, p.stderr))
    nodaemon = dict(env, MPSTORE_URL="ipc://" + work + "/none.ipc")
    p = subprocess.run([exe], env=nodaemon, capture_output=True, text=True, timeout=60)
    if p.returncode != 1 or "mpstore: " not in p.stderr:
        failures.append("%s:%d: C example without a daemon: status %d (want 1)\n%s%s" % (
            doc, lineno, p.returncode, p.stdout, p.stderr))


def check_proto(lineno, text):
    """A .proto example compiles with protoc and the freshly built plugin."""
    global ran
    ran += 1
    d = os.path.join(work, "proto%d" % lineno)
    os.makedirs(d)
    with open(os.path.join(d, "example.proto"), "w") as f:
        f.write(text + "\n")
    plugin = os.path.join(os.environ["PROJECT_BIN"], "clients", "protoc-gen-mpstore",
                          "protoc-gen-mpstore")
    p = subprocess.run(["protoc", "-I", os.path.join(src, "schema"), "-I", d,
                        "--plugin=protoc-gen-mpstore=" + plugin, "--mpstore_out=" + d,
                        "--c_out=" + d, "example.proto"], capture_output=True, text=True)
    if p.returncode != 0 or not os.path.exists(os.path.join(d, "example.mps.h")):
        failures.append("%s:%d: .proto example: protoc failed:\n%s" % (doc, lineno, p.stderr))


lines = open(os.path.join(src, doc)).read().split("\n")
i = 0
while i < len(lines):
    fence = lines[i].strip()
    if not fence.startswith("```"):
        i += 1
        continue
    lang = fence[3:].strip()
    start = i + 1
    j = start
    while j < len(lines) and lines[j].strip() != "```":
        j += 1
    block = lines[start:j]
    if lang == "c":
        check_c(start, "\n".join(block))
    elif lang == "proto":
        check_proto(start, "\n".join(block))
    elif any(l.startswith("$ ") for l in block):
        k = 0
        while k < len(block):
            if block[k].startswith("$ "):
                cmd, want, n = block[k][2:], [], k + 1
                while n < len(block) and not block[n].startswith("$ "):
                    want.append(block[n])
                    n += 1
                check_transcript(start + k + 1, cmd, want)
                k = n
            else:
                k += 1
    i = j + 1

for f in failures:
    print("FAIL: " + f)
if ran == 0:
    print("FAIL: no examples found in " + doc)
    sys.exit(1)
if failures:
    print("%d of %d examples failed" % (len(failures), ran))
    sys.exit(1)
print("%s: %d examples as documented" % (doc, ran))
