#!/bin/sh
# The examples of docs/cli.md, run and compared (docs_examples.py).
exec python3 "$(dirname "$0")/docs_examples.py" docs/cli.md
