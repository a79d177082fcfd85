#!/bin/bash
# Is our training step slower right after PyTorch's benchmark than right after our own? Five
# times: ours (a), ours again (b), PyTorch; from the second time on, (a) follows PyTorch and (b)
# follows ours. Native build, 2 threads, batch 128. Run from the repository root after the
# native build of docs/bench/vs-pytorch-rounds.sh, on a quiet machine; needs torch.
E="env -u OPENBLAS_CORETYPE -u ATEN_CPU_CAPABILITY -u ONEDNN_MAX_CPU_ISA"
for i in 1 2 3 4 5; do
  for v in a b; do
    $E .build/release/mobilenet-bench run --sections network --threads 2 --network-batch-sizes 128 \
      --warmup 3 --runs 10 2>&1 | grep "^network, 2" | sed "s/^/$i ours-$v /"
  done
  $E python3 scripts/pytorch_bench.py --threads 2 --batch 128 --infer-batch 100 --steps 10 --warmup 3 \
    2>/dev/null | sed "s/^/$i pytorch /"
done
