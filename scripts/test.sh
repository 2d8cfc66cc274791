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
#   MLPRT_TIMING_ITERATIONS  timed runs per candidate tactic in the tests' builds (default 1)
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
# The tests check answers, not speed: each candidate tactic is timed by one run after its warm-up
# (IBuilderConfig.avg_timing_iterations' default, 0, runs as many as fit 20 ms, up to 11: a quarter
# of the CNN and zoo tests' time on a 2-core PoCL machine, 123 s against 89 s, 2026-12-06).
export MLPRT_TIMING_ITERATIONS=${MLPRT_TIMING_ITERATIONS:-1}
build="$repo/build/cpp-tests"

# Each phase's wall time, and the CPU time of the processes it ran (bash's `times`: children that
# have exited), which says what a phase costs even on a machine that others share.
times_file=$(mktemp)
read_cpu() {  # cpu_now: `times` of this shell's children (in this shell: a subshell has none)
  times >"$times_file"
  cpu_now=$(awk 'NR == 2 { gsub(/[ms]/, " "); print int($1 * 60 + $2 + $3 * 60 + $4) }' "$times_file")
}
run_start=$(date +%s)
phase_start=$run_start
read_cpu
phase_cpu=$cpu_now
timings=()
end_phase() {  # <name>: records how long the phase that ends now took
  local now
  now=$(date +%s)
  read_cpu
  timings+=("$(printf '%-34s %6d s wall %6d s CPU' "$1" $((now - phase_start)) $((cpu_now - phase_cpu)))")
  phase_start=$now
  phase_cpu=$cpu_now
}
summary() {
  local status=$? line
  read_cpu
  echo "== Time per phase =="
  for line in "${timings[@]}"; do echo "$line"; done
  printf '%-34s %6d s wall %6d s CPU%s\n' "total" $(($(date +%s) - run_start)) "$cpu_now" \
    "$([ "$status" -eq 0 ] || echo " (FAILED, exit status $status)")"
  rm -f "$times_file"
}
trap summary EXIT

echo "== Bootstrap (packages, mlprt module and C++ tests in $build) =="
MLPRT_TESTS_BUILD="$build" bash "$repo/scripts/bootstrap.sh"
venv=$(bash "$repo/scripts/bootstrap.sh" --print-venv)
py="$venv/bin/python"
end_phase "bootstrap + build"

# Every test phase runs even when an earlier one failed, so that one CI run shows every failure;
# the run fails at the end if any did.
failed=()
check() {  # <phase> <exit status>
  if [ "$2" -ne 0 ]; then failed+=("$1 (exit status $2)"); fi
}

echo "== C++ tests (CTest, $jobs at a time) =="
status=0
ctest --test-dir "$build" --output-on-failure -j"$jobs" || status=$?
check "C++ tests (CTest)" "$status"
end_phase "C++ tests (CTest)"

# The fuzzers run one process at a time, beside the sanitizers' builds and suites (they are done
# before the ASan build is, 141 s against 173 s in a fresh CI run). Their output is shown when
# both are done.
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
timings+=("$(printf '%-34s %6s s wall' "  fuzzing, beside the sanitizers" "$(cat "$fuzz_time" 2>/dev/null || echo '?')")")
end_phase "then waiting for the fuzzers"
check "sanitizers (scripts/sanitize.sh)" "$sanitize_status"
check "fuzzing (scripts/fuzz.sh)" "$fuzz_status"

echo "== Python tests (pytest, $jobs workers) =="
cd "$repo"
# Exit status 5 (nothing collected) fails the run like any other.
status=0
"$py" -m pytest -n "$jobs" --durations=25 tests/python "$@" || status=$?
if [ "$status" -eq 5 ]; then echo "pytest collected no tests" >&2; fi
check "Python tests (pytest)" "$status"
end_phase "Python tests (pytest)"

if [ ${#failed[@]} -gt 0 ]; then
  echo "== FAILED ==" >&2
  printf '  %s\n' "${failed[@]}" >&2
  exit 1
fi
