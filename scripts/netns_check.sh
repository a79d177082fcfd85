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
# Open MPI daemons a stalled or failed launch left behind on this check's subnet.
clear_stale_daemons() { pkill -f "orte_hnp_uri.*tcp://10\.77\.$subnet_id\." 2>/dev/null || true; }
# launch LABEL TRIES SECONDS OUT FRESH COMMAND…: mpirun COMMAND on both hosts from inside the
# first namespace, ended after SECONDS and tried up to TRIES times; its stdout goes to OUT, its
# stderr to OUT.err. FRESH is a folder removed before each attempt ("-": none). A failed
# attempt says how it ended and what it printed, and clears the daemons it left; the last one
# fails the check. Open MPI's daemon start-up through the agent can stall with no output,
# whatever the load, hence the bound and the retries; every launch here takes seconds.
launch() {
  local label=$1 tries=$2 seconds=$3 out=$4 fresh=$5 attempt status reason
  shift 5
  for ((attempt = 1; attempt <= tries; attempt++)); do
    [ "$fresh" = - ] || rm -rf "$fresh"
    status=0
    timeout --kill-after=5 "$seconds" ip netns exec "${hosts[0]}" "${mpi[@]}" "$@" > "$out" 2> "$out.err" \
      || status=$?
    [ "$status" = 0 ] && return 0
    case $status in
      124) reason="it did not finish within $seconds s (timeout's status 124)" ;;
      137) reason="it was killed (SIGKILL: after its $seconds s timeout, or by the system)" ;;
      *) reason="the launch exited with status $status" ;;
    esac
    echo "netns check: $label, attempt $attempt of $tries, failed: $reason; its output:"
    sed 's/^/  | /' "$out" "$out.err"
    clear_stale_daemons
  done
  echo "netns check: FAILED: $label failed $tries times"
  exit 1
}
# Each rank in its own namespace: rank k sees only host k's address.
launch "the first launch (where each rank runs)" 3 60 "$work/where.raw" - \
  /bin/sh -c 'echo "rank $OMPI_COMM_WORLD_RANK: $(ip -o -4 addr show mpi0 | awk "{print \$4}")"'
sort "$work/where.raw" > "$work/where.txt"
sed 's/^/  /' "$work/where.txt"
[ "$(cut -d' ' -f3 "$work/where.txt" | sort -u | wc -l)" = 2 ] || { echo "netns check: the ranks did not run on two hosts"; exit 1; }
"$bin" "${flags[@]}" --checkpoint-dir "$work/one" > "$work/one.log" 2>&1 \
  || { status=$?; cat "$work/one.log"; echo "netns check: FAILED: the 1-process run exited with status $status"; exit 1; }
launch "the 2-rank run" 3 120 "$work/two.log" "$work/two" "$bin" "${flags[@]}" --checkpoint-dir "$work/two"
grep -hE "^Data-parallel|^Epoch 1/1|ranks:" "$work/two.log" "$work/two.log.err" || true
"$bin" compare "$work/two" "$work/one" --relative-tolerance 1e-4
echo "netns check: allreduce of the gradients' 12.9 MB over the veth link (TCP)"
# shellcheck disable=SC2086 # BENCH_FLAGS: words for allreduce-bench
launch "allreduce-bench over the veth link" 2 120 "$work/bench.out" - "$bin" allreduce-bench ${BENCH_FLAGS:-}
cat "$work/bench.out"
echo "netns check: OK"
