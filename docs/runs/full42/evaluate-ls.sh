#!/bin/bash
# Validation (the last 5,000 training images) of each label-smoothing run's final weights:
# plain, flip and flip-shift test-time augmentation.
exec "$(dirname "$0")/evaluate-candidate.sh" ls
