#!/bin/bash
# `fast` (36 epochs on all 50,000 training images) with seeds 1 and 2 (../test-runs.sh). Run
# from the repository root after `make release`; DATA, OUT as there.
exec "$(dirname "$0")/../test-runs.sh" fast36 --recipe fast --epochs 36
