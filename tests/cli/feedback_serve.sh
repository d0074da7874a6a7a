#!/usr/bin/env bash
# rlforge feedback serve on a run's (empty) feedback folder: prints the URL, serves until SIGINT,
# exits 0 with a summary.  Usage: feedback_serve.sh RLFORGE RUN_DIR
set -euo pipefail
mkdir -p "$2/feedback"
log=$(mktemp)
"$1" feedback serve "$2" --port 0 > "$log" 2>&1 &
pid=$!
for _ in $(seq 1 300); do  # up to 30 s for it to start under load
  grep -q 'labeling app: http://127.0.0.1:[0-9]*/' "$log" && break
  sleep 0.1
done
kill -INT "$pid"
status=0
wait "$pid" || status=$?
cat "$log"
[[ $status -eq 0 ]]
grep -q 'labeling app: http://127.0.0.1:[0-9]*/' "$log"
grep -q 'stopped; 0 pairs answered, 0 pending' "$log"
rm -f "$log"
