#!/usr/bin/env python3
"""manager_bench.py - Python multiprocessing.Manager() baseline for mpstore-bench.

Runs the same tests as mpstore-bench against a Manager() server process, with
N worker processes (like `mpstore-bench --procs`), and prints the same CSV as
`redis-benchmark --csv` / `mpstore-bench --csv`:

  "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms",
  "p95_latency_ms","p99_latency_ms","max_latency_ms"

Tests (each op is what a Manager user writes today):
  incr        with lock: v.value += 1        (manager.Lock + manager.Value:
                                              the correct, atomic increment;
                                              4 round trips per op)
  incr_racy   v.value += 1                   (manager.Value without a lock:
                                              2 round trips, loses updates)
  incr_shm    with v.get_lock(): v.value+=1  (multiprocessing.Value in shared
                                              memory, no Manager; reference)
  append      l.append(x)                    (manager.list)
  dset        d[key] = x                     (manager.dict)
  dget        d[key]                         (manager.dict, prefilled)
  qput        q.put(x)                       (manager.Queue)
  qget        q.get()                        (manager.Queue, prefilled)

Latency is measured per op from call to return. rps is the total number of
ops of all processes divided by the wall time from the start barrier to the
last process finishing. Standard library only.
"""
import argparse
import multiprocessing as mp
import os
import sys
import time

ALL_TESTS = ["incr", "incr_racy", "incr_shm", "append", "dset", "dget", "qput", "qget"]
DEFAULT_TESTS = ["incr", "append", "dset", "dget", "qput", "qget"]
HEADER = ('"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms",'
          '"p95_latency_ms","p99_latency_ms","max_latency_ms"')


def worker(test, idx, nops, objs, payload, keyspace, barrier, out):
    pc = time.perf_counter_ns
    lat = [0] * nops
    barrier.wait()
    if test == "incr":
        v, lock = objs
        for i in range(nops):
            t0 = pc()
            with lock:
                v.value += 1
            lat[i] = pc() - t0
    elif test == "incr_racy":
        (v,) = objs
        for i in range(nops):
            t0 = pc()
            v.value += 1
            lat[i] = pc() - t0
    elif test == "incr_shm":
        (v,) = objs
        for i in range(nops):
            t0 = pc()
            with v.get_lock():
                v.value += 1
            lat[i] = pc() - t0
    elif test == "append":
        (lst,) = objs
        for i in range(nops):
            t0 = pc()
            lst.append(payload)
            lat[i] = pc() - t0
    elif test == "dset":
        (d,) = objs
        keys = ["key:%d" % ((idx * nops + i) % keyspace) for i in range(nops)]
        for i in range(nops):
            k = keys[i]
            t0 = pc()
            d[k] = payload
            lat[i] = pc() - t0
    elif test == "dget":
        (d,) = objs
        keys = ["key:%d" % ((idx * nops + i) % keyspace) for i in range(nops)]
        for i in range(nops):
            k = keys[i]
            t0 = pc()
            d[k]
            lat[i] = pc() - t0
    elif test == "qput":
        (q,) = objs
        for i in range(nops):
            t0 = pc()
            q.put(payload)
            lat[i] = pc() - t0
    elif test == "qget":
        (q,) = objs
        for i in range(nops):
            t0 = pc()
            q.get()
            lat[i] = pc() - t0
    else:
        raise SystemExit("unknown test " + test)
    out.send((pc(), lat))
    out.close()


def pct(sorted_lat, p):
    if not sorted_lat:
        return 0
    i = int(round(p / 100.0 * len(sorted_lat) + 0.5)) - 1
    i = max(0, min(len(sorted_lat) - 1, i))
    return sorted_lat[i]


def run_test(mgr, test, procs, nreq, payload, keyspace, verify):
    per = [nreq // procs + (1 if i < nreq % procs else 0) for i in range(procs)]
    if test == "incr":
        objs = (mgr.Value("i", 0), mgr.Lock())
    elif test == "incr_racy":
        objs = (mgr.Value("i", 0),)
    elif test == "incr_shm":
        objs = (mp.Value("q", 0),)
    elif test == "append":
        objs = (mgr.list(),)
    elif test in ("dset", "dget"):
        d = mgr.dict()
        if test == "dget":
            d.update({"key:%d" % i: payload for i in range(min(keyspace, nreq))})
        objs = (d,)
    elif test in ("qput", "qget"):
        q = mgr.Queue()
        if test == "qget":
            for _ in range(nreq):
                q.put(payload)
        objs = (q,)
    else:
        raise SystemExit("unknown test " + test)

    barrier = mp.Barrier(procs + 1)
    pipes, ps = [], []
    for i in range(procs):
        r, w = mp.Pipe(duplex=False)
        p = mp.Process(target=worker,
                       args=(test, i, per[i], objs, payload, keyspace, barrier, w))
        p.start()
        w.close()
        pipes.append(r)
        ps.append(p)
    barrier.wait()
    t0 = time.perf_counter_ns()
    lats, t_end = [], t0
    for r in pipes:
        t_done, lat = r.recv()
        t_end = max(t_end, t_done)
        lats.extend(lat)
    for p in ps:
        p.join()
    wall = max(1, t_end - t0)
    if verify:
        check = None
        if test == "incr":
            check = objs[0].value == nreq
        elif test == "incr_shm":
            check = objs[0].value == nreq
        elif test == "append":
            check = len(objs[0]) == nreq
        elif test == "qput":
            check = objs[0].qsize() == nreq
        elif test == "qget":
            check = objs[0].qsize() == 0
        if check is False:
            print("manager_bench: %s: count check failed" % test, file=sys.stderr)
    lats.sort()
    n = len(lats)
    ms = 1e-6
    return (test, n * 1e9 / wall, sum(lats) / n * ms, lats[0] * ms, pct(lats, 50) * ms,
            pct(lats, 95) * ms, pct(lats, 99) * ms, lats[-1] * ms)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-p", "--procs", type=int, default=1, help="worker processes")
    ap.add_argument("-n", "--requests", type=int, default=20000, help="total ops per test")
    ap.add_argument("-t", "--tests", default=",".join(DEFAULT_TESTS),
                    help="comma list of " + ",".join(ALL_TESTS) + " (or 'all')")
    ap.add_argument("-d", "--datasize", type=int, default=3, help="element size in bytes")
    ap.add_argument("-r", "--keyspace", type=int, default=1000, help="dict keys used")
    ap.add_argument("--csv", action="store_true", help="CSV output (the default)")
    ap.add_argument("--verify", action="store_true", help="check final counts")
    ap.add_argument("--start-method", default="fork", choices=["fork", "spawn", "forkserver"])
    a = ap.parse_args()
    tests = ALL_TESTS if a.tests == "all" else [t for t in a.tests.split(",") if t]
    for t in tests:
        if t not in ALL_TESTS:
            ap.error("unknown test %r" % t)
    if a.procs < 1 or a.requests < a.procs:
        ap.error("need procs >= 1 and requests >= procs")
    mp.set_start_method(a.start_method)
    payload = "x" * a.datasize
    print(HEADER)
    sys.stdout.flush()
    with mp.Manager() as mgr:
        for t in tests:
            row = run_test(mgr, t, a.procs, a.requests, payload, a.keyspace, a.verify)
            print('"%s","%.2f","%.3f","%.3f","%.3f","%.3f","%.3f","%.3f"' % row)
            sys.stdout.flush()


if __name__ == "__main__":
    main()
