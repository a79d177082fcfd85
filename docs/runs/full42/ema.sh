#!/bin/bash
# --recipe fast with --ema-decay 0.999 over the full 42 epochs on 45,000 images (validation:
# the last 5,000), seeds 1 and 2 side by side on one thread each. The raw weights of each run are
# `fast`'s of the same seed bit for bit (the average does not feed back into training), so each
# run gives both candidates. Rerunning resumes an unfinished run from its last checkpoint.
B=${B:-./mobilenet-train}
D=/work/shared/data/cifar-10-batches-bin
cd "$(dirname "$0")"
run() { # seed
  local seed=$1 dir=full/ema-s$1
  [ -f $dir/done ] && return
  mkdir -p $dir
  if [ -d $dir/ck/last ]; then resume="--resume $dir/ck/last"; else resume=""; fi
  echo "start $(date -u +%FT%TZ)" >> $dir/train.log
  /usr/bin/time -v $B train --recipe fast --ema-decay 0.999 --val-split 5000 --seed $seed --threads 1 \
     --data $D --checkpoint-dir $dir/ck --metrics $dir/metrics.jsonl --tta flip-shift $resume \
     >> $dir/train.log 2>&1 && touch $dir/done
  echo "end $(date -u +%FT%TZ)" >> $dir/train.log
}
run 1 & run 2 & wait
