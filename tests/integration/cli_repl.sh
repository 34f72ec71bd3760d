#!/bin/sh
# The interactive mode through a pseudo-terminal (cli_repl.py), run by
# client_cli_run against a fresh daemon.
exec python3 "$(dirname "$0")/cli_repl.py"
