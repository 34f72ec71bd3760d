#!/usr/bin/env bash
# compare.sh - mpstore next to Redis, Python's Manager and a bare nng echo,
# in one run on this machine; writes the table and plot into docs/.
#
#   bench/compare.sh [--quick] [--big] [--no-pin] [--rounds N] [--build DIR] [--out DIR]
#                    [--no-docs]
#
#   --quick    short runs (about 2 minutes in all), for a smoke test
#   --big      also the 10,000,000-element scaling run (minutes, GBs of RAM)
#   --no-pin   do not pin servers to CPU 0 and their load generators to CPU 1
#   --rounds N the Redis/mpstore/echo comparison N times, medians reported
#              (default 3; --quick: 1)
#   --build    the CMake build dir holding daemon/mpstored, bench/mpstore-bench
#              and bench/echo_bench (default: $MPSTORE_BUILD, else build-bench,
#              else build)
#   --out      keep the raw CSVs there (default: a temp dir, removed)
#   --no-docs  do not touch docs/performance.md and docs/perf-clients.svg
#   --both     also one unpinned round of the transport's target configurations
#              (-c 1, -c 50 -P 1, -c 50 -P 16, memory), reported beside the pinned
#
# What runs (same client counts and pipeline depths everywhere):
#   redis-server (no persistence; AOF everysec; AOF always) + redis-benchmark
#     -t incr,lpush,hset at -c 1 -P 1, -c 50 -P 1, -c 50 -P 16 (and -c 10)
#   mpstored (--durability memory; log; fsync) + mpstore-bench
#     -t incr,append,dset,... at the same -c/-P
#   bench/manager_bench.py with 1 and 4 processes (and 10, 50 for the plot)
#   bench/manager_bench.py --manager mpstore (the Python package) with 1 and 4
#   bench/echo_bench: the bare nng REQ/REP ceiling; bench/sp_echo: the
#     daemon's own transport (libuv) and a bare epoll loop, echoing
#   scaling: mpstore-bench --prefill 1000 / 100000 (/ 10000000 with --big)
#   memory: a 1,000,000-entry dict of small strings, mpstored vs a Redis hash
# Redis and mpstore runs of one configuration follow each other (the VM's
# speed drifts by up to 2x over minutes; ratios of neighbouring runs hold).
# With 2+ CPUs each server runs on CPU 0 and its load generator on CPU 1
# (redis, mpstored and echo alike): unpinned, where the scheduler puts the
# threads decides a 2x difference from one run to the next. The Manager
# and --procs runs stay unpinned (several client processes).
# Every server gets a free loopback port or a fresh ipc:// path in a temp
# dir; every process started here is stopped by pid on exit.
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
quick=0
big=0
pin=1
rounds=
docs=1
build=${MPSTORE_BUILD:-}
keep_out=
both=0
while [ $# -gt 0 ]; do
	case $1 in
	--quick) quick=1 ;;
	--big) big=1 ;;
	--no-pin) pin=0 ;;
	--rounds) rounds=$2; shift ;;
	--no-docs) docs=0 ;;
	--both) both=1 ;;
	--build) build=$2; shift ;;
	--out) keep_out=$2; shift ;;
	-h | --help) sed -n '2,38p' "$0"; exit 0 ;;
	*) echo "compare.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
if [ -z "$build" ]; then
	for b in "$root/build-bench" "$root/build"; do
		[ -x "$b/bench/mpstore-bench" ] && { build=$b; break; }
	done
fi
BENCH=$build/bench/mpstore-bench
CLI=$build/clients/cli/mpstore
ECHO=$build/bench/echo_bench
SPECHO=$build/bench/sp_echo
MPSTORED=$build/daemon/mpstored
for f in "$BENCH" "$ECHO" "$SPECHO" "$MPSTORED" "$CLI"; do
	[ -x "$f" ] || { echo "compare.sh: $f not built (cmake --build $build)" >&2; exit 1; }
done
SRV=()
CLI_PIN=()
if [ $pin = 1 ] && [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
	SRV=(taskset -c 0)
	CLI_PIN=(taskset -c 1)
else
	pin=0
fi
for p in redis-server redis-benchmark redis-cli python3; do
	command -v $p >/dev/null || { echo "compare.sh: $p not installed" >&2; exit 1; }
done

tmp=$(mktemp -d /tmp/mpstore-compare.XXXXXX)
res=${keep_out:-$tmp/results}
mkdir -p "$res"
pids=()
cleanup() {
	for p in "${pids[@]:-}"; do
		[ -n "$p" ] && kill "$p" 2>/dev/null
	done
	sleep 0.3
	for p in "${pids[@]:-}"; do
		[ -n "$p" ] && kill -9 "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ $quick = 1 ]; then
	N_REDIS=20000; N_REDIS_P=200000; N_MPS=20000; N_MPS_P=200000
	N_MGR=4000; N_ECHO=20000; N_MEM=100000; SCALE="1000 100000"
else
	N_REDIS=100000; N_REDIS_P=1000000; N_MPS=100000; N_MPS_P=1000000
	N_MGR=20000; N_ECHO=100000; N_MEM=1000000; SCALE="1000 100000"
fi
[ $big = 1 ] && SCALE="$SCALE 10000000"
[ -z "$rounds" ] && { [ $quick = 1 ] && rounds=1 || rounds=3; }
TMO=300 # seconds any single benchmark run may take

log() { printf '%s compare.sh: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

stop_pid() { # stop one process we started, by pid
	local p=$1 i
	kill "$p" 2>/dev/null || return 0
	for i in $(seq 50); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done
	kill -9 "$p" 2>/dev/null
	wait "$p" 2>/dev/null
}

# ---- Redis ----
redis_start() { # MODE: none|everysec|always -> sets RPORT, RPID
	local mode=$1 dir
	dir=$(mktemp -d "$tmp/redis-$1.XXXX") # fresh: no AOF of an earlier run to load
	RPORT=$(free_port)
	local args=(--port "$RPORT" --bind 127.0.0.1 --save '' --dir "$dir" --daemonize no
		--protected-mode no --logfile "$dir/redis.log")
	case $mode in
	none) args+=(--appendonly no) ;;
	*) args+=(--appendonly yes --appendfsync "$mode") ;;
	esac
	"${SRV[@]}" redis-server "${args[@]}" &
	RPID=$!
	pids+=("$RPID")
	for _ in $(seq 50); do
		[ "$(redis-cli -p "$RPORT" ping 2>/dev/null)" = PONG ] && return 0
		sleep 0.1
	done
	log "redis-server ($mode) did not start"; return 1
}

# redis_one MODE C P: one redis-benchmark run on a fresh redis-server
redis_one() {
	local mode=$1 c=$2 p=$3 n=$N_REDIS
	[ "$p" -gt 1 ] && n=$N_REDIS_P
	redis_start "$mode" || return
	log "redis $mode -c $c -P $p"
	timeout $TMO "${CLI_PIN[@]}" redis-benchmark -p "$RPORT" -c "$c" -P "$p" -n "$n" \
		-t incr,lpush,hset,get --csv >"$res/redis_${mode}_c${c}_P${p}$RSUF.csv" \
		2>"$res/redis_${mode}_c${c}_P${p}$RSUF.err"
	if [ "$(wc -l <"$res/redis_${mode}_c${c}_P${p}$RSUF.csv")" -lt 2 ]; then
		log "redis-benchmark ($mode -c $c -P $p) gave no results"
		echo "- redis-server ($mode) + \`redis-benchmark -c $c -P $p\`: no results" \
			>>"$res/failures.txt"
	fi
	stop_pid "$RPID"
}

redis_memory() { # a hash of N_MEM small fields (the keys/values of mpstore-bench --memory)
	redis_start none || return
	local before after
	before=$(awk '/^VmRSS/{print $2}' /proc/$RPID/status)
	python3 - "$N_MEM" <<'EOF' | redis-cli -p "$RPORT" --pipe >/dev/null
import sys
n = int(sys.argv[1]); out = sys.stdout
for i in range(n):
    k = "key:%d" % i
    out.write("*4\r\n$4\r\nHSET\r\n$3\r\nmem\r\n$%d\r\n%s\r\n$3\r\nxxx\r\n" % (len(k), k))
EOF
	after=$(awk '/^VmRSS/{print $2}' /proc/$RPID/status)
	echo "redis,$N_MEM,$before,$after" >"$res/memory_redis.csv"
	stop_pid "$RPID"
}

# ---- mpstore ----
mps_start() { # MODE -> sets MURL, MPID
	local mode=$1 dir
	dir=$(mktemp -d "$tmp/mpstored-$mode.XXXX")
	MURL=ipc://$dir/rep.ipc
	"${SRV[@]}" "$MPSTORED" --listen "$MURL" --pub "ipc://$dir/pub.ipc" \
		--db "$dir/mpstore.db" --durability "$mode" >"$dir/mpstored.log" 2>&1 &
	MPID=$!
	pids+=("$MPID")
	for _ in $(seq 100); do
		timeout 5 "$BENCH" --url "$MURL" -c 1 -n 1 -t ping --timeout 1000 >/dev/null 2>&1 && return 0
		kill -0 "$MPID" 2>/dev/null || break
		sleep 0.1
	done
	log "mpstored ($mode) did not start: $(tail -3 "$dir/mpstored.log")"; return 1
}

# mps_run MODE FILE ARGS...: one mpstore-bench run on a fresh daemon (a
# failed or hung run must not spoil the next one); MPS_PIN=0: unpinned client
mps_run() {
	local mode=$1 out=$2; shift 2
	local pinned=("${CLI_PIN[@]}")
	[ "${MPS_PIN:-1}" = 0 ] && pinned=()
	mps_start "$mode" || return
	log "mpstore $mode $*"
	local v0 i0 r0
	if [ -n "${MPS_CTX:-}" ]; then
		v0=$(stat_of "$MURL" ctx_switches_voluntary)
		i0=$(stat_of "$MURL" ctx_switches_involuntary)
		r0=$(stat_of "$MURL" requests)
	fi
	if ! timeout $TMO "${pinned[@]}" "$BENCH" --url "$MURL" --csv "$@" >"$out" 2>"$out.err"; then
		log "mpstore-bench $* failed: $(head -c 300 "$out.err")"
		{
			echo "- \`mpstored --durability $mode\` + \`mpstore-bench $*\`:"
			sed 's/^/    /' "$out.err" | head -5
		} >>"$res/failures.txt"
	fi
	if [ -n "${MPS_CTX:-}" ]; then
		# the daemon's context switches per request during the run
		echo "voluntary,involuntary,requests" >"$MPS_CTX"
		echo "$(($(stat_of "$MURL" ctx_switches_voluntary) - v0)),$(($(stat_of "$MURL" ctx_switches_involuntary) - i0)),$(($(stat_of "$MURL" requests) - r0))" >>"$MPS_CTX"
	fi
	stop_pid "$MPID"
}

mps_one() { # MODE C P: the mpstore-bench run matching redis_one
	local mode=$1 c=$2 p=$3 n=$N_MPS tests=incr,append,dset extra=()
	[ "$p" -gt 1 ] && n=$N_MPS_P
	[ "$mode" = memory ] && [ "$p" = 1 ] && tests=incr,append,dset,dget,qput,qget,txn
	# one client, one op at a time: a thread making blocking calls, what a
	# Manager user's loop does (libmpstore writes and reads on that thread)
	[ "$c" = 1 ] && [ "$p" = 1 ] && extra=(--sync)
	MPS_CTX=$res/mpstore_${mode}_c${c}_P${p}$RSUF.ctx \
		mps_run "$mode" "$res/mpstore_${mode}_c${c}_P${p}$RSUF.csv" -c "$c" -P "$p" -n "$n" \
		-t "$tests" "${extra[@]}"
}

# stat_of URL KEY: one line of the daemon's OP_STATS
stat_of() {
	"$CLI" --url "$1" stats 2>/dev/null | sed -n "s/^$2=//p"
}

# ---- run everything ----
log "results in $res"
{
	echo "date=$(date -u +%Y-%m-%dT%H:%MZ)"
	echo "nproc=$(nproc)"
	echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
	echo "mem=$(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
	echo "kernel=$(uname -r)"
	echo "redis=$(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/')"
	echo "python=$(python3 -c 'import sys; print(sys.version.split()[0])')"
	echo "nng=$(grep -h 'define NNG_\(MAJOR\|MINOR\|PATCH\)_VERSION' /usr/include/nng/nng.h | awk '{printf "%s%s", s, $3; s="."}')"
	echo "quick=$quick"
	echo "pinned=$pin"
} >"$res/machine.txt"

# echo_round: the bare nng ceiling, the echo server pinned like the others
echo_round() {
	local edir EURL EPID c
	edir=$(mktemp -d "$tmp/echo.XXXX")
	EURL=ipc://$edir/echo.ipc
	"${SRV[@]}" "$ECHO" --server "$EURL" &
	EPID=$!
	pids+=("$EPID")
	sleep 0.3
	log "echo ceiling"
	# -c 1 ctx: one request at a time, the next sent from the reply callback,
	# as mpstore-bench drives libmpstore; seq: a thread waiting on each reply
	timeout $TMO "${CLI_PIN[@]}" "$ECHO" --url "$EURL" -c 1 -m seq,ctx -n "$N_ECHO" --csv \
		>"$res/echo_c1_P1$RSUF.csv"
	for c in 10 50; do
		timeout $TMO "${CLI_PIN[@]}" "$ECHO" --url "$EURL" -c $c -m ctx,threads -n "$N_ECHO" \
			--csv >"$res/echo_c${c}_P1$RSUF.csv"
	done
	timeout $TMO "${CLI_PIN[@]}" "$ECHO" --url "$EURL" -c 50 -P 16 -m ctx -n "$N_MPS_P" --csv \
		>"$res/echo_c50_P16$RSUF.csv"
	stop_pid "$EPID"
	# mpstored's own transport (daemon/net on libuv) and a bare epoll loop,
	# echoing to clients that speak SP on plain sockets (bench/sp_echo.c)
	local srv
	for srv in uv epoll; do
		"${SRV[@]}" "$SPECHO" --server $srv "ipc://$edir/sp-$srv.ipc" &
		EPID=$!
		pids+=("$EPID")
		sleep 0.3
		log "sp echo ($srv)"
		# -c 1: one request at a time; -c 50: as mpstore-bench -c 50 drives
		# libmpstore, 50 requests in flight on one connection
		timeout $TMO "${CLI_PIN[@]}" "$SPECHO" --url "ipc://$edir/sp-$srv.ipc" -c 1 \
			-n "$N_ECHO" --csv --name "sp_$srv" >"$res/specho_${srv}_c1$RSUF.csv"
		timeout $TMO "${CLI_PIN[@]}" "$SPECHO" --url "ipc://$edir/sp-$srv.ipc" -c 1 -P 50 \
			-n "$N_ECHO" --csv --name "sp_$srv" >"$res/specho_${srv}_c50$RSUF.csv"
		stop_pid "$EPID"
	done
}

# each round: the echo, then each configuration: Redis, then mpstore with
# the matching durability
for r in $(seq "$rounds"); do
	RSUF=
	[ "$rounds" -gt 1 ] && RSUF=_r$r
	log "round $r of $rounds"
	echo_round
	for pair in "none memory" "everysec log" "always fsync"; do
		set -- $pair
		rmode=$1 mmode=$2
		for cp in "1 1" "10 1" "50 1" "50 16"; do
			set -- $cp
			[ "$rmode" != none ] && [ "$1" = 10 ] && continue
			redis_one "$rmode" "$1" "$2"
			mps_one "$mmode" "$1" "$2"
		done
	done
done
if [ $both = 1 ] && [ $pin = 1 ]; then
	log "unpinned round of the target configurations"
	SRV_SAVED=("${SRV[@]}")
	CLI_SAVED=("${CLI_PIN[@]}")
	SRV=()
	CLI_PIN=()
	RSUF=_unpinned
	echo_round
	for cp in "1 1" "50 1" "50 16"; do
		set -- $cp
		redis_one none "$1" "$2"
		mps_one memory "$1" "$2"
	done
	SRV=("${SRV_SAVED[@]}")
	CLI_PIN=("${CLI_SAVED[@]}")
fi
RSUF=
redis_memory

log "50 threads making blocking calls on one handle, coalesced or not"
mps_run memory "$res/mpstore_memory_calls50.csv" -c 50 -n "$N_MPS" --calls -t incr,dset,dget
export MPSTORE_COALESCE=0
mps_run memory "$res/mpstore_memory_calls50_nocoal.csv" -c 50 -n "$N_MPS" --calls \
	-t incr,dset,dget
unset MPSTORE_COALESCE

log "mpstore --procs (Manager-like clients)"
for c in 1 4; do
	MPS_PIN=0 mps_run memory "$res/mpstore_memory_procs${c}.csv" --procs -c $c -n "$N_MPS" \
		-t incr,append,dset,dget,qput,qget
	# the same processes, 16 ops per request (a Manager proxy cannot batch)
	MPS_PIN=0 mps_run memory "$res/mpstore_memory_procs${c}_P16.csv" --procs -c $c -P 16 \
		-n "$N_MPS_P" \
		-t incr,append,dset,dget,qput,qget
	# dict reads from a local mirror in each process (no request per read)
	MPS_PIN=0 mps_run memory "$res/mpstore_memory_procs${c}_mdget.csv" --procs -c $c \
		-n $((N_MPS_P * 4)) -t mdget
done

log "scaling"
for s in $SCALE; do
	mps_run memory "$res/mpstore_scale_${s}.csv" -c 50 -n "$N_MPS" --prefill "$s" \
		-t dset,dget,append,qput,qget
done

log "snapshot and recovery time"
CLI=$build/clients/cli/mpstore
if [ -x "$CLI" ]; then
	echo "elements,snapshot_s,restart_s" >"$res/recovery.csv"
	for s in $SCALE; do
		rdir=$(mktemp -d "$tmp/recovery.XXXX")
		start_in() {
			"$MPSTORED" --listen "ipc://$rdir/rep.ipc" --pub "ipc://$rdir/pub.ipc" \
				--db "$rdir/mpstore.db" --durability log >>"$rdir/mpstored.log" 2>&1 &
			MPID=$!
			pids+=("$MPID")
		}
		wait_ready() {
			for _ in $(seq 6000); do
				"$CLI" --url "ipc://$rdir/rep.ipc" ls >/dev/null 2>&1 && return 0
				kill -0 "$MPID" 2>/dev/null || return 1
				sleep 0.05
			done
			return 1
		}
		start_in
		wait_ready || { log "recovery: daemon did not start"; continue; }
		timeout $TMO "$BENCH" --url "ipc://$rdir/rep.ipc" -c 1 -n 1 -t dset --prefill "$s" \
			--keep >/dev/null 2>&1
		t0=$(date +%s.%N)
		timeout $TMO "$CLI" --url "ipc://$rdir/rep.ipc" snapshot >/dev/null 2>&1
		t1=$(date +%s.%N)
		stop_pid "$MPID"
		t2=$(date +%s.%N)
		start_in
		wait_ready
		t3=$(date +%s.%N)
		stop_pid "$MPID"
		python3 -c "print(\"%s,%.3f,%.3f\" % ($s, $t1 - $t0, $t3 - $t2))" >>"$res/recovery.csv"
		rm -rf "$rdir"
	done
fi

log "memory"
mps_start memory && {
	timeout $TMO "$BENCH" --url "$MURL" --memory "$N_MEM" --pid "$MPID" --csv \
		>"$res/memory_mpstore.csv" 2>"$res/memory_mpstore.err"
	stop_pid "$MPID"
}

log "Python Manager"
for p in 1 4; do
	timeout $TMO python3 "$here/manager_bench.py" -p $p -n "$N_MGR" \
		-t incr,append,dset,dget,qput,qget >"$res/manager_p${p}.csv"
done
for p in 10 50; do
	timeout $TMO python3 "$here/manager_bench.py" -p $p -n "$N_MGR" -t incr,append,dset \
		>"$res/manager_p${p}.csv"
done

log "Python: mpstore.Manager() (clients/python)"
# fork, Linux's default start method and the one Manager programs use
PYPKG=$build/clients/python
if [ -f "$PYPKG/mpstore/__init__.py" ]; then
	for p in 1 4; do
		MPSTORED=$MPSTORED PYTHONPATH=$PYPKG timeout $TMO python3 "$here/manager_bench.py" \
			--manager mpstore --start-method fork -p $p -n "$N_MGR" \
			-t incr,incr_add,append,dset,dget,qput,qget,append_batch,dset_batch,qput_batch,mdget \
			>"$res/mpstore_py_p${p}.csv"
	done
else
	log "clients/python not built (python3-dev missing?): skipped"
fi

log "report"
if [ $docs = 1 ]; then
	python3 "$here/perf_report.py" "$res" "$root/docs/performance.md" "$res/perf-clients.dat"
	if command -v gnuplot >/dev/null && [ -s "$res/perf-clients.dat" ]; then
		gnuplot -e "datafile='$res/perf-clients.dat'; outfile='$root/docs/perf-clients.svg'" \
			"$here/plot.gnuplot" && log "wrote docs/perf-clients.svg"
	fi
else
	python3 "$here/perf_report.py" "$res" - /dev/null
fi
