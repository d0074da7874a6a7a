#!/usr/bin/env bash
# rlforge feedback serve on a run's (empty) feedback folder: prints the URL, serves until SIGINT,
# exits 0 with a summary.  Usage: feedback_serve.sh RLFORGE RUN_DIR
set -euo pipefail
mkdir -p "$2/feedback"
out=$(timeout --preserve-status -s INT 3 "$1" feedback serve "$2" --port 0)
echo "$out"
grep -q 'labeling app: http://127.0.0.1:[0-9]*/' <<<"$out"
grep -q 'stopped; 0 pairs answered, 0 pending' <<<"$out"
