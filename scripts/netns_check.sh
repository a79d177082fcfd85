#!/usr/bin/env bash
# Across hosts, simulated: two network namespaces joined by a veth pair stand for two
# machines on one link (10.77.<k>.1 and .2/24, addresses that exist inside the namespaces
# only). mpirun runs inside the first namespace and starts Open MPI's daemon on each "host"
# through a launch agent that enters that host's namespace where ssh would log in. The ranks
# talk over TCP only (--mca btl tcp,self; out-of-band and MPI traffic restricted to the
# link's subnet), so nothing goes through shared memory. Then:
#  1. the distributed check of scripts/distributed_check.sh across the two hosts: 2 ranks ×
#     global batch 8 with --sync-bn give the weights of 1 process with batch 8 after 3 steps;
#  2. allreduce-bench over that link: the gradients' 12.9 MB, timed.
# Needs: root (or CAP_NET_ADMIN and CAP_SYS_ADMIN) and `ip` (iproute2). A machine that forbids
# network namespaces makes this script say so and fail when CI=true (exit 0 otherwise, with
# the reason). Everything it creates (namespaces, veth pair) is removed on exit, failure included.
# Usage: scripts/netns_check.sh BINARY
set -euo pipefail
bin=$(realpath "${1:?usage: netns_check.sh BINARY}")
tag="mn$$"
hosts=("${tag}h0" "${tag}h1")
subnet_id=$(( $$ % 200 + 20 ))
subnet="10.77.$subnet_id.0/24"
work=$(mktemp -d)
cleanup() {
  for h in "${hosts[@]}"; do ip netns del "$h" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

unavailable() {
  echo "netns check: $1"
  echo "  It needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN) and iproute2's ip to create network namespaces;"
  echo "  in a container, run it with --privileged (or --cap-add NET_ADMIN --cap-add SYS_ADMIN)."
  if [ "${CI:-}" = true ]; then echo "netns check: FAILED (CI=true)"; exit 1; fi
  echo "netns check: not run"; exit 0
}
command -v ip > /dev/null || unavailable "ip (iproute2) is not installed"
ip netns add "${hosts[0]}" 2> "$work/err" || unavailable "network namespaces are not allowed here ($(cat "$work/err"))"
ip netns add "${hosts[1]}"
ip link add "${tag}a" type veth peer name "${tag}b"
ip link set "${tag}a" netns "${hosts[0]}"
ip link set "${tag}b" netns "${hosts[1]}"
for i in 0 1; do
  h=${hosts[$i]}
  end=$([ "$i" = 0 ] && echo a || echo b)
  ip -n "$h" link set lo up
  ip -n "$h" link set "${tag}$end" name mpi0
  ip -n "$h" addr add "10.77.$subnet_id.$((i + 1))/24" dev mpi0
  ip -n "$h" link set mpi0 up
done
echo "netns check: hosts ${hosts[*]} (namespaces) on $subnet over a veth pair"

# The launch agent: Open MPI calls it as `agent HOST COMMAND…` in place of `ssh HOST COMMAND…`.
cat > "$work/agent.sh" <<'AGENT'
#!/bin/sh
host=$1; shift
exec ip netns exec "$host" /bin/sh -c "$*"
AGENT
chmod +x "$work/agent.sh"

# The data of scripts/distributed_check.sh: 5 training files of 8 records and a test file.
data=$work/data
"$(dirname "$0")/make_tiny_cifar.sh" "$data" 8

root=$( [ "$(id -u)" = 0 ] && echo --allow-run-as-root || true )
mpi=(mpirun $root --host "${hosts[0]}:1,${hosts[1]}:1" -np 2
     --mca plm_rsh_agent "$work/agent.sh" --mca plm_rsh_no_tree_spawn 1
     --mca btl tcp,self --mca btl_tcp_if_include "$subnet" --mca oob_tcp_if_include "$subnet")
flags=(train --data "$data" --limit-train 24 --limit-test 8 --batch-size 8 --epochs 1
       --width-multiplier 0.25 --sync-bn --threads 1 --max-lr "${MAX_LR:-0.001}")
echo "netns check: 1 process, then 2 ranks on 2 hosts over TCP, batch 8, 3 steps, --sync-bn"
# Each rank in its own namespace: rank k sees only host k's address.
# Every launch is bounded: Open MPI's daemon start-up through the agent has been seen to stall
# now and then on a loaded machine, so the first launch (which only reports where each rank
# runs) is tried up to three times, 60 s each, the 2-rank training as well (120 s each), the
# benchmark twice (120 s each; it takes seconds).
# Open MPI daemons a stalled or failed launch left behind on this check's subnet.
clear_stale_daemons() { pkill -f "orte_hnp_uri.*tcp://10\.77\.$subnet_id\." 2>/dev/null || true; }
where() {
  timeout --kill-after=5 60 ip netns exec "${hosts[0]}" "${mpi[@]}" \
    /bin/sh -c 'echo "rank $OMPI_COMM_WORLD_RANK: $(ip -o -4 addr show mpi0 | awk "{print \$4}")"' 2> "$work/where.err" > "$work/where.raw"
}
launched=no
for attempt in 1 2 3; do
  if where; then launched=yes; break; fi
  echo "netns check: launch attempt $attempt did not finish within 60 s (or failed); retrying"
  clear_stale_daemons
done
[ "$launched" = yes ] || { cat "$work/where.err"; echo "netns check: FAILED: mpirun did not start ranks on both hosts in 3 attempts"; exit 1; }
sort "$work/where.raw" > "$work/where.txt"
sed 's/^/  /' "$work/where.txt"
[ "$(cut -d' ' -f3 "$work/where.txt" | sort -u | wc -l)" = 2 ] || { echo "netns check: the ranks did not run on two hosts"; exit 1; }
"$bin" "${flags[@]}" --checkpoint-dir "$work/one" > "$work/one.log" 2>&1 \
  || { status=$?; cat "$work/one.log"; echo "netns check: FAILED: the 1-process run exited with status $status"; exit 1; }
# The 2-rank run takes seconds; a launch that stalls (no rank prints, as with the first
# launch above) is ended after 120 s, its daemons and checkpoint folder cleared, and tried
# again, up to three times.
for attempt in 1 2 3; do
  two_status=0
  rm -rf "$work/two"
  timeout --kill-after=5 120 ip netns exec "${hosts[0]}" "${mpi[@]}" "$bin" "${flags[@]}" --checkpoint-dir "$work/two" > "$work/two.log" 2>&1 \
    || two_status=$?
  [ "$two_status" = 0 ] && break
  echo "netns check: 2-rank run attempt $attempt exited with status $two_status (124: over its 120 s timeout); its output:"
  sed 's/^/  | /' "$work/two.log"
  clear_stale_daemons
done
[ "$two_status" = 0 ] || { echo "netns check: FAILED: the 2-rank run failed three times"; exit 1; }
grep -E "^Data-parallel|^Epoch 1/1|ranks:" "$work/two.log" || true
"$bin" compare "$work/two" "$work/one" --relative-tolerance 1e-4
echo "netns check: allreduce of the gradients' 12.9 MB over the veth link (TCP)"
# A failed attempt says how it ended (timeout's 124, or mpirun's status) with everything the
# launch printed, and is tried once more (start-up stalls, as above, are the failure seen).
for attempt in 1 2; do
  bench_status=0
  timeout --kill-after=5 120 ip netns exec "${hosts[0]}" "${mpi[@]}" "$bin" allreduce-bench ${BENCH_FLAGS:-} \
    > "$work/bench.out" 2> "$work/bench.err" || bench_status=$?
  [ "$bench_status" = 0 ] && break
  reason="mpirun exited with status $bench_status"
  [ "$bench_status" = 124 ] && reason="it did not finish within 120 s (timeout's status 124)"
  [ "$bench_status" = 137 ] && reason="it was killed (SIGKILL: after its 120 s timeout, or by the system)"
  echo "netns check: allreduce-bench attempt $attempt failed: $reason; its output:"
  sed 's/^/  | /' "$work/bench.out" "$work/bench.err"
  clear_stale_daemons
done
[ "$bench_status" = 0 ] || { echo "netns check: FAILED: allreduce-bench over the veth link failed twice"; exit 1; }
cat "$work/bench.out"
echo "netns check: OK"
