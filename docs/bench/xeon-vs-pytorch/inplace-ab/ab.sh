#!/bin/bash
# before/after A/B of the bound section, 2 threads, three interleaved rounds (native build).
cd /work/ab
for r in 1 2 3; do
  for v in before after; do
    env -u OPENBLAS_CORETYPE ./bench-$v run --sections bound --threads 2 --output out/$v-bound-r$r > out/$v-bound-r$r.log 2>&1
  done
  echo "round $r done $(date -u +%T) $(cat /proc/loadavg)"
done
