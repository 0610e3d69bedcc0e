#!/usr/bin/env bash
# Issue 22's device run, ON the GPU machine from the project's root (prepared by tests/gpu/prepare-kernels.sh):
# every recurrent kernel against cuDNN — exactness, the step and auxiliary stack side by side, and a short MNIST
# learning curve under each. Results go to $OUT, a few small files.
OUT=${OUT:-./gpu-results}; mkdir -p "$OUT"
SCRATCH=$(mktemp -d)
export PYTHONUNBUFFERED=1 AUXLSTM_DATA_DIR=$PWD/.gpu-carry/data
# Wheels are zip files: unpacked, not installed, so the device's python3 needs no pip. ninja's binary is a script
# of its wheel's data folder; FlashRNN's fused kernel calls it to compile on first use.
for wheel in .gpu-carry/wheels/*.whl; do python3 -m zipfile -e "$wheel" "$SCRATCH/site"; done
chmod +x "$SCRATCH"/site/ninja-*.data/scripts/ninja 2>/dev/null
export PYTHONPATH=$PWD:$SCRATCH/site PATH=$(echo "$SCRATCH"/site/ninja-*.data/scripts):$PATH
T0=$(date +%s); el() { echo $(( $(date +%s) - T0 )); }
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv; which nvcc ninja
  python3 -c "import torch;print('torch',torch.__version__,torch.cuda.get_device_name(),'cudnn',torch.backends.cudnn.version())"; } > "$OUT/env.txt" 2>&1
KERNELS="flashrnn-fused flashrnn-triton"
# 1. Exactness in fp32 (TF32 off): the auxiliary stack and whole r/p-LSTM losses against cuDNN. Compiles FlashRNN.
timeout 180 python3 -m tests.gpu.kernel_check --kernels $KERNELS > "$OUT/exactness.txt" 2>&1
echo "exactness rc=$? t=$(el)" >> "$OUT/env.txt"
# 2. The step and the auxiliary stack under every kernel, the cuDNN baseline in the same run.
timeout 180 python3 -m study.bench --device cuda --batch 128 --lengths 784 --repeats 5 --kernels cudnn $KERNELS \
    --variants "lstm full BPTT" "r_lstm truncate300" "p_lstm truncate300" > "$OUT/bench.txt" 2>&1
echo "bench rc=$? t=$(el)" >> "$OUT/env.txt"
# 3. r-LSTM Truncate300 on MNIST, same seed, fp32: 1 pretraining + 2 joint epochs of 100 steps under each kernel.
for kernel in cudnn $KERNELS; do
  timeout 60 python3 -m study.train --config study/configs/table2_r_lstm_truncate300.yaml --set aux.pretrain_epochs=1 \
      --set train.epochs=2 --set data.limit_train=12800 --set data.limit_eval=2000 \
      --set model.recurrent_kernel=$kernel --out "$SCRATCH/$kernel" > "$OUT/curve-$kernel.txt" 2>&1
  echo "curve $kernel rc=$? t=$(el)" >> "$OUT/env.txt"
done
echo "done t=$(el)" >> "$OUT/env.txt"
