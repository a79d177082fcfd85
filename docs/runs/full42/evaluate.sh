#!/bin/bash
# Validation (the last 5,000 training images) of each run's trained weights and EMA, as they
# are and with BatchNorm recalibrated in memory (evaluate --bn-recalibrate, exactly what
# train --bn-recalibrate would save) over 5,000 training images in the eval or the train
# transform; plain and with flip-shift test-time augmentation. B: a build with --bn-recalibrate-transform.
B=${B:-./mobilenet-train-eval}
D=/work/shared/data/cifar-10-batches-bin
cd "$(dirname "$0")"
for seed in 1 2; do
  dir=full/ema-s$seed
  for weights in raw ema; do
    w=""; [ $weights = raw ] && w="--raw-weights"
    for recal in none eval train; do
      r=""; [ $recal != none ] && r="--bn-recalibrate 5000 --bn-recalibrate-transform $recal"
      for tta in none flip-shift; do
        out=$dir/eval-$weights-recal-$recal-$tta.txt
        [ -s $out ] && continue
        $B evaluate --checkpoint $dir/ck/last $w --data $D --split validation --threads 2 --tta $tta $r > $out 2>&1
        echo "$seed $weights recal=$recal tta=$tta: $(grep -m1 -o 'top-1 [0-9.]*%' $out)"
      done
    done
  done
done
