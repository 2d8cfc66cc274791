#!/usr/bin/env bash
# A short, targeted call on the GPU machine (for sessions with little device time left; the full
# suites are bench/gpu_run.sh and bench/gpu_bench.sh): builds the module and the C++ tests in
# parallel, runs the C++ tests matching $GTEST_FILTER, times the tensor-core GEMM variants
# (bench/mma_tune.cpp; MMA_TUNE=0 skips it), profiles them when MMA_PROFILE=1 (bench/mma_profile.cpp),
# runs the pytest files in $PYTEST_FILES, bench/host_overhead.py when
# HOST_OVERHEAD=1, then bench/benchmark.py with the given arguments (and again with
# $BENCH_ARGS2 when set). Each part has its own time limit, and every log is written to $OUT as it goes,
# so a part that runs long costs that part only.
# Usage (device tool, carrying .devkit and .gpukit):
#   source .devkit/setup.sh .devkit; GTEST_FILTER='LaunchCapture*' PYTEST_FILES=tests/python/test_zero_copy.py \
#     bash bench/gpu_check.sh --models mlp_784_32_10 --batches 1,64 --precisions fp32 --quick --no-build-rows
set -uo pipefail
out=${OUT:-/tmp/mlprt-out}
mkdir -p "$out"
export MLPRT_CACHE_DIR=/tmp/mlprt-cache PYTHONUNBUFFERED=1
status=0
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv > "$out/gpu.txt" 2>&1
(python3 -m pip install --no-build-isolation --no-deps -q . > "$out/pip.log" 2>&1; echo "pip rc=$?" >> "$out/pip.log") &
pip_pid=$!
{
  cmake -S . -B build/gpu-tests -G Ninja -DMLPRT_BUILD_PYTHON=OFF -DMLPRT_BUILD_TESTS=ON &&
  cmake --build build/gpu-tests -- -j10 &&
  g++ -O2 -std=c++17 -Icsrc bench/mma_tune.cpp build/gpu-tests/libmlprt_core.a -lclblast -lOpenCL \
    -o build/gpu-tests/mma_tune &&
  g++ -O2 -std=c++17 -Icsrc bench/mma_profile.cpp build/gpu-tests/libmlprt_core.a -lclblast -lOpenCL \
    -o build/gpu-tests/mma_profile
} > "$out/build.log" 2>&1 || { status=1; tail -30 "$out/build.log"; }
if [ -n "${GTEST_FILTER:-}" ] && [ -x build/gpu-tests/tests/cpp/mlprt_tests ]; then
  MLPRT_CACHE_DIR=/tmp/mlprt-test-cache timeout "${GTEST_TIMEOUT:-120}" build/gpu-tests/tests/cpp/mlprt_tests \
    --gtest_filter="$GTEST_FILTER" > "$out/gtest.txt" 2>&1 || status=1
  grep -E "^\[  (PASSED|FAILED) |FAILED \]|Failure" "$out/gtest.txt" | head -30
fi
if [ -x build/gpu-tests/mma_tune ] && [ "${MMA_TUNE:-1}" != 0 ]; then
  timeout "${MMA_TUNE_TIMEOUT:-90}" build/gpu-tests/mma_tune "${MMA_TUNE_REPS:-20}" > "$out/mma_tune.txt" 2>&1 || status=1
  cat "$out/mma_tune.txt" | tail -40
fi
if [ "${MMA_PROFILE:-0}" = 1 ] && [ -x build/gpu-tests/mma_profile ]; then
  MLPRT_CACHE_DIR=/tmp/mlprt-profile-cache timeout "${MMA_PROFILE_TIMEOUT:-120}" build/gpu-tests/mma_profile \
    "${MMA_TUNE_REPS:-20}" > "$out/mma_profile.txt" 2>&1 || status=1
  cat "$out/mma_profile.txt"
fi
wait $pip_pid
tail -2 "$out/pip.log"
if [ -n "${PYTEST_FILES:-}" ]; then
  # shellcheck disable=SC2086
  timeout "${PYTEST_TIMEOUT:-150}" python3 -m pytest $PYTEST_FILES -q -ra > "$out/pytest.txt" 2>&1 || status=1
  tail -5 "$out/pytest.txt"
fi
if [ "${HOST_OVERHEAD:-0}" = 1 ]; then
  timeout 90 python3 bench/host_overhead.py --json "$out/host_overhead.json" 2>&1 | tee "$out/host_overhead.txt" || status=1
fi
if [ $# -gt 0 ]; then
  timeout "${BENCH_TIMEOUT:-200}" python3 bench/benchmark.py --json "$out/benchmark.json" \
    --markdown "$out/benchmark.md" --build-timeout 120 "$@" > "$out/benchmark.txt" 2>&1 || status=1
  tail -40 "$out/benchmark.txt"
fi
if [ -n "${BENCH_ARGS2:-}" ]; then  # a second slice, e.g. another model at other batches
  # shellcheck disable=SC2086
  timeout "${BENCH_TIMEOUT:-200}" python3 bench/benchmark.py --json "$out/benchmark2.json" \
    --markdown "$out/benchmark2.md" --build-timeout 120 $BENCH_ARGS2 > "$out/benchmark2.txt" 2>&1 || status=1
  tail -30 "$out/benchmark2.txt"
fi
exit $status
