#!/bin/sh
# CLI test of what a newcomer meets (issue 15), run by client_cli_run
# against a fresh daemon ($MPSTORE, $MPSTORE_URL, $MPSTORED_DIR set):
# values refused instead of coerced, Python's defaults and named missing
# flags, suggestions for mistyped words, per-command help, options checked
# per command, and the commands that undo: acquire/release (a background
# holder released by fencing token or by its shell's exit), task-done,
# join, reset, abort.
set -u
M="$MPSTORE"
T="$MPSTORED_DIR/newcomer.$$"
mkdir -p "$T"
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# expect STATUS EXPECTED_STDOUT -- ARGS...
expect() {
	want_rc=$1; want_out=$2; shift 3
	out=$("$M" "$@" 2>"$T/err"); rc=$?
	[ "$rc" = "$want_rc" ] && [ "$out" = "$want_out" ] ||
		fail "mpstore $*: rc=$rc (want $want_rc) out=[$out] (want [$want_out]) err=[$(cat "$T/err")]"
}
# refused STATUS 'TEXT ON STDERR' -- ARGS...: one line, naming the error
refused() {
	want_rc=$1; want_err=$2; shift 3
	"$M" "$@" >"$T/out" 2>"$T/err"; rc=$?
	[ "$rc" = "$want_rc" ] && [ "$(wc -l < "$T/err")" = 1 ] && grep -qF -- "$want_err" "$T/err" ||
		fail "mpstore $*: rc=$rc (want $want_rc) err=[$(cat "$T/err")] (want [$want_err])"
}

# ---- values: stored as what they are, or refused with a hint ----
"$M" create v value || fail "create v"
"$M" create l list || fail "create l"
refused 2 "a JSON object is not one value" -- set v '{"a": 1}'
grep -qF "a dict (create NAME dict" "$T/err" || fail "object hint: $(cat "$T/err")"
refused 2 "a JSON array is not one value" -- append l '[1, 2]'
refused 2 "a JSON object is not one value" -- append l '{"x":1}'
expect 0 "[]" -- get l
refused 2 "did you mean true?" -- set v True
refused 2 "did you mean false?" -- append l FALSE
refused 2 "did you mean null?" -- set v None
refused 2 "beyond int64" -- set v 12345678901234567890
refused 2 "beyond int64" -- append l -9223372036854775809
refused 2 "did you mean 5?" -- set v +5
refused 2 "did you mean 0.5?" -- set v .5
refused 2 "not a valid JSON string" -- set v '"unterminated'
refused 2 '{"$bytes": "<base64>"}' -- set v '{"$bytes": "***"}'
expect 0 "" -- set v 9223372036854775807
expect 0 "9223372036854775807" -- get v
expect 0 "" -- set v 12345678901234567890.0
expect 0 "1.2345678901234567e+19" -- get v
expect 0 "" -- set v 1e3
expect 0 "1000.0" -- get v
expect 0 "" -- set v '"True"'
expect 0 '"True"' -- get v
expect 0 "" -- set v hello
expect 0 '"hello"' -- get v
expect 0 "" -- set v '{"$bytes": "aGk="}'
expect 0 '{"$bytes": "aGk="}' -- get v
"$M" get v | grep -q '^{"\$bytes": "aGk="}$' || fail "bytes spacing"
# the list still holds nothing refused
expect 0 "[]" -- get l

# ---- create: Python's defaults, named flags, suggestions ----
expect 0 "" -- create s semaphore
expect 0 "1" -- get s
expect 0 "" -- create bs bounded-semaphore
expect 0 "1" -- get bs
expect 0 "" -- create s0 semaphore --value 0
expect 0 "0" -- get s0
refused 2 "barrier needs --parties N" -- create b barrier
refused 2 "array needs a TYPE" -- create a array
refused 2 "--parties does not apply to a queue; it takes --maxsize N" -- create q queue --parties 3
refused 2 "--maxsize does not apply to a lock" -- create lk lock --maxsize 3
refused 2 "--key-type applies to dicts only" -- create l2 list --key-type int64
refused 2 "did you mean int64?" -- create nums list integer
refused 2 "did you mean double?" -- create f list float
refused 2 "did you mean list?" -- create x lsit
refused 2 "did you mean dict?" -- create x map
expect 0 "" -- create hits counter --value 10
expect 0 "11" -- incr hits

# ---- mistyped commands and options ----
refused 2 "unknown command gte: did you mean get?" -- gte v
refused 2 "did you mean incr?" -- inc hits
refused 2 "did you mean task-done?" -- task_done q
refused 2 "unknown option --timout: did you mean --timeout?" -- get v --timout 1
refused 2 "get does not take --parties" -- get v --parties 2
refused 2 "ls does not take --declared" -- ls --declared

# ---- help: global, per command, for every command of the table ----
"$M" help >"$T/help" 2>&1 || fail "help: $(cat "$T/help")"
"$M" --help >"$T/help2" 2>&1 || fail "--help"
cmp -s "$T/help" "$T/help2" || fail "help and --help differ"
for want in "notify CONDITION [N|all] [--timeout S]" "put QUEUE VALUE [--timeout S]" \
	"wait EVENT|BARRIER [--timeout S]" "with-lock LOCK [--timeout S] -- COMMAND..." \
	"register-schema FILE.pb [--declared]" "watch NAME|PREFIX*" "task-done QUEUE" "release LOCK"; do
	grep -qF -- "$want" "$T/help" || fail "global help lacks [$want]"
done
cmds=$(sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p; s/^  \([a-z][a-z-]*\)$/\1/p' "$T/help" | sort -u)
[ "$(echo "$cmds" | wc -l)" -ge 30 ] || fail "global help lists only: $cmds"
for c in $cmds; do
	"$M" help "$c" >"$T/h1" 2>&1; rc1=$?
	"$M" "$c" --help >"$T/h2" 2>&1; rc2=$?
	[ "$rc1" = 0 ] && [ "$rc2" = 0 ] || fail "help $c: rc $rc1/$rc2"
	grep -q "^usage: mpstore $c" "$T/h1" || fail "help $c: no usage line: $(head -2 "$T/h1")"
	grep -q "^examples:" "$T/h1" && grep -q "^  mpstore $c" "$T/h1" || fail "help $c: no example"
	cmp -s "$T/h1" "$T/h2" || fail "help $c and $c --help differ"
done
refused 2 "did you mean watch?" -- help wtach
# --help never needs the daemon
MPSTORE_URL=ipc:///nonexistent/x.ipc "$M" get --help >/dev/null || fail "get --help connected"
# no command and no terminal: the usage, status 2
"$M" </dev/null >/dev/null 2>"$T/err"; [ $? = 2 ] && grep -q "^usage: mpstore" "$T/err" || fail "bare mpstore"

# ---- queues: task-done and join ----
expect 0 "" -- create q queue --maxsize 5
expect 0 "" -- put q 1
expect 0 "" -- put q 2
refused 3 "ERR_TIMEOUT" -- join q --timeout 0
expect 0 "1" -- get q
expect 0 "2" -- get q
expect 0 "1" -- task-done q
refused 1 "ERR_INVALID" -- task-done q 2
expect 0 "0" -- task-done q
expect 0 "" -- join q --timeout 0
refused 1 "ERR_INVALID" -- task-done q

# ---- barriers: a broken one is reset, an aborted one fails ----
expect 0 "" -- create bar barrier --parties 2
refused 1 "mpstore reset bar" -- wait bar --timeout 0
expect 0 '{"parties": 2, "waiting": 0, "broken": true}' -- get bar
expect 0 "" -- reset bar
expect 0 '{"parties": 2, "waiting": 0, "broken": false}' -- get bar
expect 0 "" -- abort bar
refused 1 "ERR_BROKEN" -- wait bar --timeout 5
expect 0 "" -- reset bar
("$M" wait bar --timeout 10 >"$T/bar1"; echo $? >"$T/bar1.rc") &
"$M" wait bar --timeout 10 >"$T/bar2" || fail "barrier of 2 after reset"
wait
[ "$(cat "$T/bar1.rc")" = 0 ] || fail "barrier first wait: $(cat "$T/bar1.rc")"

# ---- acquire / release across invocations ----
expect 0 "" -- create L lock
tok=$("$M" acquire L --timeout 5) || fail "acquire L"
case "$tok" in '' | *[!0-9]*) fail "acquire printed [$tok]" ;; esac
expect 0 "{\"locked\": true, \"token\": $tok}" -- get L
refused 3 "ERR_TIMEOUT" -- acquire L --timeout 0.2
refused 3 "ERR_TIMEOUT" -- with-lock L --timeout 0 -- true
refused 2 "needs its fencing token" -- release L
refused 1 "ERR_NOT_OWNER" -- release L --token $((tok + 1))
expect 0 "" -- release L --token "$tok"
# the released lock is free at once for others (the holder leaves by itself)
expect 0 "inside" -- with-lock L --timeout 5 -- echo inside
refused 1 "ERR_NOT_OWNER" -- release L --token "$tok"
# a holder goes when the shell that ran acquire exits
sh -c '"$1" acquire L --timeout 5 > "$2"' sh "$M" "$T/tok2" || fail "acquire in a subshell"
tok2=$(cat "$T/tok2")
[ -n "$tok2" ] && [ "$tok2" -gt "$tok" ] || fail "second token [$tok2] after [$tok]"
"$M" acquire L --timeout 10 -- echo free-again >"$T/out" 2>"$T/err" || fail "lock of an exited shell: $(cat "$T/err")"
[ "$(cat "$T/out")" = free-again ] || fail "acquire -- echo: [$(cat "$T/out")]"
# semaphores: units by command; release adds units as in Python
expect 0 "" -- create S semaphore --value 0
refused 2 "interactive mode" -- acquire S
expect 0 "2" -- release S 2
expect 0 "ok" -- acquire S --timeout 1 -- echo ok
expect 0 "2" -- get S
refused 2 "have no token" -- release S --token 1
refused 1 "ERR_WRONG_KIND" -- release q

# ---- smaller paper cuts ----
expect 0 "" -- create jobs list
expect 0 "" -- append jobs 1 2
refused 1 "jobs has no index 99 (length 2)" -- del jobs 99
expect 0 "" -- create c counter
"$M" ls | grep -q "^c	value	int64	1	" || fail "ls of a counter: $("$M" ls | grep '^c	')"
refused 1 "ERR_WRONG_TYPE" -- incr c 1.5

rm -rf "$T"
if [ "$fails" -ne 0 ]; then
	echo "$fails failure(s)"
	exit 1
fi
echo "cli_newcomer: all passed"
