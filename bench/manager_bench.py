#!/usr/bin/env python3
"""manager_bench.py - Python multiprocessing.Manager() baseline for mpstore-bench,
and the same tests on mpstore's Python package (--manager mpstore).

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

With --manager mpstore (clients/python on PYTHONPATH) the same code runs on
mpstore.Manager(), and these tests of what only mpstore has run too:
  incr_add    v.add(1)                       (one atomic op)
  append_batch, dset_batch, qput_batch
              the same calls inside mpstore.batch(): 100 per request
              (latency: the batch's time divided by 100)
  mdget       d[key] on d.mirror()           (a local copy kept current by
                                              a watch: no request per read;
                                              timed by 100 reads)

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
MPSTORE_TESTS = ["incr_add", "append_batch", "dset_batch", "qput_batch", "mdget"]
DEFAULT_TESTS = ["incr", "append", "dset", "dget", "qput", "qget"]
BATCH = 100
HEADER = ('"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms",'
          '"p95_latency_ms","p99_latency_ms","max_latency_ms"')


def worker(test, idx, nops, objs, payload, keyspace, barrier, out):
    pc = time.perf_counter_ns
    lat = [0] * nops
    if test == "mdget":  # the mirror's initial copy is not part of the reads
        mirror = objs[0].mirror()
        mirror.sync(60)
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
    elif test == "incr_add":
        (v,) = objs
        for i in range(nops):
            t0 = pc()
            v.add(1)
            lat[i] = pc() - t0
    elif test in ("append_batch", "dset_batch", "qput_batch"):
        import mpstore
        (obj,) = objs
        keys = ["key:%d" % ((idx * nops + i) % keyspace) for i in range(nops)]
        for start in range(0, nops, BATCH):
            t0 = pc()
            with mpstore.batch(obj):
                for i in range(start, min(nops, start + BATCH)):
                    if test == "append_batch":
                        obj.append(payload)
                    elif test == "dset_batch":
                        obj[keys[i]] = payload
                    else:
                        obj.put(payload)
            t = pc() - t0
            n = min(nops, start + BATCH) - start
            for i in range(start, start + n):
                lat[i] = t // n
    elif test == "mdget":
        m = mirror
        keys = ["key:%d" % ((idx * nops + i) % keyspace) for i in range(nops)]
        # timed by 100 reads: a read takes less than reading the clock
        # here (a system call on some VMs)
        for start in range(0, nops, BATCH):
            stop = min(nops, start + BATCH)
            t0 = pc()
            for i in range(start, stop):
                m[keys[i]]
            t = (pc() - t0) // (stop - start)
            for i in range(start, stop):
                lat[i] = t
    else:
        raise SystemExit("unknown test " + test)
    end = pc()
    if test == "mdget":
        mirror.close()  # stopping its watch thread is not a read
    out.send((end, lat))
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
    elif test == "incr_add":
        objs = (mgr.Value("i", 0),)
    elif test == "append_batch":
        objs = (mgr.list(),)
    elif test == "qput_batch":
        objs = (mgr.Queue(),)
    elif test == "incr_racy":
        objs = (mgr.Value("i", 0),)
    elif test == "incr_shm":
        objs = (mp.Value("q", 0),)
    elif test == "append":
        objs = (mgr.list(),)
    elif test in ("dset", "dget", "dset_batch", "mdget"):
        d = mgr.dict()
        if test in ("dget", "mdget"):
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
        if test in ("incr", "incr_add"):
            check = objs[0].value == nreq
        elif test == "incr_shm":
            check = objs[0].value == nreq
        elif test in ("append", "append_batch"):
            check = len(objs[0]) == nreq
        elif test in ("qput", "qput_batch"):
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
    ap.add_argument("--manager", default="multiprocessing", choices=["multiprocessing", "mpstore"],
                    help="whose Manager() (mpstore: clients/python on PYTHONPATH)")
    a = ap.parse_args()
    known = ALL_TESTS + (MPSTORE_TESTS if a.manager == "mpstore" else [])
    tests = known if a.tests == "all" else [t for t in a.tests.split(",") if t]
    for t in tests:
        if t not in known:
            ap.error("unknown test %r (for --manager %s)" % (t, a.manager))
    if a.procs < 1 or a.requests < a.procs:
        ap.error("need procs >= 1 and requests >= procs")
    mp.set_start_method(a.start_method)
    payload = "x" * a.datasize
    print(HEADER)
    sys.stdout.flush()
    if a.manager == "mpstore":
        import mpstore
        manager = mpstore.Manager
    else:
        manager = mp.Manager
    with manager() as mgr:
        for t in tests:
            row = run_test(mgr, t, a.procs, a.requests, payload, a.keyspace, a.verify)
            print('"%s","%.2f","%.3f","%.3f","%.3f","%.3f","%.3f","%.3f"' % row)
            sys.stdout.flush()


if __name__ == "__main__":
    main()
