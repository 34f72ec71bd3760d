#!/usr/bin/env python3
"""perf_report.py RESULTS_DIR DOC.md|- DATFILE

Reads the CSVs bench/compare.sh left in RESULTS_DIR and writes the results
section of docs/performance.md (between <!-- BEGIN RESULTS --> and
<!-- END RESULTS -->; "-" prints it instead) and the gnuplot data of
throughput against client count (DATFILE). Standard library only.
"""
import csv
import os
import sys

BEGIN = "<!-- BEGIN RESULTS -->"
END = "<!-- END RESULTS -->"
# mpstore test -> redis-benchmark test
REDIS_OF = {"incr": "INCR", "append": "LPUSH", "dset": "HSET", "dget": "GET"}


def load_one(path):
    """{test: row dict} of one CSV, {} when missing or empty."""
    out = {}
    try:
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                try:
                    out[row["test"]] = {k: (float(v) if k != "test" else v)
                                        for k, v in row.items()}
                except (TypeError, ValueError, KeyError):
                    pass
    except OSError:
        pass
    return out


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def load(res, name):
    """{test: row dict} of NAME.csv, or of the rounds NAME_r1.csv, NAME_r2.csv...
    combined: each column the median over the rounds that have the test."""
    path = os.path.join(res, name + ".csv")
    if os.path.exists(path):
        return load_one(path)
    rounds = []
    r = 1
    while os.path.exists(os.path.join(res, "%s_r%d.csv" % (name, r))):
        rounds.append(load_one(os.path.join(res, "%s_r%d.csv" % (name, r))))
        r += 1
    out = {}
    order = []  # the tests in the order the runs made them
    for rd in rounds:
        order += [t for t in rd if t not in order]
    for test in order:
        rows = [rd[test] for rd in rounds if test in rd]
        out[test] = {k: (median([row[k] for row in rows]) if k != "test" else test)
                     for k in rows[0]}
    return out


def rounds_of(res):
    r = 0
    while os.path.exists(os.path.join(res, "echo_c1_P1_r%d.csv" % (r + 1))):
        r += 1
    return r


def rps(tbl, test):
    r = tbl.get(test)
    return r["rps"] if r else None


def fmt(x):
    if x is None:
        return "n/a"
    return "{:,.0f}".format(x)


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "n/a"
    return "{:.2f}x".format(a / b)


def machine(res):
    info = {}
    try:
        with open(os.path.join(res, "machine.txt")) as f:
            for line in f:
                k, _, v = line.rstrip("\n").partition("=")
                info[k] = v
    except OSError:
        pass
    return info


def ctx_per_request(res, name):
    """Daemon context switches per request from a .ctx file (or rounds')."""
    vals = []
    paths = [os.path.join(res, name + ".ctx")]
    r = 1
    while os.path.exists(os.path.join(res, "%s_r%d.ctx" % (name, r))):
        paths.append(os.path.join(res, "%s_r%d.ctx" % (name, r)))
        r += 1
    for p in paths:
        try:
            with open(p, newline="") as f:
                row = list(csv.DictReader(f))[0]
            n = float(row["requests"])
            if n > 0:
                vals.append((float(row["voluntary"]) + float(row["involuntary"])) / n)
        except (OSError, IndexError, KeyError, ValueError):
            pass
    return median(vals) if vals else None


def target_rows(res, suffix, L, label):
    """The transport targets (issue 12) for one placement (suffix "" pinned
    or "_unpinned")."""
    def ld(name):
        return load(res, name + suffix) if suffix else load(res, name)
    m1, r1 = ld("mpstore_memory_c1_P1"), ld("redis_none_c1_P1")
    g1 = load(res, "manager_p1")
    if not m1:
        return
    pinned = not suffix and label == "pinned"
    for t in ("incr", "append", "dset", "dget"):
        a, b, g = rps(m1, t), rps(r1, REDIS_OF[t]), rps(g1, t)
        if pinned:
            g = None  # Manager runs unpinned: compared with the unpinned round only
        L.append("| {} | 1 client, one op at a time | {} | {} | {} | {} (>= 1.0) | {} | {} (>= 1.5) |".format(
            label, t, fmt(a), fmt(b), ratio(a, b), fmt(g), ratio(a, g)))
    for cfg, want in (("c50_P1", "1.5"), ("c50_P16", "2.0")):
        mt, rt = ld("mpstore_memory_" + cfg), ld("redis_none_" + cfg)
        for t in ("incr", "append", "dset"):
            a, b = rps(mt, t), rps(rt, REDIS_OF[t])
            L.append("| {} | {} | {} | {} | {} | {} (>= {}) | | |".format(
                label, "-c 50 -P 1" if cfg == "c50_P1" else "-c 50 -P 16", t,
                fmt(a), fmt(b), ratio(a, b), want))


def main():
    res, doc, dat = sys.argv[1], sys.argv[2], sys.argv[3]
    m = machine(res)
    L = []
    L.append("Measured {} on {} CPUs ({}), {} RAM, Linux {}; Redis {}, Python {}, nng {}{}.".format(
        m.get("date", "?"), m.get("nproc", "?"), m.get("cpu", "?"), m.get("mem", "?"),
        m.get("kernel", "?"), m.get("redis", "?"), m.get("python", "?"), m.get("nng", "?"),
        " (--quick run: short, noisy)" if m.get("quick") == "1" else ""))
    nr = rounds_of(res)
    if nr > 1:
        L.append("Each Redis, mpstore and echo figure is the median of {} rounds; a round "
                 "runs every configuration once, Redis and mpstore back to back.".format(nr))
    if m.get("pinned") == "1":
        L.append("Servers (redis-server, mpstored, the echo server) ran on CPU 0 and their "
                 "load generators on CPU 1; the Manager and `--procs` runs were not pinned.")
    L.append("")

    # --- the transport's targets ---
    L.append("### Targets of the daemon's own transport (ops/s)")
    L.append("")
    L.append("| placement | config | test | mpstore | Redis | mpstore / Redis (target) "
             "| Manager | mpstore / Manager (target) |")
    L.append("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |")
    target_rows(res, "", L, "pinned" if m.get("pinned") == "1" else "unpinned")
    target_rows(res, "_unpinned", L, "unpinned")
    L.append("")
    L.append("One client, one op at a time: `mpstore-bench -c 1 --sync` (a thread making "
             "blocking calls: one write and one read each), `redis-benchmark -c 1` (INCR, "
             "LPUSH, HSET, GET), `manager_bench.py -p 1`. Manager runs are never pinned.")
    L.append("")
    ctx = ctx_per_request(res, "mpstore_memory_c1_P1")
    ctxu = ctx_per_request(res, "mpstore_memory_c1_P1_unpinned")
    L.append("Context switches per request in the daemon at `-c 1` (voluntary + involuntary, "
             "from its `OP_STATS` before and after the run; target <= 2, nng took 7 to 12): "
             "{} pinned, {} unpinned.".format(
                 "n/a" if ctx is None else "%.2f" % ctx,
                 "n/a" if ctxu is None else "%.2f" % ctxu))
    L.append("")
    # the transport alone: our loop, bare epoll, nng
    L.append("### The transport alone: echo round trips/s")
    L.append("")
    L.append("| requests in flight | mpstored's loop (libuv) | bare epoll | libuv / epoll | nng 1.5.2 "
             "| libuv / nng | the store (incr) / its own echo (target >= 0.8) |")
    L.append("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for c in (1, 50):
        u = rps(load(res, "specho_uv_c%d" % c), "sp_uv")
        ep = rps(load(res, "specho_epoll_c%d" % c), "sp_epoll")
        et = load(res, "echo_c%d_P1" % c)
        n = rps(et, "echo_ctx") or rps(et, "echo_seq")
        st = rps(load(res, "mpstore_memory_c%d_P1" % c), "incr")
        L.append("| {} | {} | {} | {} | {} | {} | {} |".format(
            c, fmt(u), fmt(ep), ratio(u, ep), fmt(n), ratio(u, n), ratio(st, u)))
    L.append("")
    L.append("`bench/sp_echo`: the echo server on `daemon/net` (the loop mpstored runs) or on a "
             "bare epoll loop written for the comparison, and a client speaking SP on a plain "
             "socket: one request at a time, or 50 in flight on one connection (as "
             "`mpstore-bench -c 50` keeps 50 in flight on one libmpstore handle); nng: "
             "`echo_bench` (REQ/REP, contexts: 1, or 50 on one socket). The last column "
             "divides `mpstore-bench` incr (memory) by the libuv echo with as many in flight.")
    L.append("")

    # --- mpstore vs Redis vs echo ---
    L.append("### mpstore vs Redis, and the nng echo ceiling (ops/s)")
    L.append("")
    L.append("| config | test | mpstore | Redis | mpstore / Redis | nng echo | mpstore / echo |")
    L.append("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    echo = {("c1", "P1"): ("echo_c1_P1", "echo_ctx" if "echo_ctx" in load(res, "echo_c1_P1") else "echo_seq"),
            ("c50", "P1"): ("echo_c50_P1", "echo_ctx"),
            ("c50", "P16"): ("echo_c50_P16", "echo_ctx_p16")}
    configs = [
        ("memory / no persistence, -c 1 -P 1", "mpstore_memory_c1_P1", "redis_none_c1_P1", ("c1", "P1")),
        ("memory / no persistence, -c 50 -P 1", "mpstore_memory_c50_P1", "redis_none_c50_P1", ("c50", "P1")),
        ("memory / no persistence, -c 50 -P 16", "mpstore_memory_c50_P16", "redis_none_c50_P16", ("c50", "P16")),
        ("log / AOF everysec, -c 50 -P 1", "mpstore_log_c50_P1", "redis_everysec_c50_P1", ("c50", "P1")),
        ("fsync / AOF always, -c 50 -P 1", "mpstore_fsync_c50_P1", "redis_always_c50_P1", ("c50", "P1")),
        ("log / AOF everysec, -c 50 -P 16", "mpstore_log_c50_P16", "redis_everysec_c50_P16", ("c50", "P16")),
        ("fsync / AOF always, -c 50 -P 16", "mpstore_fsync_c50_P16", "redis_always_c50_P16", ("c50", "P16")),
    ]
    for label, mf, rf, ek in configs:
        mt, rt = load(res, mf), load(res, rf)
        ef, et = echo[ek]
        e = rps(load(res, ef), et)
        for t in ("incr", "append", "dset"):
            a, b = rps(mt, t), rps(rt, REDIS_OF[t])
            L.append("| {} | {} / {} | {} | {} | {} | {} | {} |".format(
                label, t, REDIS_OF[t], fmt(a), fmt(b), ratio(a, b), fmt(e), ratio(a, e)))
    L.append("")

    # --- single-client latency ---
    mt = load(res, "mpstore_memory_c1_P1")
    e1 = load(res, "echo_c1_P1")
    et = e1.get("echo_ctx") or e1.get("echo_seq")
    rt = load(res, "redis_none_c1_P1")
    L.append("### One client, sequential: p50 latency (ms)")
    L.append("")
    L.append("| test | mpstore | Redis | nng echo | mpstore / echo (target <= 1.2) |")
    L.append("| --- | ---: | ---: | ---: | ---: |")
    for t in ("incr", "append", "dset"):
        a = mt.get(t, {}).get("p50_latency_ms")
        b = rt.get(REDIS_OF[t], {}).get("p50_latency_ms")
        e = et.get("p50_latency_ms") if et else None
        L.append("| {} | {} | {} | {} | {} |".format(
            t, "n/a" if a is None else "%.3f" % a, "n/a" if b is None else "%.3f" % b,
            "n/a" if e is None else "%.3f" % e, ratio(a, e)))
    L.append("")

    # --- coalescing ---
    on, off = load(res, "mpstore_memory_calls50"), load(res, "mpstore_memory_calls50_nocoal")
    if on or off:
        L.append("### 50 threads making blocking calls on one handle (memory, ops/s)")
        L.append("")
        L.append("| test | calls coalesced (default) | `MPSTORE_COALESCE=0` | coalesced / not |")
        L.append("| --- | ---: | ---: | ---: |")
        for t in ("incr", "dset", "dget"):
            a, b = rps(on, t), rps(off, t)
            L.append("| {} | {} | {} | {} |".format(t, fmt(a), fmt(b), ratio(a, b)))
        L.append("")
        L.append("`mpstore-bench --calls`: each client a thread calling `mps_exec_op` (what "
                 "the typed calls such as `mps_counter_add` do) and waiting for it. Calls "
                 "made while a request is in flight go out together in the next one.")
        L.append("")

    # --- Manager ---
    L.append("### mpstore vs Python's multiprocessing.Manager() (ops/s; clients are processes)")
    L.append("")
    L.append("| test | processes | mpstore --procs | Manager | mpstore / Manager (target >= 5) "
             "| mpstore --procs -P 16 | -P 16 / Manager |")
    L.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for p in (1, 4):
        mt, gt = load(res, "mpstore_memory_procs%d" % p), load(res, "manager_p%d" % p)
        mp = load(res, "mpstore_memory_procs%d_P16" % p)
        for t in ("incr", "append", "dset", "dget", "qput", "qget"):
            a, b, c = rps(mt, t), rps(gt, t), rps(mp, t)
            L.append("| {} | {} | {} | {} | {} | {} | {} |".format(
                t, p, fmt(a), fmt(b), ratio(a, b), fmt(c), ratio(c, b)))
        a, b = rps(load(res, "mpstore_memory_procs%d_mdget" % p), "mdget"), rps(gt, "dget")
        if a is not None:
            L.append("| mdget (dget from a local mirror) | {} | {} | {} (dget) | {} | | |".format(
                p, fmt(a), fmt(b), ratio(a, b)))
    L.append("")
    L.append("`mdget` reads the dict from a local `mps_mirror` in each process (kept "
             "current by the watch, consistent at the mirror's revision, no request per "
             "read); Manager's `dget` is a round trip to its server each time.")
    L.append("")
    L.append("One op per round trip, each side is bound by its round trip: mpstore's is one "
             "write and one read on each side, with both sides busy-polling briefly instead of "
             "sleeping (docs/performance.md, \"Busy polling\"); Manager's is a pickle over a "
             "socket to a Python thread. Manager's `incr` needs four round trips under its "
             "Lock. With 16 ops per request, which a Manager proxy cannot do, each process "
             "gets far more.")
    L.append("")
    L.append("Manager `incr` is `with lock: v.value += 1` (a Manager Lock and Value: the "
             "atomic increment mpstore's `incr` gives); `append`, `dset`/`dget`, `qput`/`qget` "
             "are a Manager list, dict and Queue.")
    L.append("")

    # --- the Python package (clients/python) against Manager ---
    pys = {p: load(res, "mpstore_py_p%d" % p) for p in (1, 4)}
    if any(pys.values()):
        L.append("### mpstore's Python package vs multiprocessing.Manager() (ops/s; "
                 "bench/manager_bench.py, clients are processes)")
        L.append("")
        L.append("| test | processes | mpstore.Manager() | multiprocessing.Manager() | ratio "
                 "| target |")
        L.append("| --- | ---: | ---: | ---: | ---: | ---: |")
        rows = [("incr", "incr", ">= 2"), ("append", "append", ">= 2"),
                ("dset", "dset", ">= 2"), ("dget", "dget", ">= 2"), ("qput", "qput", ">= 2"),
                ("qget", "qget", ">= 2"), ("incr_add", "incr", ">= 10"),
                ("append_batch", "append", ">= 10"), ("dset_batch", "dset", ">= 10"),
                ("qput_batch", "qput", ">= 10"), ("mdget", "dget", ">= 100")]
        for p in (1, 4):
            gt = load(res, "manager_p%d" % p)
            for t, base, target in rows:
                a, b = rps(pys[p], t), rps(gt, base)
                name = t if t == base else "%s (vs %s)" % (t, base)
                L.append("| {} | {} | {} | {} | {} | {} |".format(
                    name, p, fmt(a), fmt(b), ratio(a, b), target if p == 1 else ""))
        L.append("")
        L.append("The same program on both (`incr` is `with lock: v.value += 1`); `incr_add` "
                 "is `v.add(1)`, one atomic op; `*_batch` make the same calls inside "
                 "`mpstore.batch()` (100 per request); `mdget` reads `d.mirror()`. The "
                 "targets are issue 14's, for one process one op at a time, for the batch "
                 "forms and for mirror reads.")
        L.append("")

    # --- issue 3: log vs memory ---
    L.append("### Durability cost: `log` and `fsync` against in-memory (ops/s)")
    L.append("")
    L.append("| clients | test | memory | log | log / memory (goal at 50: >= 0.5) | fsync | fsync / memory |")
    L.append("| ---: | --- | ---: | ---: | ---: | ---: | ---: |")
    for c in (1, 50):
        mem = load(res, "mpstore_memory_c%d_P1" % c)
        lg = load(res, "mpstore_log_c%d_P1" % c)
        fs = load(res, "mpstore_fsync_c%d_P1" % c)
        for t in ("incr", "append", "dset"):
            a, b, f = rps(mem, t), rps(lg, t), rps(fs, t)
            L.append("| {} | {} | {} | {} | {} | {} | {} |".format(
                c, t, fmt(a), fmt(b), ratio(b, a), fmt(f), ratio(f, a)))
    L.append("")

    # --- all mpstore tests at 50 clients ---
    mt = load(res, "mpstore_memory_c50_P1")
    if mt:
        L.append("### Every mpstore test, memory, -c 50 -P 1")
        L.append("")
        L.append("| test | ops/s | avg ms | p50 ms | p99 ms | max ms |")
        L.append("| --- | ---: | ---: | ---: | ---: | ---: |")
        for t, r in mt.items():
            L.append("| {} | {} | {:.3f} | {:.3f} | {:.3f} | {:.3f} |".format(
                t, fmt(r["rps"]), r["avg_latency_ms"], r["p50_latency_ms"],
                r["p99_latency_ms"], r["max_latency_ms"]))
        L.append("")

    # --- scaling ---
    sizes = sorted(int(f[len("mpstore_scale_"):-4]) for f in os.listdir(res)
                   if f.startswith("mpstore_scale_") and f.endswith(".csv"))
    if sizes:
        L.append("### Scaling: ops/s on containers of growing size (memory, -c 50 -P 1)")
        L.append("")
        L.append("| test | " + " | ".join("{:,} elements".format(s) for s in sizes) + " |")
        L.append("| --- |" + " ---: |" * len(sizes))
        tabs = [load(res, "mpstore_scale_%d" % s) for s in sizes]
        for t in ("dset", "dget", "append", "qput", "qget"):
            L.append("| {} | ".format(t) + " | ".join(fmt(rps(tb, t)) for tb in tabs) + " |")
        L.append("")

    # --- snapshot / recovery ---
    try:
        with open(os.path.join(res, "recovery.csv"), newline="") as f:
            rec = list(csv.DictReader(f))
    except OSError:
        rec = []
    if rec:
        L.append("### Snapshot and restart time against size (a dict, `log` durability)")
        L.append("")
        L.append("| elements | `mpstore snapshot` (s) | restart until serving (s) |")
        L.append("| ---: | ---: | ---: |")
        for r in rec:
            try:
                L.append("| {:,} | {:.3f} | {:.3f} |".format(
                    int(r["elements"]), float(r["snapshot_s"]), float(r["restart_s"])))
            except (ValueError, KeyError, TypeError):
                pass
        L.append("")

    # --- memory ---
    L.append("### Memory: a dict of small strings (keys `key:N`, 3-byte values)")
    L.append("")
    L.append("| system | elements | RSS before (kB) | RSS after (kB) | bytes per element |")
    L.append("| --- | ---: | ---: | ---: | ---: |")
    try:
        with open(os.path.join(res, "memory_redis.csv")) as f:
            _, n, b, a = f.read().strip().split(",")
            L.append("| Redis hash | {:,} | {} | {} | {:.1f} |".format(
                int(n), b, a, (int(a) - int(b)) * 1024.0 / int(n)))
    except (OSError, ValueError):
        L.append("| Redis hash | n/a | | | |")
    try:
        with open(os.path.join(res, "memory_mpstore.csv"), newline="") as f:
            row = list(csv.DictReader(f))[0]
            L.append("| mpstored dict | {:,} | {} | {} | {} |".format(
                int(row["memory_elements"]), row["memory_rss_before_kb"],
                row["memory_rss_after_kb"], row["bytes_per_element"]))
    except (OSError, ValueError, IndexError, KeyError):
        L.append("| mpstored dict | n/a | | | |")
    L.append("")

    # --- clients plot data ---
    L.append("### Throughput against client count (P 1)")
    L.append("")
    L.append("![throughput vs clients](perf-clients.svg)")
    L.append("")
    L.append("| clients | test | mpstore | Redis | Manager (processes) | nng echo |")
    L.append("| ---: | --- | ---: | ---: | ---: | ---: |")
    rows = []
    for c in (1, 10, 50):
        mt = load(res, "mpstore_memory_c%d_P1" % c)
        rt = load(res, "redis_none_c%d_P1" % c)
        gt = load(res, "manager_p%d" % c)
        et = load(res, "echo_c%d_P1" % c)
        e = rps(et, "echo_ctx") or rps(et, "echo_seq")
        for t in ("incr", "append", "dset"):
            a, b, g = rps(mt, t), rps(rt, REDIS_OF[t]), rps(gt, t)
            L.append("| {} | {} | {} | {} | {} | {} |".format(c, t, fmt(a), fmt(b), fmt(g), fmt(e)))
        rows.append((c, [rps(mt, t) for t in ("incr", "append", "dset")],
                     [rps(rt, REDIS_OF[t]) for t in ("incr", "append", "dset")],
                     [rps(gt, t) for t in ("incr", "append", "dset")], e))
    L.append("")
    try:
        with open(os.path.join(res, "failures.txt")) as f:
            fails = f.read().rstrip("\n")
    except OSError:
        fails = ""
    if fails:
        L.append("### Failed runs (their rows above count failed ops too, or are n/a)")
        L.append("")
        L.append(fails)
        L.append("")
    L.append("Raw CSVs: run `bench/compare.sh --out DIR` to keep them.")

    with open(dat, "w") as f:
        f.write("# clients mps_incr mps_append mps_dset redis_incr redis_lpush redis_hset "
                "mgr_incr mgr_append mgr_dset echo\n")
        for c, a, b, g, e in rows:
            vals = a + b + g + [e]
            f.write("%d %s\n" % (c, " ".join("NaN" if v is None else "%.1f" % v for v in vals)))

    text = "\n".join(L) + "\n"
    if doc == "-":
        sys.stdout.write(text)
        return
    try:
        with open(doc) as f:
            old = f.read()
    except OSError:
        old = "# Performance\n\n%s\n%s\n" % (BEGIN, END)
    if BEGIN in old and END in old:
        head, _, rest = old.partition(BEGIN)
        _, _, tail = rest.partition(END)
        new = head + BEGIN + "\n" + text + END + tail
    else:
        new = old.rstrip("\n") + "\n\n" + BEGIN + "\n" + text + END + "\n"
    with open(doc, "w") as f:
        f.write(new)


if __name__ == "__main__":
    main()
