#!/usr/bin/env bash
# The fuzzers in their bounded, reproducible CI form (fixed seeds and run counts; a few minutes
# on 2 cores): the libFuzzer target over the engine file reader (C++, ASan + UBSan), then the
# Python fuzzers over OnnxParser.parse and Runtime.deserialize_cuda_engine (atheris). Exits
# non-zero on any finding; the input that caused it is kept under build/fuzz/artifacts.
#
#   bash scripts/fuzz.sh                 # after scripts/bootstrap.sh
#   FUZZ_SCALE=20 bash scripts/fuzz.sh   # 20 times the runs (docs/reliability.md, "Fuzzing")
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
py="$(bash "$repo/scripts/bootstrap.sh" --print-venv)/bin/python"
scale=${FUZZ_SCALE:-1}
build="$repo/build/fuzz"
artifacts="$build/artifacts"
export MLPRT_CACHE_DIR=${MLPRT_CACHE_DIR:-$repo/build/test-cache}
# Drops libFuzzer's progress lines and dictionary, and PoCL's compiler chatter; with pipefail, a pipeline into it
# keeps the fuzzer's exit status.
quiet() {
  sed -E '/^#[0-9]+.*(NEW|REDUCE|pulse)/d; /^INFO: Instrumenting/d; /warnings? generated/d; /^"/d; /dictionary/d'
}

# clang and its libFuzzer runtime, only for this step (Debian 12: clang 14).
missing=()
for pkg in clang libclang-rt-14-dev; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "[fuzz] apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

echo "== Fuzzing: engine file reader (libFuzzer, ASan + UBSan) =="
cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DMLPRT_BUILD_PYTHON=OFF -DMLPRT_BUILD_TESTS=OFF -DMLPRT_BUILD_FUZZERS=ON >/dev/null
cmake --build "$build" --target fuzz_engine_format -- -j"$(nproc)"
# libFuzzer adds what it learns to the first corpus directory: a scratch copy, not the seeds.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$artifacts"
# Allocations are capped at 64 MiB for inputs of at most 128 KiB: a file cannot make the reader
# allocate far beyond its own size.
"$build/tests/fuzz/fuzz_engine_format" -seed=1 -runs=$((400000 * scale)) -max_len=131072 \
  -malloc_limit_mb=64 -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
  -artifact_prefix="$artifacts/" "$work" "$repo/tests/fuzz/corpus/engine" 2>&1 | quiet ||
  { echo "[fuzz] engine file reader: FINDING (see $artifacts)"; exit 1; }

cd "$repo/tests/fuzz"
# Python's per-process string hashing changes set and dict order, and with it coverage and the
# mutations chosen: fix it so that a CI run is the same run every time.
export PYTHONHASHSEED=0
echo "== Fuzzing: OnnxParser.parse (atheris) =="
"$py" fuzz_onnx_parser.py --seed 1 --runs $((40000 * scale)) --artifacts "$artifacts/onnx" 2>&1 | quiet ||
  { echo "[fuzz] OnnxParser.parse: FINDING (see $artifacts/onnx)"; exit 1; }

echo "== Fuzzing: Runtime.deserialize_cuda_engine (atheris) =="
"$py" fuzz_deserialize.py --seed 1 --runs $((40000 * scale)) --artifacts "$artifacts/deserialize" 2>&1 | quiet ||
  { echo "[fuzz] deserialize_cuda_engine: FINDING (see $artifacts/deserialize)"; exit 1; }
echo "[fuzz] no findings"
