#!/usr/bin/env bash
# The cost of cloud copies: SAC HalfCheetah-v4 (CleanRL defaults) with checkpoints every 10k steps
# and the replay buffer saved, with and without uploading to `rclone serve sftp` on 127.0.0.1.
# Reports SPS (training time only), wall and CPU seconds of the whole process (rclone children
# included), uploaded bytes and the largest upload lag. Writes bench/results/cloud_upload.json.
# usage: STEPS=25000 bench/cloud_upload.sh
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -x build/rlforge ]] || { echo "build first: make build" >&2; exit 1; }
WORK=$(mktemp -d)
port=$(( 30000 + $$ % 20000 ))
rclone serve sftp "$WORK/server" --addr "127.0.0.1:$port" --user u --pass p > "$WORK/server.log" 2>&1 &
server=$!
trap 'kill $server 2> /dev/null; rm -rf "$WORK"' EXIT
mkdir -p "$WORK/server"; sleep 1
remote=":sftp,host=127.0.0.1,port=$port,user=u,pass=$(rclone obscure p):runs/cheetah"
cfg=(--config configs/sac/halfcheetah.yaml --set total_timesteps="${STEPS:-25000}"
     --set checkpoint.every_steps=10000 --set checkpoint.save_replay_buffer=true
     --set eval.every_steps=0 --set progress=false)
for mode in local cloud; do
  extra=(); [[ $mode == cloud ]] && extra=(--set "cloud.remote=$remote")
  /usr/bin/time -f "%e %U %S" -o "$WORK/$mode.time" \
    build/rlforge train "${cfg[@]}" "${extra[@]}" --run-dir "$WORK/$mode" > "$WORK/$mode.log" 2>&1
done
/usr/bin/python3 - "$WORK" << 'PY'
import csv, json, re, sys
work = sys.argv[1]
out = {"benchmark": "cloud_upload", "env": "HalfCheetah-v4", "algo": "sac",
       "checkpoint_every_steps": 10000, "save_replay_buffer": True}
for mode in ("local", "cloud"):
    wall, user, sys_ = map(float, open(f"{work}/{mode}.time").read().split())
    log = open(f"{work}/{mode}.log").read()
    sps = float(re.search(r"\((\d+) SPS\)", log).group(1))
    row = {"sps": sps, "wall_s": wall, "cpu_s": round(user + sys_, 2)}
    if mode == "cloud":
        m = {}
        for r in csv.DictReader(open(f"{work}/cloud/metrics.csv")):
            if r["tag"].startswith("cloud/"):
                m.setdefault(r["tag"], []).append(float(r["value"]))
        row.update(uploaded_bytes=max(m["cloud/uploaded_bytes"]), failures=max(m["cloud/failures"]),
                   max_lag_s=round(max(m["cloud/lag_s"]), 2))
    out[mode] = row
json.dump(out, open("bench/results/cloud_upload.json", "w"), indent=1)
print(out)
PY
