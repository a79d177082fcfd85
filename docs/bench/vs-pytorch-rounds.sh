#!/bin/bash
# Inference beside onnxruntime and PyTorch (make bench-peers; PEERS=0 leaves it out), then
# training beside PyTorch in three interleaved rounds, each thread count's pair back to back
# (TRAIN=0 leaves them out), for this CPU's build and the AVX2 stand-in (ours:
# OPENBLAS_CORETYPE=Haswell; PyTorch: ATEN_CPU_CAPABILITY=avx2 and ONEDNN_MAX_CPU_ISA=AVX2,
# without which its oneDNN convolutions still use AVX-512), then the bound (and profile)
# section of each build, three interleaved rounds. Run from the repository root on a quiet
# machine; it first builds both (make release's flags, and the stand-in: -target-cpu haswell,
# -march=haswell in .build-haswell; nothing to do when they are up to date). Needs torch (and
# for the peers safetensors, onnx and onnxruntime). Then: python3 docs/bench/rounds.py OUT
set -e
O=${1:-bench-results/rounds}; mkdir -p "$O"
failed() { echo "vs-pytorch-rounds.sh: the $1 build failed; its output: $O/build.log" >&2; exit 1; }
swift build -c release -Xswiftc -target-cpu -Xswiftc native -Xcc -march=native --product mobilenet-bench > "$O/build.log" 2>&1 || failed native
swift build -c release -Xswiftc -target-cpu -Xswiftc haswell -Xcc -march=haswell --scratch-path .build-haswell \
  --product mobilenet-bench >> "$O/build.log" 2>&1 || failed haswell
# NATIVE_ENV and AVX2_STANDIN_ENV, the Makefile's (bench-peers uses the same).
envs=$(make -s --no-print-directory bench-env) || failed bench-env
eval "$envs"
[ -n "$NATIVE_ENV" ] && [ -n "$AVX2_STANDIN_ENV" ] || { echo "vs-pytorch-rounds.sh: make bench-env gave no environments" >&2; exit 1; }
set +e
echo "start $(date -u +%T) $(cat /proc/loadavg) $(git rev-parse --short HEAD)"
env $NATIVE_ENV .build/release/mobilenet-bench machine
env $AVX2_STANDIN_ENV .build-haswell/release/mobilenet-bench machine
if [ "${PEERS:-1}" != 0 ]; then make bench-peers BENCH_OUT="$O" > "$O/peers.log" 2>&1; echo "peers done $(date -u +%T)"; fi
# Each thread count's pair runs back to back (ours, then PyTorch, or the other way round),
# so the host's speed, which moves within a minute, is nearly the same for both halves of a
# ratio. Who goes first alternates: ours first in odd rounds of the native build and even
# rounds of the stand-in, and the other way round for the 1-thread pair that follows.
rounds=(1 2 3); [ "${TRAIN:-1}" = 0 ] && rounds=()
for r in "${rounds[@]}"; do
  for kind in native haswell; do
    if [ $kind = native ]; then B=.build/release/mobilenet-bench; E="env $NATIVE_ENV"; else B=.build-haswell/release/mobilenet-bench; E="env $AVX2_STANDIN_ENV"; fi
    D="$O/train-$kind-r$r"; mkdir -p "$D"; rm -f "$D/ours.log"
    ours() { $E $B run --sections network --threads $1 --network-batch-sizes 128 --warmup 3 --runs 10 --output "$D/ours-t$1" >> "$D/ours.log" 2>&1; }
    theirs() { $E python3 scripts/pytorch_bench.py --threads $1 --batch 128 --infer-batch 100 --steps 10 --warmup 3 > "$D/pytorch-t$1.json" 2>"$D/pytorch-t$1.err"; }
    offset=0; [ $kind = haswell ] && offset=1
    order=""
    for t in 2 1; do
      if [ $(( (r + offset + t) % 2 )) = 1 ]; then ours $t; theirs $t; order="$order ${t}t:ours-first"; else theirs $t; ours $t; order="$order ${t}t:PyTorch-first"; fi
    done
    echo "train $kind r$r done ($order ) $(date -u +%T) $(cat /proc/loadavg)"
  done
done
# The bound three times per build, interleaved: the host's speed moves within a minute.
for r in 1 2 3; do
  env $NATIVE_ENV .build/release/mobilenet-bench run --sections bound profile --threads 2 --output "$O/native-bound-r$r" > "$O/native-bound-r$r.log" 2>&1
  env $AVX2_STANDIN_ENV .build-haswell/release/mobilenet-bench run --sections bound profile --threads 2 --output "$O/haswell-bound-r$r" > "$O/haswell-bound-r$r.log" 2>&1
  echo "bound r$r done $(date -u +%T) $(cat /proc/loadavg)"
done
echo "all done $(date -u +%T) $(cat /proc/loadavg)"
