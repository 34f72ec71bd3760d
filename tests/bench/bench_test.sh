#!/bin/sh
# tests/bench: mpstore-bench against a real mpstored. Not a timed test: it
# checks that the CSV is well-formed (redis-benchmark's exact header, numeric
# fields, one row per test) and that the counts match the ops performed.
#   bench_test.sh MPSTORE_BENCH MPSTORED MPSTORE_CLI
set -u
BENCH=$1 MPSTORED=$2 CLI=$3
dir=$(mktemp -d /tmp/mpstore-benchtest.XXXXXX)
url=ipc://$dir/rep.ipc
dpid=
fail=0
cleanup() {
	if [ -n "$dpid" ]; then
		kill "$dpid" 2>/dev/null
		i=0
		while kill -0 "$dpid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
		kill -9 "$dpid" 2>/dev/null
	fi
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
bad() { echo "FAIL: $*"; fail=1; }

"$MPSTORED" --listen "$url" --pub "ipc://$dir/pub.ipc" --db "$dir/mpstore.db" \
	--durability log >"$dir/mpstored.log" 2>&1 &
dpid=$!
i=0
until "$CLI" --url "$url" ls >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -gt 100 ] && { echo "FAIL: mpstored did not start:"; cat "$dir/mpstored.log"; exit 1; }
	sleep 0.1
done

HEADER='"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"'

# check_csv FILE TESTS...: exact header, then one row per test, in order, 8 fields
check_csv() {
	f=$1; shift
	[ "$(head -n 1 "$f")" = "$HEADER" ] || bad "header of $f: $(head -n 1 "$f")"
	rows=$(($(wc -l <"$f") - 1))
	[ "$rows" -eq $# ] || bad "$f has $rows rows, expected $#"
	n=2
	for t in "$@"; do
		line=$(sed -n "${n}p" "$f")
		echo "$line" | grep -Eq "^\"$t\"(,\"[0-9]+(\.[0-9]+)?\"){7}\$" ||
			bad "row $n of $f is not \"$t\" and 7 numbers: $line"
		rps=$(echo "$line" | cut -d, -f2 | tr -d '"')
		awk "BEGIN{exit !($rps > 0)}" || bad "$t: rps $rps"
		n=$((n + 1))
	done
}

# incr: the counter equals -n afterwards (async clients in one process)
"$BENCH" --url "$url" -t incr -n 2000 -c 4 --csv --keep --prefix t1 >"$dir/incr.csv" ||
	bad "mpstore-bench -t incr exited $?"
check_csv "$dir/incr.csv" incr
v=$("$CLI" --url "$url" get t1:counter)
[ "$v" = 2000 ] || bad "t1:counter is '$v', expected 2000"

# append with a pipeline: the list's length equals -n
"$BENCH" --url "$url" -t append -n 2000 -c 4 -P 8 --csv --keep --prefix t2 >"$dir/append.csv" ||
	bad "mpstore-bench -t append exited $?"
check_csv "$dir/append.csv" append
v=$("$CLI" --url "$url" len t2:list)
[ "$v" = 2000 ] || bad "t2:list has length '$v', expected 2000"

# forked client processes, one-op requests in flight, several tests and the txn
"$BENCH" --url "$url" -t incr,txn,dset,dget,qput,qget -n 1000 -c 3 -P 2 --pmode async --procs \
	--csv --keep --prefix t3 >"$dir/procs.csv" || bad "mpstore-bench --procs exited $?"
check_csv "$dir/procs.csv" incr txn dset dget qput qget
v=$("$CLI" --url "$url" get t3:txn)
[ "$v" = 1000 ] || bad "t3:txn is '$v', expected 1000"
v=$("$CLI" --url "$url" len t3:queue)
[ "$v" = 0 ] || bad "t3:queue has length '$v' after qget, expected 0"

# blocking threads
"$BENCH" --url "$url" -t incr -n 1000 -c 4 --sync --csv --keep --prefix t4 >"$dir/sync.csv" ||
	bad "mpstore-bench --sync exited $?"
check_csv "$dir/sync.csv" incr
v=$("$CLI" --url "$url" get t4:counter)
[ "$v" = 1000 ] || bad "t4:counter is '$v', expected 1000"

# mdget: dict reads from local mirrors (threads, then processes); the bench
# fails a read that does not find its key's value, and a mirror whose
# initial state lacks a key
"$BENCH" --url "$url" -t mdget -n 20000 -c 3 -r 500 --csv --prefix t5 >"$dir/mdget.csv" ||
	bad "mpstore-bench -t mdget exited $?"
check_csv "$dir/mdget.csv" mdget
"$BENCH" --url "$url" -t dset,mdget -n 5000 -c 2 --procs --csv --prefix t6 >"$dir/mdget_procs.csv" ||
	bad "mpstore-bench -t dset,mdget --procs exited $?"
check_csv "$dir/mdget_procs.csv" dset mdget

# --calls: threads making blocking calls on one handle (coalesced): the
# counter still equals -n
"$BENCH" --url "$url" -t incr -n 3000 -c 8 --calls --csv --keep --prefix t7 >"$dir/calls.csv" ||
	bad "mpstore-bench --calls exited $?"
check_csv "$dir/calls.csv" incr
v=$("$CLI" --url "$url" get t7:counter)
[ "$v" = 3000 ] || bad "t7:counter is '$v', expected 3000"

# memory report
"$BENCH" --url "$url" --memory 2000 --csv >"$dir/mem.csv" || bad "mpstore-bench --memory exited $?"
grep -Eq '^"2000","[0-9]+","[0-9]+","-?[0-9.]+","[0-9.]+"$' "$dir/mem.csv" ||
	bad "memory report: $(cat "$dir/mem.csv")"

if [ $fail != 0 ]; then
	for f in "$dir"/*.csv; do echo "== $f"; cat "$f"; done
	echo "== daemon log"; cat "$dir/mpstored.log"
	exit 1
fi
echo "ok"
