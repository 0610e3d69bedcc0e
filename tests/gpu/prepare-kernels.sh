#!/usr/bin/env bash
# Run from the project's root on the CPU machine, after ../shared/gpu/prepare.sh (which puts MNIST into the ignored
# .gpu-carry/): adds the wheels the device image lacks and this device script. Then one device call:
# `bash .gpu-carry/on-gpu.sh` carrying [".gpu-carry"] (about 7 minutes; see tests/gpu/on-gpu-kernels.sh).
set -eu
root=$(git rev-parse --show-toplevel); cd "$root"
[ -d .gpu-carry/data/mnist ] || { echo "run ../shared/gpu/prepare.sh first" >&2; exit 1; }
rm -rf .gpu-carry/wheels && mkdir -p .gpu-carry/wheels
# flashrnn itself is pure Python; ninja builds its fused CUDA kernel on first use; einops serves its Triton kernel.
python3 -m pip download -q --no-deps -d .gpu-carry/wheels "flashrnn==1.0.8" einops ninja
cp tests/gpu/on-gpu-kernels.sh .gpu-carry/on-gpu.sh
du -sh .gpu-carry
