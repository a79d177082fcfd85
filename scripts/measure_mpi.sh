#!/usr/bin/env bash
# Issue #8's measurement on one machine (run it when the machine is quiet; `make measure-mpi`):
#   1 process × 2 threads against 2 MPI ranks × 1 thread, same global batch 128, same images;
#   images/s of the training part, the share of the step time spent in MPI collectives, and
#   MPI_Allreduce of the 3.2 M gradient floats on its own (bandwidth).
# Usage: scripts/measure_mpi.sh BINARY DATA [IMAGES]
set -euo pipefail
bin=${1:?usage: measure_mpi.sh BINARY DATA [IMAGES]}
data=${2:?usage: measure_mpi.sh BINARY DATA [IMAGES]}
images=${3:-6400}
out=${MEASURE_OUT:-bench-results/mpi}
mkdir -p "$out"
rm -f "$out"/*.jsonl
root=$( [ "$(id -u)" = 0 ] && echo --allow-run-as-root || true )
common=(train --data "$data" --epochs 1 --limit-train "$images" --limit-test 1000 --batch-size 128)
echo "== uptime before: $(uptime)"
"$bin" "${common[@]}" --threads 2 --metrics "$out/one-rank-2-threads.jsonl" | tee "$out/one-rank-2-threads.log"
mpirun $root -np 2 --bind-to core "$bin" "${common[@]}" --threads 1 --metrics "$out/two-ranks-1-thread.jsonl" | tee "$out/two-ranks-1-thread.log"
mpirun $root -np 2 --bind-to core "$bin" "${common[@]}" --threads 1 --sync-bn --metrics "$out/two-ranks-1-thread-syncbn.jsonl" | tee "$out/two-ranks-1-thread-syncbn.log"
mpirun $root -np 2 --bind-to core "$bin" allreduce-bench --repeats 30 | tee "$out/allreduce.log"
echo "== uptime after: $(uptime)"
echo "== summary (training images/s; collective seconds / training seconds)"
for f in "$out"/*.jsonl; do
  python3 - "$f" <<'PY' 2>/dev/null || grep '"kind":"epoch"' "$f"
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("kind") == "epoch":
        share = r.get("collective_seconds", 0) / r["train_seconds"]
        print(f"{sys.argv[1]}: {r['images_per_second']:.1f} images/s, train {r['train_seconds']:.1f} s, "
              f"collectives {100 * share:.1f} % (gradient allreduce {r.get('gradient_allreduce_seconds', 0):.2f} s)")
PY
done
