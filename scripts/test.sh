#!/usr/bin/env bash
# Runs every mlprt test: the C++ suite through CTest, then the Python suite through pytest.
# Installs what it needs first (scripts/bootstrap.sh). Extra arguments go to pytest.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$repo/scripts/bootstrap.sh"
venv=$(bash "$repo/scripts/bootstrap.sh" --print-venv)
py="$venv/bin/python"

# A private program cache, so tests neither read nor write the user's.
export MLPRT_CACHE_DIR=${MLPRT_CACHE_DIR:-$repo/build/test-cache}

echo "== C++ tests (CTest) =="
build="$repo/build/cpp-tests"
cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DMLPRT_BUILD_PYTHON=OFF -DMLPRT_BUILD_TESTS=ON >/dev/null
cmake --build "$build" -- -j"$(nproc)"
ctest --test-dir "$build" --output-on-failure -j1
bash "$repo/scripts/sanitize.sh"

echo "== Python tests (pytest) =="
cd "$repo"
"$py" -m pytest tests/python "$@"
bash "$repo/scripts/fuzz.sh"
