#!/usr/bin/env bash
# Runs every mlprt test: the C++ suite through CTest, the same suite under ASan+UBSan and a part
# under TSan (scripts/sanitize.sh) beside the bounded fuzzers (scripts/fuzz.sh), then the Python
# suite through pytest. Installs what it needs first (scripts/bootstrap.sh). Extra arguments go to
# pytest. Exits non-zero on any failure; prints the time of each phase at the end.
#
# A run compiles each OpenCL kernel variant once: every suite shares one mlprt program cache
# (MLPRT_CACHE_DIR) and one PoCL kernel cache (POCL_CACHE_DIR, else PoCL's ~/.cache/pocl), and the
# pip install of the module builds the C++ tests in the same build directory, so the core is
# compiled once for both.
#
# Environment:
#   MLPRT_CACHE_DIR   the program cache of every suite (default build/test-cache)
#   MLPRT_TEST_JOBS   test processes run side by side by CTest and pytest (default: nproc)
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export MLPRT_TEST_JOBS=${MLPRT_TEST_JOBS:-$(nproc)}
jobs=$MLPRT_TEST_JOBS
# A private program cache, so tests neither read nor write the user's; one for the whole run.
export MLPRT_CACHE_DIR=${MLPRT_CACHE_DIR:-$repo/build/test-cache}
mkdir -p "$MLPRT_CACHE_DIR"
# PoCL (the CPU OpenCL of CI) compiles a kernel twice by default: generically when its program's
# binary is read (the program cache reads every binary it compiles), then again, specialized to
# the local size, at its first launch. The generic function alone runs the same kernel code at
# every local size: the specialized compile is skipped, unless the caller asks for it.
export POCL_WORK_GROUP_SPECIALIZATION=${POCL_WORK_GROUP_SPECIALIZATION:-0}
build="$repo/build/cpp-tests"

run_start=$(date +%s)
phase_start=$run_start
timings=()
end_phase() {  # <name>: records how long the phase that ends now took
  local now
  now=$(date +%s)
  timings+=("$(printf '%-34s %5d s' "$1" $((now - phase_start)))")
  phase_start=$now
}
summary() {
  local status=$?
  echo "== Time per phase =="
  local line
  for line in "${timings[@]}"; do echo "$line"; done
  printf '%-34s %5d s%s\n' "total" $(($(date +%s) - run_start)) \
    "$([ "$status" -eq 0 ] || echo " (FAILED, exit status $status)")"
}
trap summary EXIT

echo "== Bootstrap (packages, mlprt module and C++ tests in $build) =="
MLPRT_TESTS_BUILD="$build" bash "$repo/scripts/bootstrap.sh"
venv=$(bash "$repo/scripts/bootstrap.sh" --print-venv)
py="$venv/bin/python"
end_phase "bootstrap + build"

echo "== C++ tests (CTest, $jobs at a time) =="
ctest --test-dir "$build" --output-on-failure -j"$jobs"
end_phase "C++ tests (CTest)"

# The fuzzers run one process at a time, as does the TSan suite: side by side they keep both
# cores of a CI machine busy. The fuzzers' output is shown when both are done.
fuzz_log="$repo/build/fuzz-output.log"
mkdir -p "$repo/build"
fuzz_time="$repo/build/fuzz-seconds"
rm -f "$fuzz_time"
(
  start=$(date +%s)
  status=0
  bash "$repo/scripts/fuzz.sh" || status=$?
  echo $(($(date +%s) - start)) >"$fuzz_time"
  exit "$status"
) >"$fuzz_log" 2>&1 &
fuzz_pid=$!
sanitize_status=0
bash "$repo/scripts/sanitize.sh" || sanitize_status=$?
end_phase "sanitizers (ASan+UBSan, TSan)"
fuzz_status=0
wait "$fuzz_pid" || fuzz_status=$?
echo "== Fuzzing (scripts/fuzz.sh, run beside the sanitizers): its output =="
cat "$fuzz_log"
timings+=("$(printf '%-34s %5s s' "  fuzzing, beside the sanitizers" "$(cat "$fuzz_time" 2>/dev/null || echo '?')")")
end_phase "then waiting for the fuzzers"
if [ "$sanitize_status" -ne 0 ]; then echo "sanitizers: FAILED" >&2; exit "$sanitize_status"; fi
if [ "$fuzz_status" -ne 0 ]; then echo "fuzzing: FAILED" >&2; exit "$fuzz_status"; fi

echo "== Python tests (pytest, $jobs workers) =="
cd "$repo"
# Exit status 5 (nothing collected) fails the run like any other.
status=0
"$py" -m pytest -n "$jobs" --durations=25 tests/python "$@" || status=$?
if [ "$status" -eq 5 ]; then echo "pytest collected no tests" >&2; fi
if [ "$status" -ne 0 ]; then exit "$status"; fi
end_phase "Python tests (pytest)"
