"""The seeds' Manager programs (tests/seeds/, each says where it comes from),
with only the import changed to mpstore's, must print what a correct run
prints. Each program runs under fork (the seeds' own start method), spawn
and forkserver with mpstore, and under fork with multiprocessing.Manager
too, which shows that each check accepts a correct run (it is not vacuous
either: each names what it checks).

Every run counts: a fork run whose forked child cannot open a libmpstore
handle (mpstore.ForkError) fails, and is stopped after 5 s instead of the
whole timeout.

    python3 run_seeds.py [NAME ...]
"""
import ast
import collections
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
SEEDS = os.path.join(HERE, "seeds")
RUN = ("import multiprocessing, runpy, sys; m = sys.argv.pop(1); "
       "m == 'default' or multiprocessing.set_start_method(m); "
       "sys.argv.pop(0); runpy.run_path(sys.argv[0], run_name='__main__')")
TIMEOUT = 120  # seconds a program may take (they take a few)
FORK_ERROR = "mpstore._errors.ForkError"


def lists_in(line):
    return ast.literal_eval(line[line.index("["):])


def ints(pattern, text):
    return [int(x) for x in re.findall(pattern, text)]


# Checks take the lines and the whole text: several processes print at
# once, so a line may hold the end of another's (the programs run with
# PYTHONUNBUFFERED=1, as on the terminal where the seeds' output was taken,
# so what one process prints under a lock comes out in that order).

def check_000(out, text):
    """the lists printed after each append grow by one element, each the
    start of the final list, which holds 0, 1 and 2 three times each"""
    final = [ln for ln in out if ln.startswith("Main Process : [")]
    grown = [ast.literal_eval(x) for x in re.findall(r"Process -\d :  (\[[\d, ]*\])", text)]
    assert len(final) == 1, "no final list"
    final = lists_in(final[0])
    assert sorted(final) == [0, 0, 0, 1, 1, 1, 2, 2, 2], final
    assert sorted(len(g) for g in grown) == list(range(1, 10)), grown
    for g in grown:
        assert final[:len(g)] == g, (g, final)


def check_last(expected):
    def check(out, text):
        assert out and out[-1] == expected, "last line %r, not %r" % (out[-1:], expected)
    check.__doc__ = "the last line is %s" % expected
    return check


def check_003(out, text):
    """f's results are the data[i] it printed; after g, data is range(10)
    and the five values g printed; h's results are the a.data[i] it printed"""
    assert out[0].endswith("data = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]"), out[0]
    f_i = ints(r"in f\(data, (\d+)\)", text)
    g_x = ints(r"in g\(data, (\d+)\)", text)
    h_i = ints(r"in h\(a, (\d+)\)", text)
    results = [ast.literal_eval(x) for x in re.findall(r"^(\[[\d, ]*\])$", text, re.M)]
    assert len(results) == 2, results
    assert sorted(results[0]) == sorted(f_i) and len(f_i) == 5, (results[0], f_i)
    after = [ln for ln in out if ln.startswith("main, after")]
    data = lists_in(after[0])
    assert data[:10] == list(range(10)) and sorted(data[10:]) == sorted(g_x), (data, g_x)
    assert len(g_x) == 5 and all(100 <= x < 200 for x in g_x), g_x
    assert sorted(results[1]) == sorted(h_i) and len(h_i) == 5, (results[1], h_i)


def check_004_dict(out, text):
    """[('num', 100)] ... [('num', 109)], in order"""
    assert out == ["[('num', %d)]" % (100 + i) for i in range(10)], out


def check_004_queue(out, text):
    """ten processes each took one item: the first 0 or a number another
    process put (process 0 puts 0 too), none taken more often than put"""
    found = re.findall(r"进程(\d)从队列里获取了一个(\d)，然后又向队列里放入了一个(\d)", text)
    assert all(i == again for i, _, again in found), found
    got = {int(i): int(v) for i, v, _ in found}
    assert len(found) == 10 and sorted(got) == list(range(10)), found
    taken = collections.Counter(got.values())
    assert all(n <= (2 if v == 0 else 1) for v, n in taken.items()), got
    assert all(got[i] != i for i in range(1, 10)), got


def check_004_rlock(out, text):
    """say hi 9 ... say hi 0, in order"""
    assert out == ["say hi %d" % i for i in range(9, -1, -1)], out


# name -> (check, start methods with mpstore, reference run with Python's Manager)
PROGRAMS = collections.OrderedDict([
    ("seed000_list_lock", (check_000, ("fork", "spawn", "forkserver"), True)),
    ("seed001_value_sum", (check_last("100"), ("fork",), True)),
    ("seed002_value_get_lock", (check_last("100"), ("fork", "spawn", "forkserver"), False)),
    ("seed003_list_pool", (check_003, ("fork", "spawn", "forkserver"), True)),
    ("seed004_dict", (check_004_dict, ("fork", "spawn", "forkserver"), True)),
    ("seed004_queue", (check_004_queue, ("fork", "spawn", "forkserver"), True)),
    ("seed004_rlock_array", (check_004_rlock, ("fork", "spawn", "forkserver"), True)),
])


def run(name, method, impl, tmp):
    path = os.path.join(SEEDS, name + ".py")
    if impl == "multiprocessing":
        with open(path, encoding="utf-8") as f:
            text = f.read().replace("from mpstore import Manager",
                                    "from multiprocessing import Manager")
        path = os.path.join(tmp, name + ".py")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    with tempfile.TemporaryFile("w+") as fout, tempfile.TemporaryFile("w+") as ferr:
        p = subprocess.Popen([sys.executable, "-c", RUN, method, path], stdout=fout,
                             stderr=ferr, text=True, cwd=tmp, start_new_session=True, env=env)
        deadline = time.monotonic() + TIMEOUT
        while p.poll() is None:
            ferr.seek(0)
            if time.monotonic() > deadline or (
                    FORK_ERROR in ferr.read() and time.monotonic() > deadline - TIMEOUT + 5):
                # too long, or a child could not open a handle (nothing to
                # wait for: seed 000's other children wait for the lock the
                # failed one held)
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
                break
            time.sleep(0.2)
        fout.seek(0)
        ferr.seek(0)
        stdout, stderr = fout.read(), ferr.read()
    out = [ln.rstrip() for ln in stdout.splitlines() if ln.strip()]
    check = PROGRAMS[name][0]
    try:
        assert p.returncode == 0, "exit status %d" % p.returncode
        check(out, stdout)
        return "PASS", ""
    except AssertionError as e:
        why = "%s\n--- stdout\n%s\n--- stderr\n%s" % (e, stdout[-3000:], stderr[-3000:])
        return "FAIL", why


def main():
    names = sys.argv[1:] or list(PROGRAMS)
    jobs = []
    for name in names:
        check, methods, reference = PROGRAMS[name]
        jobs += [(name, m, "mpstore") for m in methods]
        if reference:
            jobs.append((name, "fork", "multiprocessing"))
    counts = collections.Counter()
    with tempfile.TemporaryDirectory(prefix="mpstore-seeds-") as tmp, \
            ThreadPoolExecutor(2) as pool:
        futures = [(job, pool.submit(run, *job, tmp)) for job in jobs]
        for (name, method, impl), fut in futures:
            verdict, why = fut.result()
            counts[verdict] += 1
            print("%-5s %s under %s with %s's Manager: %s"
                  % (verdict, name, method, impl, " ".join(PROGRAMS[name][0].__doc__.split())))
            if why:
                print("      " + why.replace("\n", "\n      "))
    print("seeds: %d passed, %d failed" % (counts["PASS"], counts["FAIL"]))
    sys.exit(1 if counts["FAIL"] or not counts["PASS"] else 0)


if __name__ == "__main__":
    main()
