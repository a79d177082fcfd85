#!/usr/bin/env bash
# Distributed fault checks, run by `make test-mpi` (part of `make test` when Open MPI is installed):
#  1. ranks given different flags stop at setup with an error naming the flag and the rank (no hang);
#  2. SIGTERM to every rank: each stops after its current step, rank 0 saves one checkpoint,
#     every rank exits 143, and --resume from that checkpoint finishes the run;
#  3. Ctrl-C on mpirun (SIGINT to the launcher): Open MPI sends SIGCONT, then SIGTERM after
#     odls_base_sigkill_timeout seconds, then SIGKILL after as many again; the ranks stop
#     after the step, rank 0 saves, every rank exits 143;
#  4. kill -9 of rank 1 mid-epoch: the job ends within a bounded time and the last checkpoint
#     resumes, to the final weights of the uninterrupted run, bit for bit.
# Each rank runs under a small wrapper that records its exit status (rc.<rank>).
# Usage: scripts/mpi_faults_check.sh BINARY
set -euo pipefail
bin=$(realpath "${1:?usage: mpi_faults_check.sh BINARY}")
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
cd "$work"
"$here/make_tiny_cifar.sh" data 40
cat > rank.sh <<'WRAP'
#!/bin/bash
# Runs one rank and records its exit status; the wrapper itself ignores the stop signals
# (the rank sets its own handlers), so its status is the rank's.
trap '' INT TERM HUP
"$@" &
child=$!
echo "$child" > "pid.$OMPI_COMM_WORLD_RANK"
wait "$child"; rc=$?
echo "$rc" > "rc.$OMPI_COMM_WORLD_RANK"
exit "$rc"
WRAP
chmod +x rank.sh
root=$( [ "$(id -u)" = 0 ] && echo --allow-run-as-root || true )
flags=(train --data data --epochs 4 --batch-size 8 --width-multiplier 0.125 --threads 1)
fail() { echo "FAIL: $*"; for f in "$work"/*.log; do echo "== $f"; grep -v '^-*$' "$f" | tail -15; done; exit 1; }
# Waits (up to 300 s) until rank 0 has taken a step of the run in `$1.log`.
wait_for_training() { for _ in $(seq 600); do grep -q "Checkpoints:" "$1.log" 2>/dev/null && sleep 3 && return 0; sleep 0.5; done; fail "$1: training did not start"; }
launch() { local name=$1; shift; rm -f rc.* pid.*; mpirun $root --oversubscribe "$@" > "$name.log" 2>&1 & pids+=($!); launcher=$!; }

echo "== 1. different --limit-train on rank 1: stop at setup"
cat > differ.sh <<'WRAP'
#!/bin/bash
if [ "$OMPI_COMM_WORLD_RANK" = 1 ]; then exec "$@" --limit-train 100; else exec "$@"; fi
WRAP
chmod +x differ.sh
start=$(date +%s)
if timeout 120 mpirun $root --oversubscribe -np 2 ./differ.sh "$bin" "${flags[@]}" > differ.log 2>&1; then fail "ranks with different flags trained"; fi
grep -q "rank 1: --limit-train is 100 here but none on rank 0" differ.log || fail "the differing flag is not named"
echo "   stopped after $(( $(date +%s) - start )) s: $(grep -m1 'rank 1: --limit-train' differ.log)"

echo "== 2. SIGTERM to both ranks"
launch term -np 2 ./rank.sh "$bin" "${flags[@]}" --checkpoint-dir term
wait_for_training term
kill -TERM "$(cat pid.0)" "$(cat pid.1)"
set +e; wait "$launcher"; set -e
[ "$(cat rc.0)" = 143 ] && [ "$(cat rc.1)" = 143 ] || fail "exit statuses $(cat rc.0) $(cat rc.1), expected 143 143"
grep -q "Interrupted by SIGTERM after step" term.log || fail "rank 0 did not report the interruption"
saved=$(readlink term/last)
echo "   both ranks exited 143; checkpoint $saved"
mpirun $root --oversubscribe -np 2 "$bin" train --resume term --threads 1 > resume.log 2>&1 || fail "--resume after SIGTERM failed"
grep -q "^Done" resume.log || fail "the resumed run did not finish"
echo "   --resume term: $(grep -m1 '^Resuming' resume.log)"

echo "== 3. Ctrl-C on mpirun (SIGINT to the launcher; odls_base_sigkill_timeout 10)"
# 30 epochs, so that the run is still training when mpirun's SIGTERM arrives 10 s after the
# SIGINT, on the fastest machine too (an epoch of these 200 images takes about 3 s on a fast one).
long_flags=("${flags[@]}")
long_flags[4]=30
launch ctrlc --mca odls_base_sigkill_timeout 10 -np 2 ./rank.sh "$bin" "${long_flags[@]}" --checkpoint-dir ctrlc
wait_for_training ctrlc
kill -INT "$launcher"
set +e; wait "$launcher"; launcher_rc=$?; set -e
[ "$(cat rc.0 2>/dev/null)" = 143 ] && [ "$(cat rc.1 2>/dev/null)" = 143 ] || fail "exit statuses $(cat rc.0 2>/dev/null) $(cat rc.1 2>/dev/null), expected 143 143"
grep -q "Interrupted by SIGTERM after step" ctrlc.log || fail "rank 0 did not save on Ctrl-C"
"$bin" evaluate --checkpoint ctrlc --data data > /dev/null || fail "the Ctrl-C checkpoint does not load"
echo "   ranks exited 143 (mpirun $launcher_rc); checkpoint $(readlink ctrlc/last) loads"

echo "== 4. kill -9 of rank 1 mid-epoch"
launch killed -np 2 ./rank.sh "$bin" "${flags[@]}" --checkpoint-dir killed
for _ in $(seq 600); do [ -e killed/last ] && break; sleep 0.5; done
[ -e killed/last ] || fail "no checkpoint before the kill"
sleep 2
killed_at=$(date +%s.%N)
kill -9 "$(cat pid.1)"
set +e; wait "$launcher"; set -e
ended=$(awk -v a="$killed_at" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
echo "   the job ended $(printf %.1f "$ended") s after kill -9 of rank 1 (mpirun: $(grep -m1 -o 'exited on signal 9[^.]*' killed.log || echo 'rank 1 killed'))"
awk -v t="$ended" 'BEGIN { exit !(t < 30) }' || fail "the job took $ended s to end after a rank was killed"
last=$(readlink killed/last)
mpirun $root --oversubscribe -np 2 "$bin" train --resume killed --threads 1 > killed-resume.log 2>&1 || fail "--resume after kill -9 failed"
grep -q "^Done" killed-resume.log || fail "the run resumed after kill -9 did not finish"
echo "   --resume from $last finished the run"
# Bit for bit as the same run never interrupted (same ranks, same summation order).
mpirun $root --oversubscribe -np 2 "$bin" "${flags[@]}" --checkpoint-dir whole > whole.log 2>&1 || fail "the uninterrupted run failed"
"$bin" compare killed whole --relative-tolerance 0 > compare.log || { cat compare.log; fail "the resumed run differs from the uninterrupted one"; }
echo "   its final weights equal the uninterrupted run's bit for bit (compare --relative-tolerance 0)"
echo "distributed fault checks: OK"
