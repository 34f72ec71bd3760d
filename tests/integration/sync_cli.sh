#!/bin/sh
# CLI test of the blocking and synchronisation commands (issue 6), run by
# client_cli_run against a fresh daemon ($MPSTORE, $MPSTORE_URL,
# $MPSTORED_DIR set): put/get --timeout, set-event/wait, barrier wait,
# with-lock serialising concurrent shell loops that read-modify-write a file,
# with-lock's exit status, and check-and-set increments with txn.
set -u
M="$MPSTORE"
T="$MPSTORED_DIR/sync_cli.$$"
mkdir -p "$T"
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# ---- queue: put, get, get --timeout on an empty queue ----
"$M" create q queue int64 || fail "create q"
"$M" put q 41 || fail "put q 41"
"$M" put q 42 || fail "put q 42"
out=$("$M" get q --timeout 0.3); [ "$out" = "41" ] || fail "get q: [$out]"
out=$("$M" get q); [ "$out" = "42" ] || fail "get q: [$out]"
t0=$(now_ms)
"$M" get q --timeout 0.3 >/dev/null 2>"$T/err"; rc=$?
ms=$(($(now_ms) - t0))
[ "$rc" = 3 ] || fail "get empty --timeout 0.3: rc $rc (want 3)"
grep -q "^mpstore: ERR_TIMEOUT: " "$T/err" || fail "get empty: stderr [$(cat "$T/err")]"
# it waited (at least its timeout); the upper bound only catches a wait
# that ignores its timeout, and is far above what a loaded machine adds
[ "$ms" -ge 280 ] && [ "$ms" -le 30000 ] || fail "get --timeout 0.3 took $ms ms"
# --timeout 0 never waits: told by state, not time. A get that does not
# wait answers ERR_EMPTY; one that waited and timed out, ERR_TIMEOUT
# (docs/protocol.md section 5)
"$M" get q --timeout 0 >/dev/null 2>"$T/err"; rc=$?
[ "$rc" = 1 ] && grep -q "^mpstore: ERR_EMPTY: " "$T/err" || fail "get --timeout 0: rc $rc [$(cat "$T/err")]"
# a blocked get is answered by a put from another process
("$M" get q --timeout 60 > "$T/got"; echo $? > "$T/got.rc") &
sleep 0.3
"$M" put q 7 || fail "put q 7"
wait
[ "$(cat "$T/got.rc")" = 0 ] && [ "$(cat "$T/got")" = 7 ] || fail "blocked get: rc $(cat "$T/got.rc") out [$(cat "$T/got")]"
"$M" put q '"text"' 2>/dev/null; [ $? = 1 ] || fail "put of a string into an int64 queue"

# ---- events ----
"$M" create ev event || fail "create ev"
t0=$(now_ms)
"$M" wait ev --timeout 0.3 2>/dev/null; rc=$?
ms=$(($(now_ms) - t0))
[ "$rc" = 3 ] || fail "wait unset event: rc $rc"
[ "$ms" -ge 280 ] && [ "$ms" -le 30000 ] || fail "wait --timeout 0.3 took $ms ms"
("$M" wait ev --timeout 60; echo $? > "$T/ev.rc") &
("$M" wait ev --timeout 60; echo $? > "$T/ev2.rc") &
sleep 0.3
"$M" set-event ev || fail "set-event"
wait
[ "$(cat "$T/ev.rc")" = 0 ] && [ "$(cat "$T/ev2.rc")" = 0 ] || fail "wait ev: rc $(cat "$T/ev.rc") $(cat "$T/ev2.rc")"
"$M" wait ev --timeout 1 || fail "wait on a set event"
out=$("$M" get ev); [ "$out" = "true" ] || fail "get ev: [$out]"

# ---- barrier of 3 ----
"$M" create bar barrier --parties 3 || fail "create bar"
for i in 1 2 3; do
	("$M" wait bar --timeout 120 > "$T/bar.$i"; echo $? > "$T/bar.$i.rc") &
	sleep 0.1
done
wait
idx=$(cat "$T/bar.1" "$T/bar.2" "$T/bar.3" | sort -n | tr '\n' ' ')
[ "$idx" = "0 1 2 " ] || fail "barrier indexes [$idx]"
for i in 1 2 3; do [ "$(cat "$T/bar.$i.rc")" = 0 ] || fail "barrier wait $i rc $(cat "$T/bar.$i.rc")"; done
"$M" wait bar --timeout 0.2 2>"$T/err"; rc=$?
[ "$rc" = 1 ] && grep -q "^mpstore: ERR_BROKEN: " "$T/err" || fail "lone barrier wait: rc $rc [$(cat "$T/err")]"

# ---- with-lock: N concurrent loops, read-modify-write of a file ----
"$M" create L lock || fail "create L"
echo 0 > "$T/counter"
N=5
ITER=20
for p in $(seq 1 $N); do
	(
		i=0
		while [ $i -lt $ITER ]; do
			"$M" with-lock L --timeout 120 -- sh -c 'n=$(cat "$1"); sleep 0.005; echo $((n + 1)) > "$1"' sh "$T/counter" ||
				echo "with-lock failed in loop $p" >> "$T/loop.err"
			i=$((i + 1))
		done
	) &
done
wait
[ ! -s "$T/loop.err" ] || fail "$(cat "$T/loop.err")"
[ "$(cat "$T/counter")" = $((N * ITER)) ] || fail "counter file: $(cat "$T/counter"), want $((N * ITER))"
out=$("$M" get L); [ "$out" = '{"locked": false, "token": '"$(echo "$out" | sed 's/.*"token": \([0-9]*\).*/\1/')"'}' ] || fail "L after loops: $out"
# exit status: the command's
"$M" with-lock L --timeout 60 -- sh -c 'exit 5'; rc=$?
[ "$rc" = 5 ] || fail "with-lock exit status $rc, want 5"
"$M" with-lock L --timeout 60 -- sh -c 'kill -9 $$'; rc=$?
[ "$rc" = 137 ] || fail "with-lock of a killed command: $rc, want 137"
"$M" with-lock L --timeout 60 -- true || fail "with-lock after a killed command (lock left held?)"
# a with-lock killed with SIGKILL: the lock is free again at once (ipc close)
# (its command lives on, orphaned: it is killed too, or it would hold our
# output pipe open)
"$M" with-lock L -- sh -c 'echo $$ > "$1.tmp"; mv "$1.tmp" "$1"; exec sleep 30' sh "$T/cmd.pid" >/dev/null 2>&1 &
wl=$!
# held once its command runs (state, not a sleep)
n=0
while [ ! -s "$T/cmd.pid" ] && [ $n -lt 1200 ]; do sleep 0.05; n=$((n + 1)); done
kill -9 $wl
wait $wl 2>/dev/null
kill "$(cat "$T/cmd.pid")" 2>/dev/null
# freed when its connection closed, not when its lease (10 s, pinged every
# lease/3) ran out: that is at least 6.6 s after the kill, so a 5 s wait
# tells the two apart without a tight bound
"$M" with-lock L --timeout 5 -- true || fail "lock not released after with-lock was killed"

# ---- semaphore as a with-lock: at most 2 at once ----
"$M" create S semaphore --value 2 || fail "create S"
echo 0 > "$T/inside"; echo 0 > "$T/max"
for p in 1 2 3 4 5 6; do
	"$M" with-lock S --timeout 120 -- sh -c '
		"$0" with-lock L --timeout 120 -- sh -c "n=\$(cat $1); n=\$((n + 1)); echo \$n > $1; m=\$(cat $2); [ \$n -gt \$m ] && echo \$n > $2; true"
		sleep 0.1
		"$0" with-lock L --timeout 120 -- sh -c "n=\$(cat $1); echo \$((n - 1)) > $1"' "$M" "$T/inside" "$T/max" &
done
wait
[ "$(cat "$T/max")" -le 2 ] && [ "$(cat "$T/max")" -ge 1 ] || fail "semaphore of 2: max inside $(cat "$T/max")"
[ "$(cat "$T/inside")" = 0 ] || fail "inside at the end $(cat "$T/inside")"
out=$("$M" get S); [ "$out" = 2 ] || fail "semaphore value after: $out"

# ---- txn: concurrent check-and-set increments from shell loops ----
"$M" create x counter || fail "create x"
P=4
K=15
for p in $(seq 1 $P); do
	(
		done_=0
		while [ $done_ -lt $K ]; do
			v=$("$M" get x)
			r=$("$M" txn --if "x == $v" --then "set x $((v + 1))")
			case "$r" in
			*'"succeeded": true'*) done_=$((done_ + 1)) ;;
			*'"succeeded": false'*) ;;
			*) echo "txn: [$r]" >> "$T/txn.err"; break ;;
			esac
		done
	) &
done
wait
[ ! -s "$T/txn.err" ] || fail "$(cat "$T/txn.err")"
out=$("$M" get x); [ "$out" = $((P * K)) ] || fail "txn counter $out, want $((P * K))"
# a failed guard applies nothing; the else branch is applied
"$M" create y counter
out=$("$M" txn --if "x == -1" --then "set y 1" --else "incr y 10")
case "$out" in *'"succeeded": false'*'[10]'*) ;; *) fail "else branch: $out" ;; esac
out=$("$M" get y); [ "$out" = 10 ] || fail "y after else: $out"
# a failing op applies nothing
"$M" create emptyl list
out=$("$M" txn --then "set y 99" --then "pop emptyl" 2>"$T/err"); rc=$?
[ "$rc" != 0 ] || fail "txn with a failing op: rc 0 [$out]"
out=$("$M" get y); [ "$out" = 10 ] || fail "y after a failed txn: $out"

# with-lock on a name that does not exist creates a lock (like flock(1))
out=$("$M" with-lock fresh.lock --timeout 30 -- echo held) || fail "with-lock on a new name"
[ "$out" = held ] || fail "with-lock on a new name: [$out]"
"$M" info fresh.lock | grep -q '"kind": *"lock"' || fail "fresh.lock is not a lock: $("$M" info fresh.lock)"

rm -rf "$T"
if [ "$fails" != 0 ]; then
	echo "$fails failure(s)"
	exit 1
fi
echo "sync_cli: all passed"
