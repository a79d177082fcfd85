#!/bin/bash
# `fast-ls` (fast with label smoothing 0.1: 42 epochs, the first 22 on 24×24 crops) on all
# 50,000 training images with seeds 1 and 2 (../test-runs.sh), the test set evaluated once,
# after the last epoch (--eval-every 0). Run from the repository root after `make release`;
# DATA, OUT as there. The runs gave the same options as --recipe fast --label-smoothing 0.1,
# in another order (… --seed S --threads 2 --eval-every 0 --label-smoothing 0.1 --data …).
exec "$(dirname "$0")/../test-runs.sh" fast-ls --recipe fast --label-smoothing 0.1 --eval-every 0
