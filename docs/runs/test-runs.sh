#!/bin/bash
# Test runs of a recipe: `test-runs.sh NAME TRAIN-FLAGS…` trains on all 50,000 training images
# with seeds 1 and 2, one after the other on both cores, into OUT/NAME-s1 and OUT/NAME-s2; then
# evaluates the test set once per run with each test-time augmentation. Run from the repository
# root after `make release`; rerunning resumes an unfinished run from its last checkpoint.
# DATA: the CIFAR-10 folder; OUT: where runs go; SEEDS: which seeds (default "1 2").
[ -n "$1" ] || { echo "usage: test-runs.sh NAME [train flags…]" >&2; exit 64; }
name=$1; shift
B=${B:-.build/release/mobilenet-train}
D=${DATA:-data/cifar-10-batches-bin}
O=${OUT:-runs/test}
for seed in ${SEEDS:-1 2}; do
  dir=$O/$name-s$seed
  [ -f $dir/done ] && continue
  mkdir -p $dir
  if [ -d $dir/ck/last ]; then resume="--resume $dir/ck/last"; else resume=""; fi
  echo "start $(date -u +%FT%TZ)" >> $dir/train.log
  /usr/bin/time -v $B train "$@" --seed $seed --threads 2 \
     --data $D --checkpoint-dir $dir/ck --metrics $dir/metrics.jsonl $resume >> $dir/train.log 2>&1 || exit 1
  echo "train-end $(date -u +%FT%TZ)" >> $dir/train.log
  for tta in flip-shift flip none; do
    /usr/bin/time -f "%e s wall" $B evaluate --checkpoint $dir/ck/last --data $D --threads 2 --tta $tta > $dir/evaluate-$tta.txt 2>&1
    [ $tta = flip-shift ] && echo "end $(date -u +%FT%TZ)" >> $dir/train.log
  done
  touch $dir/done
done
