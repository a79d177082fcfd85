#!/bin/bash
# The training step before and after the per-thread slots (ChannelMap: after = the
# normalised input in slots, after2 = the depthwise output too), beside PyTorch, in
# three interleaved rounds, for this CPU's build and the AVX2 stand-in; then the bound
# section of each. Run on a quiet machine from this folder, holding before/, after/ and after2/
# (each a clone, built with build.sh); needs torch.
O=${1:-out}; mkdir -p $O
R=${REPO:-after2}; P=$R/scripts/pytorch_bench.py
echo "start $(date -u +%T) $(cat /proc/loadavg)"
python3 $R/scripts/machine.py
for r in 1 2 3; do
  for kind in native haswell; do
    if [ $kind = native ]; then S=.build; E="env -u OPENBLAS_CORETYPE -u ATEN_CPU_CAPABILITY"; else S=.build-haswell; E="env OPENBLAS_CORETYPE=Haswell ATEN_CPU_CAPABILITY=avx2"; fi
    D=$O/$kind-r$r; mkdir -p $D
    for v in before after after2; do
      $E $v/$S/release/mobilenet-bench run --sections network --threads 1 2 --network-batch-sizes 128 --warmup 3 --runs 10 --output $D/$v > $D/$v.log 2>&1
    done
    for t in 1 2; do $E python3 $P --threads $t --batch 128 --infer-batch 100 --steps 10 --warmup 3 > $D/pytorch-t$t.json 2>$D/pytorch-t$t.err; done
    echo "$kind r$r done $(date -u +%T) $(cat /proc/loadavg)"
  done
done
for v in before after2; do
  /usr/bin/time -v $v/.build/release/mobilenet-train train --epochs 1 --threads 2 --data ${DATA:-../shared/data/cifar-10-batches-bin} --checkpoint-dir $O/rss-$v/ck --metrics $O/rss-$v/metrics.jsonl > $O/rss-$v.log 2>&1
  env -u OPENBLAS_CORETYPE $v/.build/release/mobilenet-bench run --sections bound profile --threads 2 --output $O/bound-native-$v > $O/bound-native-$v.log 2>&1
  env OPENBLAS_CORETYPE=Haswell $v/.build-haswell/release/mobilenet-bench run --sections bound profile --threads 2 --output $O/bound-haswell-$v > $O/bound-haswell-$v.log 2>&1
done
echo "all done $(date -u +%T) $(cat /proc/loadavg)"
