#!/bin/sh
# CLI test: every command's output and exit status against a fresh daemon
# (run by client_cli_run, which sets $MPSTORE and $MPSTORE_URL).
set -u
M="$MPSTORE"
fails=0

# expect STATUS EXPECTED_STDOUT -- ARGS...
expect() {
	want_rc=$1; want_out=$2; shift 3
	out=$("$M" "$@" 2>/tmp/cli_err.$$); rc=$?
	if [ "$rc" != "$want_rc" ] || [ "$out" != "$want_out" ]; then
		echo "FAIL: mpstore $*: rc=$rc (want $want_rc) out=[$out] (want [$want_out]) err=[$(cat /tmp/cli_err.$$)]"
		fails=$((fails + 1))
	fi
}
# expect_err STATUS ERRNAME -- ARGS...: one line "mpstore: ERRNAME: ..." on stderr
expect_err() {
	want_rc=$1; want_name=$2; shift 3
	"$M" "$@" >/dev/null 2>/tmp/cli_err.$$; rc=$?
	lines=$(wc -l < /tmp/cli_err.$$)
	if [ "$rc" != "$want_rc" ] || ! grep -q "^mpstore: $want_name: " /tmp/cli_err.$$ || [ "$lines" != 1 ]; then
		echo "FAIL: mpstore $*: rc=$rc (want $want_rc) err=[$(cat /tmp/cli_err.$$)] (want $want_name)"
		fails=$((fails + 1))
	fi
}

# counters and values
expect 0 "" -- create hits counter
expect 0 "1" -- incr hits
expect 0 "6" -- incr hits 5
expect 0 "6" -- get hits
expect 0 "" -- set hits 42
expect 0 "42" -- get hits
expect_err 1 ERR_WRONG_TYPE -- set hits '"text"'
expect 0 "" -- create v value
expect 0 "" -- set v hello
expect 0 '"hello"' -- get v
expect 0 "" -- set v 1.5
expect 0 "1.5" -- get v
expect 0 "" -- set v null
expect 0 "null" -- get v

# lists
expect 0 "" -- create jobs list
expect 0 "" -- append jobs 1 2.5 '"three"' true four
expect 0 '[1, 2.5, "three", true, "four"]' -- get jobs
expect 0 "5" -- len jobs
expect 0 '"three"' -- get jobs 2
expect 0 '"four"' -- get jobs -1
expect 0 "" -- set jobs 0 100
expect 0 '"four"' -- pop jobs
expect 0 "100" -- pop jobs 0
expect 0 '[2.5, "three", true]' -- get jobs
expect 0 "" -- del jobs 0
expect 0 '["three", true]' -- get jobs
expect_err 1 ERR_INDEX -- get jobs 10
expect 0 "" -- create ints list int64
expect_err 1 ERR_WRONG_TYPE -- append ints x
expect_err 1 ERR_WRONG_KIND -- incr jobs

# dicts
expect 0 "" -- create d dict
expect 0 "" -- set d name '"Ann"'
expect 0 "" -- set d age 41
expect 0 '"Ann"' -- get d name
expect 0 '{"name": "Ann", "age": 41}' -- get d
expect 0 '["name", "age"]' -- keys d
expect 0 "2" -- len d
expect 0 "true" -- contains d age
expect 0 "41" -- pop d age
expect 0 "" -- del d name
expect 0 "{}" -- get d
expect_err 1 ERR_NO_KEY -- get d nope
expect 0 "" -- create di dict --key-type int64
expect 0 "" -- set di 7 seven
expect 0 '{"7": "seven"}' -- get di
expect_err 2 ERR_INVALID -- get di notanint

# info and ls
expect 0 '{"name": "d", "kind": "dict", "type": "any", "key_type": "string", "length": 0, "revision": '"$("$M" info d | sed 's/.*"revision": \([0-9]*\).*/\1/')"', "capacity": 0}' -- info d
"$M" ls | grep -q "^jobs	list	any	2	" || { echo "FAIL: ls"; fails=$((fails + 1)); }

# queue
expect 0 "" -- create q queue --maxsize 2
expect 0 "" -- put q 1
expect 0 "" -- put q '"two"'
expect_err 1 ERR_FULL -- put q 3 --timeout 0
expect 0 "1" -- get q
expect 0 '"two"' -- get q --timeout 1
expect_err 3 ERR_TIMEOUT -- get q --timeout 0.2
expect_err 1 ERR_EMPTY -- get q --timeout 0

# events, barriers, conditions
expect 0 "" -- create e event
expect 0 "false" -- get e
expect_err 3 ERR_TIMEOUT -- wait e --timeout 0.1
expect 0 "" -- set-event e
expect 0 "" -- wait e --timeout 1
expect 0 "true" -- get e
expect 0 "" -- clear-event e
expect 0 "" -- create b barrier --parties 1
expect 0 "0" -- wait b --timeout 1
expect 0 "" -- create cv condition
expect 0 "0" -- notify cv
expect 0 "0" -- notify cv all

# with-lock
expect 0 "" -- create L lock
expect 0 "inside" -- with-lock L -- echo inside
expect 7 "" -- with-lock L -- sh -c 'exit 7'
expect 0 '{"locked": false, "token": 0}' -- get L
# the lock is held while the command runs: a second with-lock must time out
# (told by state: the command runs until we let it end)
d=${MPSTORED_DIR:-/tmp}/cli_basic.$$
"$M" with-lock L -- sh -c 'touch "$1.held"; while [ ! -e "$1.done" ]; do sleep 0.05; done' sh "$d" &
n=0
while [ ! -e "$d.held" ] && [ $n -lt 1200 ]; do sleep 0.05; n=$((n + 1)); done
expect_err 3 ERR_TIMEOUT -- with-lock L --timeout 0.2 -- true
touch "$d.done"
wait
rm -f "$d.held" "$d.done"

# transactions
expect 0 "" -- create x counter
expect 0 "" -- set x 5
expect 0 '{"succeeded": true, "revision": '"$(( $("$M" info x | sed 's/.*"revision": \([0-9]*\).*/\1/') + 1 ))"', "results": [null]}' -- txn --if 'x == 5' --then 'set x 6' --else 'get x'
expect 0 "6" -- get x
"$M" txn --if 'x == 5' --then 'set x 7' --else 'get x' | grep -q '"succeeded": false, .*"results": \[6\]' || { echo "FAIL: txn else"; fails=$((fails + 1)); }
"$M" txn --if 'exists x' --if 'len jobs == 2' --if 'd[missing] == null' --then 'incr x' --then 'append jobs 9' | grep -q '"succeeded": true, .*"results": \[7, null\]' || { echo "FAIL: txn multi"; fails=$((fails + 1)); }
expect_err 2 ERR_INVALID -- txn --if 'x ~ 5' --then 'get x'

# admin
"$M" snapshot | grep -q '^[0-9][0-9]*$' || { echo "FAIL: snapshot"; fails=$((fails + 1)); }
"$M" stats >/dev/null || { echo "FAIL: stats"; fails=$((fails + 1)); }
expect 0 "" -- del x
expect_err 1 ERR_NOT_FOUND -- get x

# usage and connection errors
expect_err 2 ERR_INVALID -- frobnicate
expect_err 2 ERR_INVALID -- create y nokind
expect_err 1 ERR_CONNECT -- --url ipc:///nonexistent/x.ipc ls
MPSTORE_URL=ipc:///nonexistent/y.ipc "$M" ls >/dev/null 2>&1 && { echo "FAIL: MPSTORE_URL not used"; fails=$((fails + 1)); }

rm -f /tmp/cli_err.$$
if [ "$fails" -ne 0 ]; then
	echo "$fails failure(s)"
	exit 1
fi
echo "all CLI checks passed"
