#!/usr/bin/env bash
# What the open issue (16) waits for on the GPU machine, in one call of under 600 s (each part
# with its own time limit; every log written to $OUT as it goes):
#   1. bench/latency_probe.cpp: a copy enqueue's host time on a plain and on a profiling queue
#      (issue 16 run 8: 2.4 against 8.2 us for a 3 KB write on an H100; streams now start plain);
#   2. bench/benchmark.py, issue 16's targets in one run: the MLP rows on engines of one profile
#      (1, 4096, 4096), the build rows (with the cold build's driver compiles), and --second-level
#      (ResNet-50 FP16 batch 32, YOLOv8n 640x640 FP16 batch 1 from gpu_cnn/, BERT-base FP16
#      batch 32);
#   3. bench/host_overhead.py: the memcpy call taken apart on the plain queues;
#   4. which tactic each MLP layer runs at batch 1 on the (1, 4096, 4096) engines (`mlprt exec
#      --dumpProfile`, `mlprt inspect`);
#   5. the Python tests of streams, events and profilers on the device;
#   6. the tutorial MLP's cold build, FP32 and FP16, with its compiles one at a time, in threads on
#      one context and in threads on contexts of their own (the default);
#   7. the C++ tests in $GTEST_FILTER (attention kernels, streams, events, launch capture), within
#      $GTEST_SECONDS (150);
#   8. the driver's OpenCL extensions (clinfo): cl_khr_command_buffer and the like;
#   9. bench/attention_profile.cpp (BERT-base's attention, every tactic; needs part 7's build);
#  11. bench/mma_tune.cpp on the wgmma configurations (with and without a producer warpgroup)
#      and the offered wgmma and async tiles, at BERT-base's products (b N x K) and 4096^3 (needs
#      part 7's build);
#  12. bench/wgmma_ptxas.cpp: ptxas's report on the wgmma kernels (registers, spills, advisories)
#      and their PTX before and after the patch, into $OUT/ptx (builds the core library if part 7
#      did not);
#  13. bench/cold_build.py: the second-level networks' FP16 builds with every cache empty, each in
#      a fresh process (wall time, driver compiles) and every candidate's timing per step (their
#      verbose logs into $OUT/cold; $COLD_MODELS picks the networks; the builds compile in helper
#      processes, GPUs' default since run 35; MLPRT_PARALLEL_BUILD=contexts in the caller's
#      environment compiles in a context per thread instead, for comparison);
#  14. YOLOv8n 640 b1 FP16 from gpu_cnn/ with --profile (device time by kind, slowest layers) and
#      the Python tests of the kernels changed since the last GPU run ($PYTEST_FILES);
#  15. bench/compile_lock_probe.cpp: 16 programs compiled in one context, a context per thread and
#      a process each (whether the driver's compile lock is the process's; builds the core library
#      if part 7 did not);
#  16. bench/gemv_probe.cpp: how a batch-1 product should read its weights to stream them at the
#      memory's speed (the wide MLP's three layers, FP32 and FP16; K x N with a second kernel adding
#      the K slices, K x N with the last group adding them, N x K read along K by a team per output;
#      against a plain read of the same bytes);
#  17. the wide MLP at batch 1, FP32 and FP16, on the (1, 4096, 4096) engines (the memcpy call, zero
#      copy, device time against PyTorch's graph), without part 2's other rows: the row kernels'
#      reads along K of N x K weights (3f827b0) in the FP16 row;
#  18. bench/row_tune.cpp: mlprt's row-kernel tactics through the library's launcher and as a
#      context replays them, on the layers of part 16 (the builder timed them 4-9 us per layer
#      above gemv_probe's raw kernels of the same pattern in runs 38-39: kernels or launches?);
#  10. where the second-level rows' device time goes: cnn_bench.py and transformer_bench.py with
#      --profile for ResNet-50 FP16 batch 32 and BERT-base FP16 batch 32 (tactics per layer).
# PARTS="1 2 ... 12" picks parts (default "1 2"). Usage (device tool, carrying .devkit, the torchvision wheel of
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
if [[ $parts == *" "[2-6]" "* || $parts == *" 1"[0347]" "* ]] && [[ -z "${SKIP_INSTALL:-}" ]]; then  # SKIP_INSTALL=1: mlprt is importable already
  python3 -m pip install -q --no-deps gpu_extra/torchvision-*.whl > "$out/torchvision.log" 2>&1
  python3 -m pip install --no-build-isolation --no-deps -q . > "$out/pip.log" 2>&1 || { tail -30 "$out/pip.log"; exit 1; }
  # BERT's export needs transformers: the image's where it has one, else a carried wheel (gpu_tx/wheels).
  python3 -c "import transformers" 2>/dev/null || [ ! -d gpu_tx/wheels ] ||
    python3 -m pip install -q --no-deps gpu_tx/wheels/transformers-*.whl >> "$out/pip.log" 2>&1
fi
if [[ $parts == *" 2 "* ]]; then
  TAIL=40 part benchmark 400 python3 bench/benchmark.py --models mlp_784_32_10,mlp_wide --batches 1,4096 \
    --precisions fp32,fp16 --profile-max 4096 --max-seconds 1 --skip-ort-above 1 --second-level \
    --cnn-from gpu_cnn --network-iterations 20 --workdir /tmp/bench-work --json "$out/benchmark.json" \
    --markdown "$out/benchmark.md"
fi
if [[ $parts == *" 3 "* ]]; then
  part host_overhead 60 python3 bench/host_overhead.py --json "$out/host_overhead.json"
fi
if [[ $parts == *" 4 "* || $parts == *" 6 "* ]]; then
  work=/tmp/bench-work  # part 2 exports the models there; else they are exported here
  mkdir -p "$work"
  python3 - "$work" > "$out/export.log" 2>&1 <<'PY'
import sys
from pathlib import Path
sys.path.insert(0, "bench")
import benchmark
for name in ("mlp_784_32_10", "mlp_wide"):
    path = Path(sys.argv[1]) / f"{name}.onnx"
    if not path.exists():
        spec = benchmark.MODELS[name]
        benchmark.export_onnx(benchmark.make_torch_model(spec, 0), spec, path)
PY
fi
if [[ $parts == *" 4 "* ]]; then
  tactics() {  # tactics MODEL.onnx IN_FEATURES [--fp16]: batch-1 profile of a (1, 4096, 4096) engine
    local model=$1 features=$2
    shift 2
    python3 -m mlprt exec --onnx "$model" --minShapes "input:1x$features" --optShapes "input:4096x$features" \
      --maxShapes "input:4096x$features" --shapes "input:1x$features" --dumpProfile --duration 1 \
      --saveEngine /tmp/tactics.engine "$@" && python3 -m mlprt inspect /tmp/tactics.engine
  }
  export -f tactics
  for spec in "mlp_784_32_10 784" "mlp_wide 1024"; do
    set -- $spec
    part "tactics_$1_fp32" 60 bash -c 'tactics "$@"' _ "$work/$1.onnx" "$2"
    part "tactics_$1_fp16" 60 bash -c 'tactics "$@"' _ "$work/$1.onnx" "$2" --fp16
  done
fi
if [[ $parts == *" 6 "* ]]; then
  # The tutorial MLP's cold build (every cache empty), its compiles one at a time (0), in threads
  # on the build's one context (shared: small pools before issue 16 run 38) and as GPUs do by
  # default (1: each thread but the first on a context of its own): each compile's own time, and
  # what the threads overlap. FP16 too (issue 16 run 33: 4.99 s, 19 programs; the JSON's
  # tactic_choices show what each step timed). The default twice (hosts vary).
  for precision in fp32 fp16; do
    for run in 0 shared 1 1_again; do
      parallel=${run%_again}
      rm -rf /tmp/cold-$parallel
      MLPRT_PARALLEL_BUILD=$parallel MLPRT_CACHE_DIR=/tmp/cold-$parallel/mlprt CUDA_CACHE_PATH=/tmp/cold-$parallel/nv \
        part "cold_build_${precision}_parallel_$run" 60 python3 bench/benchmark.py _child-build \
        --onnx "$work/mlp_784_32_10.onnx" --batch 64 $([ $precision = fp16 ] && echo --fp16)
    done
  done
fi
if [[ $parts == *" 7 "* ]]; then
  { cmake -S . -B build/gpu-tests -G Ninja -DMLPRT_BUILD_PYTHON=OFF -DMLPRT_BUILD_TESTS=ON &&
    cmake --build build/gpu-tests -- -j16; } > "$out/cpp_build.log" 2>&1 || tail -20 "$out/cpp_build.log"
  MLPRT_CACHE_DIR=/tmp/mlprt-test-cache part gtest "${GTEST_SECONDS:-150}" build/gpu-tests/tests/cpp/mlprt_tests \
    --gtest_filter="${GTEST_FILTER:-ConvolutionKernels.*Wgmma*:GemmMma.Wgmma*:GemmMma.EveryVariant*:GemmMma.EveryWgmmaConfiguration*:AttentionKernels.*:Stream.*:Event.*:LaunchCapture*}"
fi
if [[ $parts == *" 17 "* ]]; then
  TAIL=20 part benchmark_wide_b1 200 python3 bench/benchmark.py --models mlp_wide --batches 1 --precisions fp32,fp16 \
    --profile-max 4096 --no-build-rows --max-seconds 1 --skip-ort-above 1 --workdir /tmp/bench-work \
    --json "$out/benchmark_wide_b1.json" --markdown "$out/benchmark_wide_b1.md"
fi
if [[ $parts == *" 16 "* ]]; then
  g++ -O2 -std=c++17 bench/gemv_probe.cpp -lOpenCL -o /tmp/gemv_probe && part gemv_probe 120 /tmp/gemv_probe 0 50
fi
if [[ $parts == *" 18 "* ]]; then
  [ -f build/gpu-tests/libmlprt_core.a ] || {
    cmake -S . -B build/gpu-tests -G Ninja -DMLPRT_BUILD_PYTHON=OFF -DMLPRT_BUILD_TESTS=OFF &&
      cmake --build build/gpu-tests --target mlprt_core -- -j16; } > "$out/core_build.log" 2>&1
  g++ -O2 -std=c++17 -Icsrc bench/row_tune.cpp build/gpu-tests/libmlprt_core.a -lclblast -lOpenCL -lpthread \
    -o /tmp/row_tune && TAIL=30 part row_tune 120 /tmp/row_tune 50
fi
if [[ $parts == *" 9 "* ]]; then
  g++ -O2 -std=c++17 -Icsrc bench/attention_profile.cpp build/gpu-tests/libmlprt_core.a -lclblast -lOpenCL \
    -o /tmp/attention_profile && MLPRT_CACHE_DIR=/tmp/mlprt-test-cache part attention_profile 60 /tmp/attention_profile 20
fi
if [[ $parts == *" 11 "* ]]; then
  g++ -O2 -std=c++17 -Icsrc bench/mma_tune.cpp build/gpu-tests/libmlprt_core.a -lclblast -lOpenCL -o /tmp/mma_tune &&
    MLPRT_CACHE_DIR=/tmp/mlprt-test-cache MMA_TUNE_NAMES=wgmma_,mma_f16_async_128x \
      MMA_TUNE_PROBLEMS=4096x2304x768t,4096x768x768t,4096x3072x768t,4096x768x3072t,4096x4096x4096t \
      TAIL=30 part wgmma_tune 150 /tmp/mma_tune 20
fi
if [[ $parts == *" 12 "* ]]; then
  [ -f build/gpu-tests/libmlprt_core.a ] || {
    cmake -S . -B build/gpu-tests -G Ninja -DMLPRT_BUILD_PYTHON=OFF -DMLPRT_BUILD_TESTS=OFF &&
      cmake --build build/gpu-tests --target mlprt_core -- -j16; } > "$out/core_build.log" 2>&1
  mkdir -p "$out/ptx"
  g++ -O2 -std=c++17 -Icsrc bench/wgmma_ptxas.cpp build/gpu-tests/libmlprt_core.a -lclblast -lOpenCL \
    -o /tmp/wgmma_ptxas && TAIL=60 part wgmma_ptxas 60 /tmp/wgmma_ptxas "$out/ptx"
fi
if [[ $parts == *" 15 "* ]]; then
  [ -f build/gpu-tests/libmlprt_core.a ] || {
    cmake -S . -B build/gpu-tests -G Ninja -DMLPRT_BUILD_PYTHON=OFF -DMLPRT_BUILD_TESTS=OFF &&
      cmake --build build/gpu-tests --target mlprt_core -- -j16; } > "$out/core_build.log" 2>&1
  g++ -O2 -std=c++17 -Icsrc bench/compile_lock_probe.cpp build/gpu-tests/libmlprt_core.a -lclblast -lOpenCL -lpthread \
    -o /tmp/compile_lock_probe && rm -rf /tmp/lock-probe && mkdir -p /tmp/lock-probe/mlprt /tmp/lock-probe/nv &&
    MLPRT_CACHE_DIR=/tmp/lock-probe/mlprt CUDA_CACHE_PATH=/tmp/lock-probe/nv part compile_lock_probe 150 /tmp/compile_lock_probe 4
fi
if [[ $parts == *" 10 "* ]]; then
  TAIL=20 part resnet_profile 150 python3 bench/cnn_bench.py --models resnet50:224x224 --batches 32 --precisions fp16 \
    --iterations 20 --profile --json "$out/resnet_profile.json"
  TAIL=20 part bert_profile 150 python3 bench/transformer_bench.py --models bert_base --batches 32 --precisions fp16 \
    --profile --json "$out/bert_profile.json"
fi
if [[ $parts == *" 8 "* ]]; then
  part extensions 30 bash -c 'clinfo; echo "command buffers:"; clinfo | grep -o "cl_[a-z]*_command_buffer[a-z_]*" | sort -u'
fi
if [[ $parts == *" 5 "* ]]; then
  part pytest 120 python3 -m pytest -q -p no:cacheprovider tests/python/test_driver_memory.py \
    tests/python/test_profiler.py tests/python/test_legacy_api.py
fi
if [[ $parts == *" 13 "* ]]; then
  TAIL=60 part cold_builds 420 python3 bench/cold_build.py \
    --models "${COLD_MODELS:-resnet50:224x224:32,yolov8n:640x640:1,bert_base:32:128}" --cnn-from gpu_cnn \
    --out "$out/cold" --workdir /tmp/cold-onnx --json "$out/cold_builds.json"
fi
if [[ $parts == *" 14 "* ]]; then
  TAIL=16 part yolo_profile 150 python3 bench/cnn_bench.py --models yolov8n:640x640 --batches 1 --precisions fp16 \
    --from gpu_cnn --profile --iterations 50 --json "$out/yolo_profile.json"
  [ -z "${PYTEST_FILES:-}" ] || TAIL=4 part pytest_changed 120 python3 -m pytest -q -p no:cacheprovider $PYTEST_FILES
fi
