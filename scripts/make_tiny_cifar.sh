#!/usr/bin/env bash
# Writes a tiny CIFAR-10 binary folder of noise for the scripts' end-to-end checks: five
# training files and a test file of RECORDS records each (label r mod 10, then 3072 pixel
# bytes from awk's seeded rand, so every run sees the same images), and batches.meta.txt.
# Usage: scripts/make_tiny_cifar.sh FOLDER RECORDS
set -euo pipefail
folder=${1:?usage: make_tiny_cifar.sh FOLDER RECORDS}
records=${2:?usage: make_tiny_cifar.sh FOLDER RECORDS}
mkdir -p "$folder"
n=0
for f in data_batch_1 data_batch_2 data_batch_3 data_batch_4 data_batch_5 test_batch; do
  n=$((n + 1))
  LC_ALL=C awk -v seed="$n" -v records="$records" 'BEGIN { srand(seed * 7919 + 17); for (r = 0; r < records; r++) { printf "%c", r % 10; for (i = 0; i < 3072; i++) printf "%c", int(rand() * 256) } }' \
    > "$folder/$f.bin"
done
printf 'airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n' > "$folder/batches.meta.txt"
