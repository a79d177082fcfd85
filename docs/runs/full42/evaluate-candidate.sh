#!/bin/bash
# Validation (the last 5,000 training images) of a candidate's final weights, each seed whose
# run is done (candidate.sh NAME): plain, flip and flip-shift test-time augmentation, into
# full/NAME-sS/eval-val-TTA.txt. `evaluate-candidate.sh NAME`; B: the trainer.
B=${B:-./mobilenet-train}
D=/work/shared/data/cifar-10-batches-bin
cd "$(dirname "$0")"
[ -n "$1" ] || { echo "usage: evaluate-candidate.sh NAME" >&2; exit 64; }
for seed in ${SEEDS:-1 2}; do
  dir=full/$1-s$seed
  [ -f $dir/done ] || { echo "$dir: not done, skipped"; continue; }
  for tta in none flip flip-shift; do
    out=$dir/eval-val-$tta.txt
    [ -s $out ] && continue
    $B evaluate --checkpoint $dir/ck/last --data $D --split validation --threads 2 --tta $tta > $out 2>&1
    echo "$seed tta=$tta: $(grep -m1 -o 'top-1 [0-9.]*%' $out)"
  done
done
