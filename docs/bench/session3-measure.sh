#!/bin/bash
cd "$(dirname "$0")/../.."
echo "== bench-pytorch 2 threads, run 1 $(date)"; make bench-pytorch BENCH_OUT=bench-results/s3a 2>&1 | tail -6
echo "== bench-pytorch 2 threads, run 2 $(date)"; make bench-pytorch BENCH_OUT=bench-results/s3b 2>&1 | tail -6
echo "== bench-pytorch 1 thread $(date)"; make bench-pytorch THREADS=1 BENCH_OUT=bench-results/s3t1 2>&1 | tail -6
echo "== profile + breakdown $(date)"; .build/release/mobilenet-bench run --sections profile breakdown --threads 2 --output bench-results/s3profile 2>&1 | grep -E "^step breakdown|^profiled"
echo "== one epoch $(date)"; rm -rf runs/s3e1; /usr/bin/time -v .build/release/mobilenet-train train --data ../shared/data/cifar-10-batches-bin --epochs 1 --checkpoint-dir runs/s3e1 > runs/s3e1.log 2>&1; grep -E "Maximum resident|Elapsed \(wall" runs/s3e1.log; grep -iE "epoch 1|test" runs/s3e1.log | tail -4
echo "== done $(date)"
