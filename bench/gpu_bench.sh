#!/usr/bin/env bash
# One call on the GPU machine (see ../shared/device/README.md): build and install mlprt, then run
# bench/benchmark.py (issue 5: mlprt vs PyTorch eager / CUDA graphs / ONNX Runtime) with its JSON,
# plot and markdown written to $OUT. Extra arguments go to benchmark.py.
# Usage (device tool, carrying .devkit, optionally .gpukit):
#   source .devkit/setup.sh .devkit; bash bench/gpu_bench.sh
#   source .devkit/setup.sh .devkit; bash bench/gpu_bench.sh --quick --no-build-rows
# The machine's image has torch (CUDA), onnx, onnxruntime and matplotlib; a carried .gpukit
# (wheels, as for gpu_run.sh) is installed offline first in case matplotlib is missing, and
# without matplotlib benchmark.py prints a note instead of drawing the plot.
set -uo pipefail
out=${OUT:-/tmp/mlprt-out}
mkdir -p "$out"
export MLPRT_CACHE_DIR=/tmp/mlprt-cache PYTHONUNBUFFERED=1
if [ -d .gpukit ]; then
  python3 -m pip install -q --no-index --find-links .gpukit matplotlib \
    > "$out/gpukit.log" 2>&1 || tail -5 "$out/gpukit.log"
fi
python3 -m pip install --no-build-isolation --no-deps -q . > "$out/build.log" 2>&1 ||
  { tail -40 "$out/build.log"; exit 1; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv 2>&1 | tee "$out/gpu.txt"
python3 -m mlprt devices
# --build-timeout: a build that hangs (say, in the OpenCL compiler) fails its row, not the run.
python3 bench/benchmark.py --json "$out/benchmark.json" --plot "$out/latency.png" \
  --markdown "$out/benchmark.md" --build-timeout 120 "$@" 2>&1 | tee "$out/benchmark.txt"
exit "${PIPESTATUS[0]}"
