"""Drive `mpstore` with no command through a pseudo-terminal (the
interactive mode, clients/cli/repl.c): prompt, commands, an error that
does not end the session, Tab completion of a command and of a container
name, history (up arrow, and the history file), and a lock acquired on one
line and released on another (one session), seen from a second mpstore.
Run by cli_repl.sh with $MPSTORE, $MPSTORE_URL and $MPSTORED_DIR set."""
import os
import pty
import select
import subprocess
import sys
import time

M = os.environ["MPSTORE"]
HIST = os.path.join(os.environ["MPSTORED_DIR"], "repl_history.%d" % os.getpid())
PROMPT = b"mpstore> "
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg)


env = dict(os.environ, TERM="xterm", MPSTORE_HISTORY=HIST)
pid, fd = pty.fork()
if pid == 0:
    os.execve(M, [M], env)

buf = b""


def expect(what, timeout=20.0):
    """Read until `what` has appeared after what was consumed; consume it."""
    global buf
    end = time.time() + timeout
    while what not in buf:
        left = end - time.time()
        if left <= 0:
            fail("waited for %r; got %r" % (what, buf[-400:]))
            return False
        r, _, _ = select.select([fd], [], [], min(left, 0.5))
        if r:
            try:
                data = os.read(fd, 4096)
            except OSError:
                data = b""
            if not data:
                fail("mpstore ended while waiting for %r; got %r" % (what, buf[-400:]))
                return False
            buf += data
    buf = buf[buf.index(what) + len(what):]
    return True


def line(text):
    os.write(fd, text.encode() + b"\r")


def other(*args):
    """A second mpstore (its own session)."""
    p = subprocess.run([M] + list(args), capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout.strip()


expect(b"Tab completes")
expect(PROMPT)
line("create replq counter")
expect(PROMPT)
line("incr replq 5")
expect(b"5\r\n")
expect(PROMPT)
# an error is printed and the session goes on
line("frobnicate")
expect(b"unknown command frobnicate")
expect(PROMPT)
line("gte replq")
expect(b"did you mean get?")
expect(PROMPT)
# Tab completes a command ("inc" -> "incr ") and a container ("rep" -> "replq ")
os.write(fd, b"inc\t")
expect(b"r ")
os.write(fd, b"rep\t")
expect(b"lq ")
os.write(fd, b"\r")
expect(b"6\r\n")
expect(PROMPT)
# up arrow: the last line again ("incr replq" -> 7)
os.write(fd, b"\x1b[A")
expect(b"incr")
os.write(fd, b"\r")
expect(b"7\r\n")
expect(PROMPT)
# JSON strings in "...", literal text in '...'
line('create replv value')
expect(PROMPT)
line('set replv "42"')
expect(PROMPT)
rc, out = other("get", "replv")
if out != '"42"':
    fail('set replv "42" stored %s' % out)
# one session for every line: acquire here, the lock is held for others,
# release here, and it is free
line("create repll lock")
expect(PROMPT)
line("acquire repll")
expect(PROMPT)
rc, out = other("get", "repll")
if '"locked": true' not in out:
    fail("lock acquired in the interactive mode is not held: %s" % out)
rc, out = other("acquire", "repll", "--timeout", "0.2", "--", "true")
if rc != 3:
    fail("another mpstore took a held lock: rc %d" % rc)
line("release repll")
expect(PROMPT)
rc, out = other("get", "repll")
if '"locked": false' not in out:
    fail("release in the interactive mode did not release: %s" % out)
line("help incr")
expect(b"usage: mpstore incr")
expect(PROMPT)
line("quit")
_, status = os.waitpid(pid, 0)
if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
    fail("quit: status %r" % status)
try:
    hist = open(HIST).read()
except OSError as e:
    hist = ""
    fail("no history file: %s" % e)
for want in ("incr", "replq", "frobnicate", "quit"):
    if want not in hist:
        fail("history lacks %r: %r" % (want, hist))

if failures:
    print("%d failure(s)" % len(failures))
    sys.exit(1)
print("cli_repl: all passed")
