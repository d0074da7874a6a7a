#!/usr/bin/env bash
# Cloud copies end to end, offline over a real protocol: `rclone serve sftp` on 127.0.0.1.
# 1. a SAC run (replay buffer saved) stopped at 1,000 steps has its checkpoints, metrics.csv and
#    event file on the remote byte for byte, LATEST.json naming the last checkpoint; resumed from
#    the remote into an empty folder it ends with the same tensors as a run that never stopped;
# 2. the server is killed mid-run: training goes on, failures are logged (cloud/failures), and
#    when the server is back the pending uploads complete; LATEST.json names a complete file;
# 3. a wrong password or an unreachable host: `cloud check` fails with one error line; training
#    warns and runs, or with cloud.required refuses to start and writes nothing.
# usage: cloud_cli.sh RLFORGE_BIN WORK_DIR
set -u
bin="$1"; work="$2"
rm -rf "$work"; mkdir -p "$work/server"
port=$(( 30000 + $$ % 20000 ))
server_pid=""
serve() {
  rclone serve sftp "$work/server" --addr "127.0.0.1:$port" --user u --pass secret \
    > "$work/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 50); do rclone lsd ":sftp,host=127.0.0.1,port=$port,user=u,pass=$(rclone obscure secret):" \
    > /dev/null 2>&1 && return 0; sleep 0.1; done
  echo "cloud_cli.sh: the sftp server did not start"; cat "$work/server.log"; exit 1
}
train_pid=""
# a failed check leaves no server and no training behind (a run left flushing would write into
# the next test's folder)
trap '[[ -n "$server_pid" ]] && kill "$server_pid" 2> /dev/null
      [[ -n "$train_pid" ]] && kill -KILL "$train_pid" 2> /dev/null' EXIT
fail() { echo "cloud_cli.sh: $*"; exit 1; }
remote=":sftp,host=127.0.0.1,port=$port,user=u,pass=$(rclone obscure secret):runs"
serve

# equal tensors (header without metadata, and every data byte) in two safetensors files
same_tensors() {
  /usr/bin/python3 - "$1" "$2" << 'PY'
import json, struct, sys
def parts(p):
    raw = open(p, "rb").read(); (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n]); header.pop("__metadata__", None)
    return header, raw[8 + n:]
sys.exit(0 if parts(sys.argv[1]) == parts(sys.argv[2]) else 1)
PY
}

cfg=(--config "$(dirname "$0")/../../configs/sac/pendulum_fast.yaml" --set total_timesteps=2000
     --set sac.learning_starts=300 --set sac.buffer_size=5000 --set checkpoint.every_steps=500
     --set checkpoint.save_replay_buffer=true --set eval.every_steps=1000 --set eval.episodes=1
     --set progress=false --set "sac.hidden=[16,16]" --set sac.batch_size=16)
echo "cloud_cli.sh: server up at ${SECONDS}s"
"$bin" train "${cfg[@]}" --run-dir "$work/full" > "$work/full.log" 2>&1 || { cat "$work/full.log"; exit 1; }

# 1. stopped with uploads, then resumed from the remote into an empty folder
"$bin" train "${cfg[@]}" --set "cloud.remote=$remote/a" --run-dir "$work/a" --stop-after 1000 \
  > "$work/a.log" 2>&1 || { cat "$work/a.log"; fail "the uploading run failed"; }
up="$work/server/runs/a"
grep -q '"checkpoint": "step_1000.safetensors"' "$up/checkpoints/LATEST.json" \
  || fail "LATEST.json does not name step_1000: $(cat "$up/checkpoints/LATEST.json")"
for f in metrics.csv config.yaml checkpoints/best.safetensors "$(cd "$work/a" && ls events.out.tfevents.*)"; do
  cmp "$work/a/$f" "$up/$f" || fail "$f differs on the remote"
done
cmp "$work/a/checkpoints/latest.safetensors" "$up/checkpoints/step_1000.safetensors" \
  || fail "the last checkpoint differs on the remote"
[[ -f "$up/checkpoints/step_500.safetensors" ]] || fail "the step-500 checkpoint is not on the remote"
for f in "$work"/a/checkpoints/files_1000/replay/*; do
  cmp "$f" "$up/checkpoints/files_1000/replay/$(basename "$f")" || fail "replay file $f differs"
done
rm -rf "$work/a"
"$bin" train --resume "$remote/a" --run-dir "$work/a2" > "$work/a2.log" 2>&1 \
  || { cat "$work/a2.log"; fail "resume from the remote failed"; }
grep -q "pulled .* (checkpoint of step 1000)" "$work/a2.log" || { cat "$work/a2.log"; fail "no pull"; }
same_tensors "$work/full/checkpoints/latest.safetensors" "$work/a2/checkpoints/latest.safetensors" \
  || fail "resumed from the remote, the final tensors differ from an uninterrupted run's"
grep -q '"checkpoint": "step_2000.safetensors"' "$up/checkpoints/LATEST.json" \
  || fail "the resumed run did not keep uploading to the same place"

echo "cloud_cli.sh: part 1 done at ${SECONDS}s"
# 2. the server dies mid-run and comes back
"$bin" train "${cfg[@]}" --set total_timesteps=4000 --set checkpoint.every_steps=400 \
  --set "cloud.remote=$remote/b" --run-dir "$work/b" > "$work/b.log" 2>&1 &
train_pid=$!
for _ in $(seq 300); do [[ -f "$work/server/runs/b/checkpoints/LATEST.json" ]] && break; sleep 0.1; done
[[ -f "$work/server/runs/b/checkpoints/LATEST.json" ]] || fail "no upload before the server was killed"
kill -KILL "$server_pid"; wait "$server_pid" 2> /dev/null; server_pid=""
# ten checkpoints queue ~40 rclone calls: the run is still training or in its final flush, which
# waits for the server (cloud.flush_timeout_s, 300 s); it goes on once an upload has failed. An
# rclone call in flight when the server died can wait out its idle timeout (60 s) first
for _ in $(seq 1500); do grep -q "failed (.*); will retry" "$work/b.log" && break; sleep 0.1; done
grep -q "failed (.*); will retry" "$work/b.log" || fail "no upload failed while the server was down"
kill -0 "$train_pid" 2> /dev/null || fail "the run ended before the server came back"
serve
wait "$train_pid" || { cat "$work/b.log"; fail "training failed while the server was down"; }
train_pid=""
grep -q "cloud/failures,[1-9]" "$work/b/metrics.csv" || fail "no failure was logged while the server was down"
grep -q '"checkpoint": "step_4000.safetensors"' "$work/server/runs/b/checkpoints/LATEST.json" \
  || fail "after the server came back, LATEST.json does not name the last checkpoint"
"$bin" cloud pull "$remote/b" "$work/b_pulled" > "$work/pull.log" 2>&1 \
  || { cat "$work/pull.log"; fail "pull of the run after the outage failed"; }
cmp "$work/b/checkpoints/latest.safetensors" "$work/b_pulled/checkpoints/latest.safetensors" \
  || fail "the checkpoint pulled after the outage differs"
[[ -z "$(ls -A "$work/b/.cloud")" ]] || fail "staged uploads left behind: $(ls "$work/b/.cloud")"

echo "cloud_cli.sh: part 2 done at ${SECONDS}s"
# 3. wrong password, unreachable host
bad=":sftp,host=127.0.0.1,port=$port,user=u,pass=$(rclone obscure wrong):runs"
out=$("$bin" cloud check "$bad" 2>&1) && fail "cloud check with a wrong password passed"
[[ "$out" == error:*"not reachable or not writable"* ]] || fail "unclear error: $out"
nowhere=":sftp,host=127.0.0.1,port=$(( port + 1 )),user=u,pass=$(rclone obscure secret):runs"
"$bin" cloud check "$nowhere" > /dev/null 2>&1 && fail "cloud check of a port with no server passed"
"$bin" train "${cfg[@]}" --set total_timesteps=400 --set "cloud.remote=$bad" --set cloud.required=true \
  --run-dir "$work/c" > "$work/c.log" 2>&1 && fail "cloud.required: training started"
grep -q "^error: cloud.remote: .* is not reachable or not writable" "$work/c.log" || { cat "$work/c.log"; fail "unclear refusal"; }
[[ ! -e "$work/c" ]] || fail "a refused run wrote $work/c"
"$bin" train "${cfg[@]}" --set total_timesteps=400 --set "cloud.remote=$nowhere" \
  --set cloud.flush_timeout_s=2 --run-dir "$work/d" > "$work/d.log" 2>&1 \
  || { cat "$work/d.log"; fail "training with an unreachable remote did not run"; }
grep -q "warning: cloud.remote" "$work/d.log" || fail "no warning for an unreachable remote"
grep -q "upload(s) not finished" "$work/d.log" || fail "what is left was not said"
[[ -n "$(ls "$work/d/.cloud")" ]] || fail "nothing left staged for a later upload"
echo "cloud_cli.sh: ok (${SECONDS}s)"
