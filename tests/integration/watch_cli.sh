#!/bin/sh
# CLI test: mpstore watch prints one JSON line per change (and a resync line),
# stops after --count, reads history with --from (run by client_cli_run).
set -u
M="$MPSTORE"
PUB="ipc://$MPSTORED_DIR/pub.ipc"
OUT="$MPSTORED_DIR/watch.out"
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

"$M" create w.l list int64 >/dev/null || fail "create"
# from the revision after the create: the changes below reach the watcher
# from the history if it subscribes late (no sleep to wait for it)
rev=$("$M" info w.l | sed 's/.*"revision": \([0-9]*\).*/\1/')
"$M" watch 'w.*' --pub "$PUB" --count 4 --from $((rev + 1)) >"$OUT" 2>&1 &
wp=$!
"$M" append w.l 1 2 >/dev/null
"$M" set w.l 0 9 >/dev/null
"$M" create w.d dict >/dev/null
"$M" set w.d k '"v"' >/dev/null
"$M" append other 1 >/dev/null 2>&1
i=0
while kill -0 $wp 2>/dev/null && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
kill $wp 2>/dev/null
wait $wp || fail "watch exit status $?"
[ "$(wc -l <"$OUT")" = 4 ] || fail "want 4 lines: $(cat "$OUT")"
grep -q '"name": "w.l", "kind": "list", "op": "list_insert", "index": 0, "values": \[1, 2\]}' "$OUT" || fail "append line: $(cat "$OUT")"
grep -q '"op": "list_set", "index": 0, "value": 9}' "$OUT" || fail "set line"
grep -q '"name": "w.d", "kind": "dict", "op": "create"' "$OUT" || fail "create line"
grep -q '"op": "dict_set", "keys": \["k"\], "values": \["v"\]}' "$OUT" || fail "dict_set line"
# revisions increase
sed 's/.*"revision": \([0-9]*\).*/\1/' "$OUT" | sort -n -c || fail "revision order"

# --from: the history of one container
out=$("$M" watch w.l --pub "$PUB" --from 1 --count 3)
[ "$(echo "$out" | head -1 | grep -c '"op": "create"')" = 1 ] || fail "--from 1 first line: $out"
[ "$(echo "$out" | wc -l)" = 3 ] || fail "--from 3 lines: $out"

# usage errors
"$M" watch >/dev/null 2>&1; [ $? != 0 ] || fail "watch without a name"
"$M" watch w.l --bogus >/dev/null 2>&1; [ $? != 0 ] || fail "watch --bogus"

[ $fails = 0 ] && echo "watch_cli: ok"
exit $fails
