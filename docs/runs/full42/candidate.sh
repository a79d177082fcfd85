#!/bin/bash
# One full-budget candidate: `candidate.sh NAME FLAGS…` trains --recipe fast plus FLAGS over the
# full 42 epochs on 45,000 images (validation: the last 5,000), seeds 1 and 2 side by side on
# one thread each (SIDE_BY_SIDE=0: one after the other on two threads), into full/NAME-s1 and
# full/NAME-s2. Rerunning resumes an unfinished run from its last checkpoint. B: the trainer.
B=${B:-./mobilenet-train}
D=/work/shared/data/cifar-10-batches-bin
cd "$(dirname "$0")"
[ -n "$1" ] || { echo "usage: candidate.sh NAME [train flags…]" >&2; exit 64; }
name=$1; shift
run() { # seed
  local seed=$1 dir=full/$name-s$1
  [ -f $dir/done ] && return
  mkdir -p $dir
  if [ -d $dir/ck/last ]; then resume="--resume $dir/ck/last"; else resume=""; fi
  echo "start $(date -u +%FT%TZ)" >> $dir/train.log
  /usr/bin/time -v $B train --recipe fast "${flags[@]}" --val-split 5000 --seed $seed --threads $threads \
     --data $D --checkpoint-dir $dir/ck --metrics $dir/metrics.jsonl --tta flip-shift $resume \
     >> $dir/train.log 2>&1 && touch $dir/done
  echo "end $(date -u +%FT%TZ)" >> $dir/train.log
}
flags=("$@")
if [ "${SIDE_BY_SIDE:-1}" = 0 ]; then threads=2; run 1; run 2
else threads=1; run 1 & run 2 & wait; fi
