#!/bin/bash
# Full-budget ranking check: --recipe fast (42 epochs, 22 of them on 24×24 crops) against the
# same with --schedule linear, seed by seed, the two candidates side by side on one thread each.
B=build-full/mobilenet-train
D=DATA
cd "$(dirname "$0")"
run() { # name seed flags...
  local name=$1 seed=$2; shift 2
  local dir=full/$name-s$seed
  if [ -f $dir/done ]; then return; fi
  mkdir -p $dir
  if [ -d $dir/ck/last ]; then resume="--resume $dir/ck/last"; else resume=""; fi
  /usr/bin/time -v $B train --recipe fast --val-split 5000 --seed $seed --threads 1 \
     --data $D --checkpoint-dir $dir/ck --metrics $dir/metrics.jsonl --tta flip-shift $resume "$@" \
     >> $dir/train.log 2>&1 && touch $dir/done
}
for seed in 1 2; do
  run fast $seed & run linear $seed --schedule linear & wait
done
