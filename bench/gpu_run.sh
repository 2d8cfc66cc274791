#!/usr/bin/env bash
# One call on the GPU machine (see ../shared/device/README.md): build mlprt, run the C++ and
# Python test suites on the default device (the NVIDIA GPU there), the demo (the tutorial
# workflow on the SimpleMLP), then bench/transfer.py. Logs and JSON go to $OUT.
# Usage (device tool, carrying .devkit and .gpukit):
#   source .devkit/setup.sh .devkit; bash bench/gpu_run.sh
# .gpukit holds wheels the machine lacks for the dynamo exporter tests (onnxscript, onnx_ir,
# ml_dtypes for Python 3.12), fetched here with `pip download`; installed offline when present.
# Note: that machine sets CXX=/opt/gcc/bin/g++, a GCC that links libstdc++ statically; the
# module's --exclude-libs link option (CMakeLists.txt) is what keeps that from crashing.
set -uo pipefail
out=${OUT:-/tmp/mlprt-out}
mkdir -p "$out"
export MLPRT_CACHE_DIR=/tmp/mlprt-cache PYTHONUNBUFFERED=1
status=0
clinfo -l 2>&1 | tee "$out/clinfo.txt"
if [ -d .gpukit ]; then
  python3 -m pip install -q --no-index --find-links .gpukit onnxscript > "$out/gpukit.log" 2>&1 || tail -5 "$out/gpukit.log"
fi
python3 -m pip install --no-build-isolation --no-deps -q . > "$out/build.log" 2>&1 || { tail -40 "$out/build.log"; exit 1; }
python3 -m mlprt devices
{
  cmake -S . -B build/gpu-tests -G Ninja -DMLPRT_BUILD_PYTHON=OFF -DMLPRT_BUILD_TESTS=ON >/dev/null &&
  cmake --build build/gpu-tests -- -j16 >/dev/null &&
  ctest --test-dir build/gpu-tests --output-on-failure -j1
} > "$out/ctest.log" 2>&1 || status=1
tail -5 "$out/ctest.log"
python3 -m pytest tests/python -q -ra --durations=15 > "$out/pytest.log" 2>&1 || status=1
tail -8 "$out/pytest.log"
python3 examples/simple_mlp_tutorial.py --workdir /tmp/mlprt-demo 2>&1 | tee "$out/demo.txt" || status=1
python3 bench/transfer.py --build-baseline --json "$out/transfer.json" "$@" 2>&1 | tee "$out/transfer.md" || status=1
exit $status
