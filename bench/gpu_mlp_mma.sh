#!/usr/bin/env bash
# One call on the GPU machine for the tensor-core fused MLP (issue 5's FP16 target): builds the
# C++ tests and bench/mlp_mma_tune.cpp, times the kernel configurations against the per-layer
# GEMMs, runs the fused-MLP and tensor-core tests on the GPU, installs the module and runs
# bench/mlp_mma_engine.py (the builder's choice for 8 x 256 FP16 at batch 4096, device-only
# time vs PyTorch FP16 graph replay). Logs go to $OUT.
# Usage (device tool, carrying .devkit):  source .devkit/setup.sh .devkit; bash bench/gpu_mlp_mma.sh
set -uo pipefail
out=${OUT:-/tmp/mlprt-out}
mkdir -p "$out"
export MLPRT_CACHE_DIR=/tmp/tcmlp-cache PYTHONUNBUFFERED=1
py=python3
$py -c 'import torch' 2>/dev/null || py=/opt/torch/.venv/bin/python3
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv > "$out/gpu.txt" 2>&1
(MAKEFLAGS=-j6 CMAKE_BUILD_PARALLEL_LEVEL=6 $py -m pip install --no-build-isolation --no-deps -q . > "$out/pip.log" 2>&1
 echo "pip rc=$?" >> "$out/pip.log") &
pip_pid=$!
{
  cmake -S . -B build/gpu-tests -G Ninja -DMLPRT_BUILD_PYTHON=OFF -DMLPRT_BUILD_TESTS=ON &&
  cmake --build build/gpu-tests -- -j10 &&
  g++ -O2 -std=c++17 -Icsrc bench/mlp_mma_tune.cpp build/gpu-tests/libmlprt_core.a -lclblast -lOpenCL \
    -o build/gpu-tests/mlp_mma_tune
} > "$out/build.log" 2>&1 || tail -30 "$out/build.log"
timeout 100 build/gpu-tests/mlp_mma_tune 50 2>&1 | tee "$out/tune.txt"
timeout 120 build/gpu-tests/tests/cpp/mlprt_tests \
  --gtest_filter='FusedMlpMma.*:GemmMma.Probe*:FusedMlp.*:MlpFusion.*' > "$out/tests.txt" 2>&1
grep -E "^\[  (PASSED|FAILED) |OK \]|FAILED \]|Failure|error" "$out/tests.txt" | head -40
wait $pip_pid
tail -3 "$out/pip.log"
timeout 150 $py bench/mlp_mma_engine.py --json "$out/engine.json" 2>&1 | tee "$out/engine.txt"
# The issue 5 benchmark's row for this model (mlprt vs PyTorch eager / graphs / ORT).
timeout 150 $py bench/benchmark.py --models mlp_deep --batches 4096 --precisions fp16 --no-build-rows \
  --no-cold-all --quick --markdown "$out/benchmark.md" > "$out/benchmark.txt" 2>&1
tail -25 "$out/benchmark.txt"
# The whole C++ suite on the GPU.
timeout 150 ctest --test-dir build/gpu-tests -j4 > "$out/ctest.txt" 2>&1
tail -8 "$out/ctest.txt"
