#!/bin/bash
# The speed figures of docs/results.md in one script: make bench-pytorch twice at 2 threads and
# once at 1, the step profile, and one full epoch under /usr/bin/time -v. DATA=folder overrides
# the CIFAR-10 location. Run it on a quiet machine.
cd "$(dirname "$0")/../.."
echo "== bench-pytorch 2 threads, run 1 $(date)"; make bench-pytorch BENCH_OUT=bench-results/speed-a 2>&1 | tail -6
echo "== bench-pytorch 2 threads, run 2 $(date)"; make bench-pytorch BENCH_OUT=bench-results/speed-b 2>&1 | tail -6
echo "== bench-pytorch 1 thread $(date)"; make bench-pytorch THREADS=1 BENCH_OUT=bench-results/speed-t1 2>&1 | tail -6
echo "== profile + breakdown $(date)"; .build/release/mobilenet-bench run --sections profile breakdown --threads 2 --output bench-results/speed-profile 2>&1 | grep -E "^step breakdown|^profiled"
echo "== one epoch $(date)"; rm -rf runs/speed-epoch; /usr/bin/time -v .build/release/mobilenet-train train --data "${DATA:-data/cifar-10-batches-bin}" --epochs 1 --checkpoint-dir runs/speed-epoch > runs/speed-epoch.log 2>&1; grep -E "Maximum resident|Elapsed \(wall" runs/speed-epoch.log; grep -iE "epoch 1|test" runs/speed-epoch.log | tail -4
echo "== done $(date)"
