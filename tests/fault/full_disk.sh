#!/usr/bin/env bash
# A run whose run directory is on a small tmpfs that fills up during a save: the run stops with a
# non-zero exit and a clear error naming the path, the previous checkpoint is intact and resumes,
# and no partial file is left under a final name (nor any temp file taking the space).
#   sac: fills up while saving the replay buffer folder beside a checkpoint
#   ppo: fills up while writing the checkpoint file itself
# Mounting needs root (CI runs as root); without it the test is skipped (exit 77).
# usage: full_disk.sh RLFORGE_BIN WORK_DIR
set -u
bin="$1"; work="$2"
here="$(cd "$(dirname "$0")/../.." && pwd)"
rm -rf "$work"; mkdir -p "$work/disk"
if ! mount -t tmpfs -o size=8m tmpfs "$work/disk" 2> "$work/mount.log"; then
  echo "full_disk.sh: skipped: cannot mount a tmpfs here ($(cat "$work/mount.log")); needs root"
  exit 77
fi
trap 'umount "$work/disk" 2> /dev/null' EXIT
fail() { echo "full_disk.sh: $*"; exit 1; }

# Runs `rlforge train ARGS` into $work/disk/<name> on a tmpfs of SIZE, which must fill up.
check_full() {
  local name="$1" size="$2"; shift 2
  umount "$work/disk"; mount -t tmpfs -o "size=$size" tmpfs "$work/disk" || fail "remount"
  local run="$work/disk/$name"
  "$bin" train "$@" --set progress=false --run-dir "$run" > "$work/$name.log" 2>&1
  local rc=$?
  ((rc != 0)) || fail "$name: the run ended well on a full disk (exit 0)"
  grep -q "^error: $run/.*No space left on device" "$work/$name.log" \
    || { cat "$work/$name.log"; fail "$name: no error naming the path and the cause"; }
  [[ -f "$run/checkpoints/latest.safetensors" ]] || fail "$name: no checkpoint survived"
  # nothing half-written under a final name, no temp files left holding the space
  local litter; litter=$(find "$run" -name '*.tmp*' -o -name '*.old-*')
  [[ -z "$litter" ]] || fail "$name: left behind: $litter"
  "$bin" checkpoint show "$run/checkpoints/latest.safetensors" > /dev/null \
    || fail "$name: the previous checkpoint does not load"
  local step; step=$(grep -o "step [0-9]*" "$work/$name.log" | head -1)
  # the previous checkpoint resumes (with its buffer folder) on a disk with room
  rm -rf "$work/$name.copy"; cp -r "$run" "$work/$name.copy"
  "$bin" train --resume "$work/$name.copy" > "$work/$name.resume.log" 2>&1 \
    || { cat "$work/$name.resume.log"; fail "$name: the previous checkpoint does not resume"; }
  echo "full_disk.sh: $name on a $size tmpfs: $(grep '^error' "$work/$name.log" | head -1)"
}

# SAC's replay folder is ~3.4 MB (the whole 100k ring): the first save fits, the second does not
check_full sac 6m --config "$here/configs/sac/pendulum_fast.yaml" --set total_timesteps=2000 \
  --set sac.learning_starts=5000 --set checkpoint.every_steps=1000 --set eval.every_steps=0
# PPO's checkpoint file: room for one and a half, so the second (beside the first) cannot fit
"$bin" train --config "$here/configs/ppo/cartpole_fast.yaml" --set total_timesteps=1024 \
  --set "ppo.hidden=[256,256]" --set progress=false --run-dir "$work/ppo_size" > /dev/null 2>&1 \
  || fail "ppo: the sizing run failed"
ckpt=$(stat -c %s "$work/ppo_size/checkpoints/latest.safetensors")
check_full ppo "$((ckpt * 3 / 2 / 1024 + 48))k" --config "$here/configs/ppo/cartpole_fast.yaml" \
  --set total_timesteps=4096 --set "ppo.hidden=[256,256]" --set checkpoint.every_steps=1024 \
  --set eval.every_steps=0
echo "full_disk.sh: ok"
