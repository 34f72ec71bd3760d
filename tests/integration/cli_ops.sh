#!/bin/sh
# CLI test of the operator's commands (issue 15), run by client_cli_run
# against a fresh daemon ($MPSTORE, $MPSTORE_URL, $MPSTORED_DIR set):
# info by sections, one section, per-container memory; clients with names
# and what they hold; holders and waiters; monitor; watch decoding every
# kind's state changes.
set -u
M="$MPSTORE"
T="$MPSTORED_DIR/cli_ops.$$"
mkdir -p "$T"
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
# wait (by state, up to a minute) until "$@" succeeds
await() { i=0; until "$@"; do i=$((i + 1)); [ $i -lt 600 ] || return 1; sleep 0.1; done; }

# ---- info ----
"$M" info >"$T/info" || fail "info"
[ "$(grep '^# ' "$T/info" | tr '\n' ' ')" = "# server # clients # memory # persistence # watch # limits " ] ||
	fail "info sections: $(grep '^# ' "$T/info")"
grep -q '^version=mpstored ' "$T/info" && grep -q '^max_clients_used=' "$T/info" || fail "info lines"
out=$("$M" info persistence) || fail "info persistence"
[ "$(echo "$out" | head -1)" = "# persistence" ] && ! echo "$out" | grep -q '^pid=' ||
	fail "info persistence: $out"
"$M" create big list string >/dev/null && "$M" create tiny list >/dev/null || fail "create"
"$M" append big "$(head -c 5000 /dev/zero | tr '\0' x)" >/dev/null || fail "append big"
out=$("$M" info memory --containers) || fail "info memory --containers"
echo "$out" | grep -q '^store_memory=' || fail "memory section: $out"
first=$(echo "$out" | sed -n '/^# containers/{n;p;}')
echo "$first" | grep -q "^big	list	[0-9]*$" || fail "largest first: [$first] in $out"
"$M" info big | grep -q '"kind": "list"' || fail "info NAME still a container's"
"$M" info big --containers >/dev/null 2>&1; [ $? = 2 ] || fail "info NAME --containers"

# ---- clients, holders ----
"$M" create L lock >/dev/null || fail "create L"
tok=$(MPSTORE_CLIENT_NAME=keeper "$M" acquire L --timeout 30) || fail "acquire L"
(MPSTORE_CLIENT_NAME="patient one" "$M" acquire L -- true >"$T/w.out" 2>&1; echo $? >"$T/w.rc") &
has_waiter() { "$M" holders L | grep -q '^waiter '; }
await has_waiter || fail "the waiter never showed"
out=$("$M" holders L) || fail "holders L"
echo "$out" | head -1 | grep -q '^L (lock): 1 holder, 1 waiter$' || fail "holders summary: $out"
echo "$out" | grep -q "^holder id=[0-9]* name=keeper pid=[0-9]* token=$tok depth=1 held=" ||
	fail "holder line: $out"
echo "$out" | grep -q '^waiter id=[0-9]* name="patient one" pid=[0-9]* op=acquire waiting=[0-9.]* timeout=none$' ||
	fail "waiter line: $out"
out=$("$M" clients) || fail "clients"
echo "$out" | grep "name=keeper" | grep -q "holds=L(lock,depth=1,token=$tok)$" || fail "clients keeper: $out"
echo "$out" | grep 'name="patient one"' | grep -q 'parked=1 holds=-$' || fail "clients waiter: $out"
echo "$out" | grep -q '^id=[0-9]* name=mpstore pid=[0-9]* session=[0-9a-f]\{16\} addr=' || fail "clients self: $out"
"$M" release L --token "$tok" >/dev/null || fail "release"
await test -s "$T/w.rc" || fail "the waiter never got L"
[ "$(cat "$T/w.rc")" = 0 ] || fail "waiter: $(cat "$T/w.out")"
"$M" holders nothing >/dev/null 2>&1; [ $? = 1 ] || fail "holders of nothing"

# ---- monitor ----
"$M" monitor >"$T/mon" 2>&1 &
mp=$!
monitoring() { "$M" info clients | grep -q '^monitors=1$'; }
await monitoring || fail "monitor never started"
"$M" append tiny 7 >/dev/null
seen() { grep -q 'list_append "tiny" 7$' "$T/mon"; }
await seen || fail "the monitor never showed the append: $(cat "$T/mon")"
kill $mp
wait $mp 2>/dev/null
grep -q '^[0-9]*\.[0-9]\{6\} \[[0-9]* mpstore [0-9]*\] list_append "tiny" 7$' "$T/mon" ||
	fail "monitor append: $(cat "$T/mon")"
! grep -q ' monitor' "$T/mon" || fail "a monitor's own polls show: $(cat "$T/mon")"
# --count N: N lines, then it ends by itself
"$M" monitor --count 2 >"$T/mon2" 2>&1 &
mp=$!
await monitoring || fail "monitor --count never started"
"$M" len tiny >/dev/null
"$M" len tiny >/dev/null
i=0; while kill -0 $mp 2>/dev/null && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
wait $mp || fail "monitor --count exit status"
[ "$(wc -l <"$T/mon2")" = 2 ] || fail "monitor --count 2: $(cat "$T/mon2")"

# ---- watch: every kind's changes decoded ----
rev=$("$M" info tiny | sed 's/.*"revision": \([0-9]*\).*/\1/')
"$M" create wl lock >/dev/null
"$M" acquire wl -- true >/dev/null
"$M" create ws semaphore --value 2 >/dev/null
"$M" acquire ws -- true >/dev/null
"$M" create we event >/dev/null
"$M" set-event we >/dev/null
"$M" create wb barrier --parties 2 >/dev/null
"$M" abort wb >/dev/null
"$M" create wq queue >/dev/null
"$M" put wq 1 >/dev/null
"$M" task-done wq >/dev/null
"$M" create wc condition >/dev/null
"$M" notify wc >/dev/null
# 16 changes: 3 for the lock, 3 the semaphore, 2 the event and the barrier,
# 3 the queue and the condition (its lock taken and let go around notify)
"$M" watch '*' --from "$((rev + 1))" --count 16 >"$T/watch" 2>&1 || fail "watch"
! grep -q '\$bytes' "$T/watch" || fail "undecoded state: $(grep '\$bytes' "$T/watch")"
grep -q '"name": "wl", "kind": "lock", "op": "state", "state": {"locked": true, "owner": "[0-9a-f]\{16\}", "depth": 1, "token": [0-9]*}' "$T/watch" || fail "lock state: $(cat "$T/watch")"
grep -q '"name": "wl", .*"state": {"locked": false, "owner": null, "depth": 0' "$T/watch" || fail "lock free"
grep -q '"name": "ws", .*"state": {"value": 1, "held": 1}' "$T/watch" || fail "semaphore state"
grep -q '"name": "we", .*"state": {"set": true}' "$T/watch" || fail "event state"
grep -q '"name": "wb", .*"state": {"waiting": 0, "generation": 0, "broken": true}' "$T/watch" || fail "barrier state"
grep -q '"name": "wq", .*"state": {"unfinished": 0}' "$T/watch" || fail "queue state"
grep -q '"name": "wc", "kind": "condition", "op": "state", "state": {"locked": true' "$T/watch" || fail "condition state"

[ $fails = 0 ] && echo "cli_ops: ok"
exit $fails
