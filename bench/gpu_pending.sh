#!/usr/bin/env bash
# What the open issue (16) waits for on the GPU machine, in one call of under 600 s (each part
# with its own time limit; every log written to $OUT as it goes):
#   1. bench/latency_probe.cpp: a copy enqueue's host time on a plain and on a profiling queue
#      (mlprt's streams are profiling queues; its memcpy_htod_async costs 11 us of host time per
#      call on an H100 where a raw enqueue costs 4: issue 16 run 7);
#   2. bench/benchmark.py, issue 16's targets in one run: the MLP rows on engines of one profile
#      (1, 4096, 4096), the build rows, and --second-level (ResNet-50 FP16 batch 32, YOLOv8n
#      640x640 FP16 batch 1 from gpu_cnn/, BERT-base FP16 batch 32).
# PARTS="1 2" picks parts. Usage (device tool, carrying .devkit, the torchvision wheel of
# gpu_extra/ and gpu_cnn/, see ../shared/device/README.md and bench/README.md):
#   source .devkit/setup.sh .devkit >/dev/null 2>&1; bash bench/gpu_pending.sh
# gpu_cnn/ is written where ultralytics is installed:
#   python3 bench/cnn_bench.py --export-to gpu_cnn --models yolov8n:640x640 --batches 1
set -uo pipefail
out=${OUT:-/tmp/mlprt-out}
mkdir -p "$out"
export MLPRT_CACHE_DIR=/tmp/mlprt-cache PYTHONUNBUFFERED=1
parts=" ${PARTS:-1 2} "
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/gpu.txt"

part() {  # part NAME SECONDS COMMAND...: runs COMMAND with a time limit, its output in $OUT/NAME.log
  local name=$1 seconds=$2
  shift 2
  timeout "$seconds" "$@" > "$out/$name.log" 2>&1
  echo "== $name (rc $?) =="
  grep -v "Warning\|warn(" "$out/$name.log" | tail -"${TAIL:-12}"
}

if [[ $parts == *" 1 "* ]]; then
  g++ -O2 -std=c++17 bench/latency_probe.cpp -lOpenCL -o /tmp/latency_probe && part latency 40 /tmp/latency_probe 0 2000
fi
if [[ $parts == *" 2 "* ]]; then
  python3 -m pip install -q --no-deps gpu_extra/torchvision-*.whl > "$out/torchvision.log" 2>&1
  python3 -m pip install --no-build-isolation --no-deps -q . > "$out/pip.log" 2>&1 || { tail -30 "$out/pip.log"; exit 1; }
  TAIL=40 part benchmark 420 python3 bench/benchmark.py --models mlp_784_32_10,mlp_wide --batches 1,4096 \
    --precisions fp32,fp16 --profile-max 4096 --max-seconds 1 --skip-ort-above 1 --second-level \
    --cnn-from gpu_cnn --network-iterations 20 --json "$out/benchmark.json" --markdown "$out/benchmark.md"
fi
