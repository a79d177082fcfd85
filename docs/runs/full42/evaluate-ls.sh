#!/bin/bash
# Validation (the last 5,000 training images) of each label-smoothing run's final weights:
# plain, flip and flip-shift test-time augmentation.
B=${B:-./mobilenet-train}
D=/work/shared/data/cifar-10-batches-bin
cd "$(dirname "$0")"
for seed in 1 2; do
  dir=full/ls-s$seed
  for tta in none flip flip-shift; do
    out=$dir/eval-val-$tta.txt
    [ -s $out ] && continue
    $B evaluate --checkpoint $dir/ck/last --data $D --split validation --threads 2 --tta $tta > $out 2>&1
    echo "$seed tta=$tta: $(grep -m1 -o 'top-1 [0-9.]*%' $out)"
  done
done
