#!/usr/bin/env bash
# PPO and A2C as one job over ranks of mpirun (OpenMPI, this machine's 2 cores oversubscribed).
# usage: mpi_test.sh RLFORGE_BIN WORK_DIR equal|resume|offpolicy|kill|hang|bad
#   equal   1 rank == 2 ranks == 3 ranks == 1 rank with 2 threads, bit for bit (weights,
#           optimizer, generator, counters, recent returns, every logged metric but the clock's),
#           for PPO with 6 envs; A2C 1 == 2
#   resume  2 ranks stopped and resumed == never stopped; the other rank counts are refused
#   offpolicy  DQN and SAC on 2 ranks, each with its own replay shard saved with checkpoints:
#           stopped and resumed == never stopped (the ranks' weights are checked equal at the end)
#   kill    rank 1 SIGKILLed mid-run: the job ends within 30 s naming the rank; --resume finishes
#           it with the same weights as a run that never stopped
#   hang    rank 1 stopped (SIGSTOP): the others' watchdog ends the job within 30 s
#   bad     -np that does not divide env.num_envs, an algorithm that runs in one process only,
#           a bad --rank-timeout: clear errors, non-zero exits, nothing written
set -u
bin="$1"; work="$2"; case_="$3"
here="$(cd "$(dirname "$0")/../.." && pwd)"
command -v mpirun > /dev/null || { echo "mpi_test.sh: mpirun is missing (scripts/setup.sh installs openmpi-bin)"; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=yes
# ASan: MPI's own allocations are not ours to report
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"
mpi() { local np="$1"; shift; timeout -k 10 300 mpirun -np "$np" --bind-to none "$bin" "$@"; }
fail() { echo "mpi_test.sh: $case_: $*"; exit 1; }
rm -rf "$work"; mkdir -p "$work"; cd "$work" || exit 1

ppo=(--config "$here/configs/ppo/cartpole_fast.yaml" --set env.num_envs=6 --set ppo.num_steps=32
     --set total_timesteps=3840 --set eval.every_steps=1920 --set eval.episodes=2
     --set checkpoint.every_steps=960 --set progress=false --set report=false)
# the state every rank shares, tensor by tensor (envs and their streams are each rank's own)
shared() {
  local ckpt="$1/checkpoints/latest.safetensors" name
  for name in $("$bin" checkpoint show "$ckpt" | awk 'NR > 1 && $1 != "envs" && $1 !~ /^__metadata__/ { print $1 }'); do
    echo "$name $("$bin" checkpoint show "$ckpt" --values "$name" | md5sum | cut -c1-32)"
  done
}
# every metric but those of the clock (wall time, SPS, time in collectives)
metrics() { awk -F, 'NR > 1 && $3 != "charts/SPS" && $3 != "charts/comm_seconds" { print $1, $3, $4 }' "$1/metrics.csv"; }
# the pid of rank $1 of the job running in this folder
rank_pid() {
  local pid
  for pid in $(pgrep -f "$bin train"); do
    [[ "$(readlink "/proc/$pid/cwd")" == "$PWD" ]] || continue
    tr '\0' '\n' < "/proc/$pid/environ" 2> /dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$1" && echo "$pid"
  done
}
# Starts `mpi 2 train ARGS...` into run/, sends rank 1 SIGNAL once the first checkpoint of both
# ranks is complete, and waits for the job: sets rc (its exit status) and took (seconds after
# the signal).
signal_rank1() {
  local signal="$1" job rank1 start i
  shift
  mpi 2 train "$@" --run-dir run > run.log 2>&1 &
  job=$!
  for ((i = 0; i < 600; i++)); do
    grep -qs "rlforge.rank_step" run/checkpoints/latest.safetensors && break
    sleep 0.05
  done
  rank1=$(rank_pid 1)
  [[ -n "$rank1" ]] || fail "rank 1 not found (the run ended before a checkpoint?)"
  start=$(date +%s)
  kill "-$signal" "$rank1"
  wait "$job"; rc=$?
  took=$(($(date +%s) - start))
  kill -KILL "$rank1" 2> /dev/null
  ((rc != 0)) || fail "the job exited 0 after rank 1 got SIG$signal"
  ((took <= 30)) || fail "the job took $took s to stop"
}
same() {  # run dirs $1 and $2 hold the same shared state and (unless $3 = state) metrics
  diff <(shared "$1") <(shared "$2") > /dev/null || fail "$1 and $2 end with different state: $(diff <(shared "$1") <(shared "$2") | head -4)"
  [[ "${3:-}" == state ]] || diff <(metrics "$1") <(metrics "$2") > /dev/null \
    || fail "$1 and $2 logged different metrics"
  [[ $(shared "$1" | wc -l) -ge 10 ]] || fail "$1: too few tensors compared"
}

case "$case_" in
  equal)
    "$bin" train "${ppo[@]}" --run-dir one > one.log 2>&1 || { cat one.log; fail "1 rank failed"; }
    for np in 2 3; do
      mpi "$np" train "${ppo[@]}" --run-dir "np$np" > "np$np.log" 2>&1 || { cat "np$np.log"; fail "$np ranks failed"; }
      same one "np$np"
      [[ $(grep -c "^training ppo" "np$np.log") == 1 ]] || fail "$np ranks: one rank should report"
      [[ -f np$np/checkpoints/rank$((np - 1))_3840.safetensors ]] || fail "$np ranks: rank files missing"
    done
    [[ $(metrics one | grep -c episodic_return) -gt 10 ]] || fail "too few episodes to compare"
    # two threads in one process compute whole env shards each: the same bits again
    "$bin" train "${ppo[@]}" --run-dir threads2 --threads 2 > threads2.log 2>&1 || { cat threads2.log; fail "--threads 2 failed"; }
    same one threads2
    a2c=(--set algo=a2c --set env.num_envs=4 --set total_timesteps=2000 --set eval.every_steps=0
         --set progress=false --set report=false)
    "$bin" train "${a2c[@]}" --run-dir a2c1 > a2c1.log 2>&1 || { cat a2c1.log; fail "a2c 1 rank failed"; }
    mpi 2 train "${a2c[@]}" --run-dir a2c2 > a2c2.log 2>&1 || { cat a2c2.log; fail "a2c 2 ranks failed"; }
    same a2c1 a2c2
    echo "mpi_test.sh: ok, 1 == 2 == 3 ranks == 2 threads (ppo), 1 == 2 (a2c), $(shared one | wc -l) tensors and $(metrics one | wc -l) metrics"
    ;;
  resume)
    mpi 2 train "${ppo[@]}" --run-dir full > full.log 2>&1 || { cat full.log; fail "the full run failed"; }
    mpi 2 train "${ppo[@]}" --run-dir part --stop-after 1500 > part.log 2>&1 || { cat part.log; fail "the first part failed"; }
    grep -q "stopped as asked" part.log || fail "the first part did not stop: $(cat part.log)"
    mpi 2 train --resume part > resume.log 2>&1 || { cat resume.log; fail "the resume failed"; }
    same full part
    [[ $(ls part/checkpoints | grep -c "^rank1_") == 1 ]] || fail "rank 1's older checkpoint files were left behind"
    cp -r part other
    "$bin" train --resume other > other1.log 2>&1 && fail "1 rank resumed a 2-rank run"
    grep -q "written by a job of 2 rank(s); resume it with mpirun -np 2, not 1" other1.log || fail "unclear error: $(cat other1.log)"
    mpi 3 train --resume other > other3.log 2>&1 && fail "3 ranks resumed a 2-rank run"
    grep -q "mpirun -np 2, not 3" other3.log || fail "unclear error: $(cat other3.log)"
    cmp part/checkpoints/latest.safetensors other/checkpoints/latest.safetensors || fail "a refused resume changed the run"
    echo "mpi_test.sh: ok, 2 ranks stopped at 1536 and resumed == never stopped; 1 and 3 ranks refused"
    ;;
  offpolicy)
    dqn=(--set algo=dqn --set env.num_envs=2 --set total_timesteps=3000 --set dqn.learning_starts=500
         --set checkpoint.every_steps=500 --set checkpoint.save_replay_buffer=true
         --set eval.every_steps=0 --set progress=false --set report=false)
    sac=(--config "$here/configs/sac/pendulum_fast.yaml" --set env.num_envs=2 --set total_timesteps=1200
         --set sac.learning_starts=300 --set checkpoint.every_steps=200
         --set checkpoint.save_replay_buffer=true --set eval.every_steps=0 --set progress=false
         --set report=false)
    for algo in dqn sac; do
      declare -n cfg="$algo"
      mpi 2 train "${cfg[@]}" --run-dir "$algo" > "$algo.log" 2>&1 || { cat "$algo.log"; fail "$algo on 2 ranks failed"; }
      mpi 2 train "${cfg[@]}" --run-dir "${algo}_part" --stop-after 700 > "${algo}_part.log" 2>&1 \
        || { cat "${algo}_part.log"; fail "$algo: the first part failed"; }
      ls "${algo}_part/checkpoints" | grep -q "^rank1_.*_files$" || fail "$algo: rank 1's replay shard was not saved"
      mpi 2 train --resume "${algo}_part" > "${algo}_resume.log" 2>&1 || { cat "${algo}_resume.log"; fail "$algo: the resume failed"; }
      same "$algo" "${algo}_part"
      [[ $(ls "${algo}_part/checkpoints" | grep -c "_files$") == 2 ]] || fail "$algo: older replay shards were left behind"
    done
    echo "mpi_test.sh: ok, dqn and sac on 2 ranks with replay shards: stopped and resumed == never stopped"
    ;;
  kill)
    long=("${ppo[@]}" --set total_timesteps=76800 --set eval.every_steps=0 --set checkpoint.every_steps=9600)
    mpi 2 train "${long[@]}" --run-dir full > full.log 2>&1 || { cat full.log; fail "the full run failed"; }
    signal_rank1 KILL "${long[@]}"
    grep -q "rank 1" run.log || fail "the message does not name rank 1: $(cat run.log)"
    mpi 2 train --resume run > resume.log 2>&1 || { cat resume.log; fail "the resume failed"; }
    same full run state  # (metrics past the last checkpoint were logged twice)
    echo "mpi_test.sh: ok, rank 1 killed: the job stopped in $took s (exit $rc) naming rank 1; the resumed run == never stopped"
    ;;
  hang)
    long=("${ppo[@]}" --set total_timesteps=10000000 --set eval.every_steps=0)
    signal_rank1 STOP "${long[@]}" --rank-timeout 3
    grep -q "rank 0 of 2: no answer from the other ranks" run.log || fail "no watchdog message: $(cat run.log)"
    echo "mpi_test.sh: ok, rank 1 stopped: rank 0's watchdog ended the job in $took s (exit $rc)"
    ;;
  bad)
    mpi 4 train "${ppo[@]}" --run-dir four > four.log 2>&1 && fail "6 envs ran on 4 ranks"
    grep -q "env.num_envs: 6 envs cannot be split evenly across 4 ranks" four.log || fail "unclear error: $(cat four.log)"
    [[ -e four/checkpoints/latest.safetensors ]] && fail "a refused run wrote a checkpoint"
    mpi 2 train --set algo=mappo --set progress=false --run-dir mappo > mappo.log 2>&1 && fail "mappo ran on 2 ranks"
    grep -q "algo: mappo runs in one process only; under mpirun -np 2 use one of: ppo, a2c, dqn, sac" mappo.log || fail "unclear error: $(cat mappo.log)"
    mpi 3 train --set algo=dqn --set env.num_envs=3 --set dqn.batch_size=128 --set progress=false --run-dir dqn > dqn.log 2>&1 && fail "a batch of 128 ran on 3 ranks"
    grep -q "dqn.batch_size: 128 rows cannot be split evenly across 3 ranks" dqn.log || fail "unclear error: $(cat dqn.log)"
    "$bin" train --rank-timeout 0 --run-dir t0 > t0.log 2>&1 && fail "--rank-timeout 0 was taken"
    grep -q "rank-timeout" t0.log || fail "unclear error: $(cat t0.log)"
    echo "mpi_test.sh: ok, bad -np, a one-process algorithm and a bad --rank-timeout refused"
    ;;
  *) echo "mpi_test.sh: unknown case $case_"; exit 2 ;;
esac
