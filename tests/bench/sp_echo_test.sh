#!/bin/sh
# sp_echo against both of its servers (daemon/net's loop and bare epoll):
# every round trip answered with its own request id (the client checks).
set -u
E=$1
d=$(mktemp -d)
rc=0
for srv in uv epoll; do
	"$E" --server $srv "ipc://$d/$srv.ipc" &
	pid=$!
	"$E" --url "ipc://$d/$srv.ipc" -c 2 -n 2000 --csv --name "sp_echo_$srv" || rc=1
	kill $pid
	wait $pid
done
rm -rf "$d"
exit $rc
