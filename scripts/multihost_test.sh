#!/usr/bin/env bash
# Two "hosts" on one machine: network namespaces joined by a veth pair, each with its own
# hostname, and OpenMPI's launch agent entering the namespace instead of ssh. One rank on each
# host trains PPO over TCP between them; the weights must equal a one-process run's, bit for bit.
# Needs root (network namespaces); without it the test says why and is skipped (exit 77).
# usage: scripts/multihost_test.sh [RLFORGE_BIN] [WORK_DIR]
set -u
bin="$(realpath "${1:-build/rlforge}")"; work="${2:-/tmp/rlforge_multihost}"
here="$(cd "$(dirname "$0")/.." && pwd)"
skip() { echo "multihost_test.sh: skipped: $*"; exit 77; }
fail() { echo "multihost_test.sh: $*"; exit 1; }
((EUID == 0)) || skip "needs root to make network namespaces"
for tool in ip unshare mpirun; do command -v "$tool" > /dev/null || skip "$tool is missing"; done
a="rlf-a-$$" b="rlf-b-$$" net=10.213.0
cleanup() {
  for ns in "$a" "$b"; do
    for pid in $(ip netns pids "$ns" 2> /dev/null); do kill -KILL "$pid" 2> /dev/null; done
    ip netns del "$ns" 2> /dev/null
  done
  rm -rf /tmp/ompi.rlf-a.* /tmp/ompi.rlf-b.* 2> /dev/null
}
trap cleanup EXIT
ip netns add "$a" 2> /dev/null || skip "cannot make a network namespace here (ip netns add: no CAP_SYS_ADMIN?)"
ip netns add "$b" || fail "ip netns add $b failed"
ip link add "veth-a-$$" netns "$a" type veth peer name "veth-b-$$" netns "$b" \
  || fail "cannot make a veth pair"
ip -n "$a" addr add "$net.1/24" dev "veth-a-$$" && ip -n "$b" addr add "$net.2/24" dev "veth-b-$$" \
  || fail "cannot address the veth pair"
for ns in "$a" "$b"; do
  ip -n "$ns" link set lo up && ip -n "$ns" link set "veth-${ns:4:1}-$$" up || fail "link up in $ns failed"
done

rm -rf "$work"; mkdir -p "$work"; cd "$work" || exit 1
# the launch agent: `agent HOST COMMAND...` runs COMMAND in that host's namespace and hostname
cat > agent.sh << EOF
#!/bin/sh
host="\$1"; shift
case "\$host" in
  $net.1) ns=$a; name=rlf-a ;;
  $net.2) ns=$b; name=rlf-b ;;
  *) echo "agent.sh: unknown host \$host" >&2; exit 1 ;;
esac
exec ip netns exec "\$ns" unshare --uts /bin/sh -c "hostname \$name; exec \$*"
EOF
chmod +x agent.sh
printf '%s slots=1\n%s slots=1\n' "$net.1" "$net.2" > hostfile
# mpirun itself runs on host a; ranks talk over TCP on the test subnet only
job() {
  ip netns exec "$a" unshare --uts /bin/sh -c 'hostname rlf-a; exec "$@"' sh \
    timeout -k 10 300 mpirun --allow-run-as-root --hostfile hostfile -np 2 --bind-to none \
    --mca plm_rsh_agent "$work/agent.sh" --mca btl tcp,self \
    --mca btl_tcp_if_include "$net.0/24" --mca oob_tcp_if_include "$net.0/24" "$@"
}
hosts=$(job hostname 2>&1 | sort | tr '\n' ' ')
[[ "$hosts" == "rlf-a rlf-b " ]] || fail "the ranks did not land on the two hosts: $hosts"

cfg=(--config "$here/configs/ppo/cartpole_fast.yaml" --set env.num_envs=4 --set ppo.num_steps=32
     --set total_timesteps=2560 --set eval.every_steps=0 --set progress=false --set report=false)
"$bin" train "${cfg[@]}" --run-dir one > one.log 2>&1 || { cat one.log; fail "the one-process run failed"; }
job "$bin" train "${cfg[@]}" --run-dir "$work/two" > two.log 2>&1 || { cat two.log; fail "the two-host run failed"; }
for name in actor.0.weight actor.4.weight critic.0.weight critic.4.bias optimizer.exp_avg_sq rng.ppo trainer.counters; do
  x=$("$bin" checkpoint show one --values "$name" | md5sum)
  y=$("$bin" checkpoint show two --values "$name" | md5sum)
  [[ "$x" == "$y" ]] || fail "$name differs between the one-process and the two-host run"
done
echo "multihost_test.sh: ok, ranks on hosts $hosts over TCP: the weights equal the one-process run's"
