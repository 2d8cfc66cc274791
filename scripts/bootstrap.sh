#!/usr/bin/env bash
# Installs everything mlprt's build, demo and tests need, then builds and installs mlprt itself.
# Idempotent: a second run only rebuilds what changed. Run as root on Debian 12 (bookworm).
#
#   bash scripts/bootstrap.sh          # then use "$(bash scripts/bootstrap.sh --print-venv)"/bin/python
#
# Environment:
#   MLPRT_VENV          where the Python virtual environment lives (default /opt/mlprt/venv)
#   MLPRT_TESTS_BUILD   a build directory: build the module there together with the C++ tests
#                       (MLPRT_BUILD_TESTS=ON), so that scripts/test.sh compiles the core once for
#                       both; CTest's program cache is MLPRT_CACHE_DIR when set
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${MLPRT_VENV:-/opt/mlprt/venv}
if [ "${1:-}" = "--print-venv" ]; then echo "$venv"; exit 0; fi

say() { printf '[bootstrap] %s\n' "$*"; }
# pip, quietly: some machines list extra local indexes that lack most packages; drop that noise.
pip_install() { "$py" -m pip install -q "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2); }

# --- System packages (Debian) ---------------------------------------------------------------
# clang and its libFuzzer runtime are for scripts/fuzz.sh (Debian 12: clang 14); installed here so
# that a fresh machine runs one apt-get for everything.
debs=(build-essential cmake ninja-build git pkg-config
      ocl-icd-opencl-dev ocl-icd-libopencl1 opencl-headers clinfo
      libclblast-dev pocl-opencl-icd libgtest-dev clang libclang-rt-14-dev)
# Python and venv support only where no usable python3 is on PATH already (e.g. pyenv).
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  debs+=(python3 python3-venv python3-pip python3-dev)
fi
missing=()
for pkg in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- Python packages (PyPI) in a virtual environment --------------------------------------------
if [ ! -x "$venv/bin/python" ]; then
  say "creating virtual environment $venv"
  mkdir -p "$(dirname "$venv")"
  python3 -m venv "$venv"
fi
py="$venv/bin/python"
requirements="$repo/scripts/requirements.txt"
stamp="$venv/.mlprt-requirements.sha256"
want=$(sha256sum "$requirements" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "pip install -r scripts/requirements.txt (torch, onnx, onnxruntime, build tools)"
  pip_install --upgrade pip
  pip_install -r "$requirements"
  echo "$want" > "$stamp"
fi

# --- mlprt itself ---------------------------------------------------------------------------------
build_args=()
if [ -n "${MLPRT_TESTS_BUILD:-}" ]; then
  say "building and installing mlprt, with the C++ tests, in $MLPRT_TESTS_BUILD"
  build_args=(-C "build-dir=$MLPRT_TESTS_BUILD" -C cmake.define.MLPRT_BUILD_TESTS=ON
              -C "cmake.define.MLPRT_TEST_CACHE_DIR=${MLPRT_CACHE_DIR:-$MLPRT_TESTS_BUILD/tests/cpp/program-cache}")
else
  say "building and installing mlprt"
fi
pip_install --no-build-isolation --no-deps "${build_args[@]}" "$repo"
say "ready: $py"
