#!/usr/bin/env bash
# Builds the C++ tests with sanitizers and runs them on the current OpenCL device (PoCL in CI):
#   build/asan  AddressSanitizer + UndefinedBehaviorSanitizer, with LeakSanitizer at exit: the
#               CTest suite but six kernel tests (asan_skipped, below; see also MLPRT_ASAN_FILTER),
#               after proving that a deliberate leak in mlprt code is reported;
#   build/tsan  ThreadSanitizer: the multi-thread runtime tests, the builder's compile pool, and the
#               stream, copy and memory tests.
# Any report fails the run. Suppressions (tests/sanitizers/*.supp) name third-party libraries
# only, each with its reason. Called by scripts/test.sh; runs alone after scripts/bootstrap.sh.
#
# Environment:
#   MLPRT_ASAN_FILTER  a CTest -R regex to run part of the ASan suite (default: all of it)
#   MLPRT_CACHE_DIR    the program cache of the tests (default: one in each build tree); test.sh
#                      gives every suite of a run the same one, so kernels compiled by an earlier
#                      suite are not compiled again here
#   MLPRT_TEST_JOBS    test processes side by side in the ASan suite (default: nproc)
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
supp="$repo/tests/sanitizers"
jobs=${MLPRT_TEST_JOBS:-$(nproc)}

# -g1: line tables, so function, file and line in every report's stack. ThreadSanitizer builds at
# -O1, the level its documentation suggests (half the compile time of -O2 -g per file, measured);
# the ASan + UBSan build at -O0, which both check as well: on a 2-core machine it built in 125 s
# against 201 s at -O1, and its suite ran in 123 s against 112 s (2026-12-07).
configure_and_build() {  # <build dir> <sanitizers> <optimization> <test files (';'-separated; empty: all)>
  cmake -S "$repo" -B "$1" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$3 -g1 -DNDEBUG" -DMLPRT_BUILD_PYTHON=OFF \
    -DMLPRT_BUILD_TESTS=ON -DMLPRT_SANITIZE="$2" -DMLPRT_TEST_FILES="${4:-}" \
    -DMLPRT_TEST_CACHE_DIR="${MLPRT_CACHE_DIR:-$1/tests/cpp/program-cache}" >/dev/null
  cmake --build "$1" -- -j"$(nproc)"
}

seconds() { echo $(( $(date +%s) - $1 )); }

# LeakSanitizer on at exit of every test process; UBSan stops at its first finding, with a stack.
# use_sigaltstack=0: ASan gives no thread an alternate signal stack of its own. A thread that
# compiles a kernel through PoCL and then exits made ASan's teardown of that thread abort (probably
# PoCL's LLVM replacing the thread's signal stack; not traced further) ("unable to unmap" in AsanThread::Destroy, every run of
# ProgramCache.ThreadsAskingForOneProgramAtOnceCompileItOnce, 2026-12-06); without the option it
# passes. What it costs: ASan's report of a stack overflow, which has no stack to run on.
export ASAN_OPTIONS="detect_leaks=1:use_sigaltstack=0"
# use_tls=0: LeakSanitizer does not scan threads' TLS for pointers. GCC 12's LeakSanitizer misreads
# the dynamic TLS block that libclang-cpp.so.15 (PoCL's compiler, dlopened) gets in a thread that
# compiled a kernel ("DTLS 7 at 0x15d2-0x8000026d4" with verbosity=1, module 7 being libclang-cpp
# by dl_iterate_phdr), and its tracer dies reading it (SIGSEGV) in every test that builds a kernel
# on the main thread that way: EngineEndToEnd.* failed so on every run, 2026-12-04. Not scanning
# TLS can only add leak reports (fewer roots), never hide one.
export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0:use_tls=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

echo "== AddressSanitizer + UndefinedBehaviorSanitizer (build/asan) =="
start=$(date +%s)
asan="$repo/build/asan"
configure_and_build "$asan" "address,undefined" -O0
echo "built in $(seconds "$start") s"

# The leak check must report the deliberate leak, through an mlprt frame, despite suppressions.
if leak_report=$("$asan/tests/cpp/mlprt_leak_check" 2>&1); then
  echo "LeakSanitizer did not report the deliberate leak of tests/sanitizers/leak_check.cpp" >&2
  exit 1
fi
if ! grep -q "detected memory leaks" <<<"$leak_report" ||
   ! grep -q "mlprt::cl::DeviceBuffer::allocate" <<<"$leak_report"; then
  echo "the deliberate leak was not reported with its mlprt frame:" >&2
  echo "$leak_report" >&2
  exit 1
fi
echo "LeakSanitizer reports the deliberate leak (mlprt::cl::DeviceBuffer::allocate): on"

# Two faults of third-party code fail a test now and then without any finding in mlprt:
# - LeakSanitizer's exit-time checker itself dies (SIGSEGV in its tracer thread); the cause
#   found on 2026-12-04 (dynamic TLS, see use_tls above) is avoided, the retry stays for others;
# - PoCL's kernel-library cache miscounts a reference when several threads build and run many
#   distinct kernels (the assertion `found->ref_count > 0` in pocl_release_dlhandle_cache, inside
#   PoCL's own lock; seen once under TSan in RuntimeThreads.TwoBuildsAndLoadsOnTwoThreads, not
#   reproduced in 12 reruns; other PoCL users report it with threads too).
# When every failed test printed one of them, the failed tests run again, up to three times
# while each failure is still only such a fault; any other failure stands. (One rerun was not
# always enough: on 2026-12-04 the tracer died twice in a row in one test whose own run passed.)
known_fault='LeakSanitizer has encountered a fatal error|pocl_release_dlhandle_cache: Assertion'
only_known_faults() {  # <build dir> <log>: every failed test of the last run printed a known fault
  local failed faults
  failed=$(wc -l < "$1/Testing/Temporary/LastTestsFailed.log")
  faults=$(grep -cE "$known_fault" "$2" || true)
  [ "$failed" -gt 0 ] && [ "$faults" -ge "$failed" ]
}
run_suite() {  # <build dir> <ctest arguments...>
  local build=$1 log="$1/ctest-output.log" attempt
  shift
  if ctest --test-dir "$build" --output-on-failure "$@" 2>&1 | tee "$log"; then
    return 0
  fi
  for attempt in 1 2 3; do
    only_known_faults "$build" "$log" || return 1
    echo "== $(wc -l < "$build/Testing/Temporary/LastTestsFailed.log") test(s) failed only by a known third-party fault: running them again ($attempt of 3) =="
    if ctest --test-dir "$build" --output-on-failure --rerun-failed 2>&1 | tee "$log"; then
      return 0
    fi
  done
  return 1
}

# Seven kernel tests stay out of the ASan suite (they run in the plain suite): their time goes into
# PoCL running kernels on every case (59 s of the ASan suite's 308, 2026-12-07), or into host
# references of 16 M values at -O0 (the grid-sized transposes: 39 s), while the host code they
# reach runs under ASan in cheaper tests: every HWC convolution tactic in
# Layouts.ForcedChannelsLastMatchesTheLinearEngine, the split-K implicit GEMM in
# ConvolutionKernels.EveryTacticMatchesTheReferenceInFloatAndHalf, CLBlast's wrapper in
# Gemm.StridedBatched, the GEMM launchers in GemmShapes, GemmLarge and
# GemmMma.EmulatedMmaKernelsMatchDoubleReference, the transposes' launcher in
# KernelsCopy.TransposesMatricesThroughTilesAtTheirEdges. (The emulated tensor-core convolution
# tests run fewer cases here: kSanitizedBuild in tests/cpp/test_util.h.)
asan_skipped=(
  ConvolutionKernels.ChannelsLastTacticsMatchTheReference
  ConvolutionKernels.SplitKImplicitGemmMatchesTheReferenceInEverySliceCount
  Gemm.LargeEnoughForTheIndirectKernel
  GemmMma.EmulatedAsyncKernelsMatchDoubleReference
  KernelsCopy.TransposesAsManyMatricesAsTheGridTakesAndOneMore
  KernelsGemm.EveryFloatTacticOnEveryCase
  KernelsGemm.EveryHalfTacticOnEveryCase
)
skip_pattern="^($(IFS='|'; echo "${asan_skipped[*]}"))\$"
start=$(date +%s)
run_suite "$asan" -j"$jobs" -E "$skip_pattern" ${MLPRT_ASAN_FILTER:+-R "$MLPRT_ASAN_FILTER"}
echo "ASan+UBSan CTest: $(seconds "$start") s"

echo "== ThreadSanitizer (build/tsan) =="
start=$(date +%s)
tsan="$repo/build/tsan"
# Races need two threads in mlprt code: the runtime-threads and launch-capture tests run them, and
# the stream, event, copy and memory tests cover the structures those threads share. The other
# tests run one thread, so they are not even built here. (test_program.cpp's threads building one
# program at once passed TSan on 2026-12-06, run alone; in the fresh CI run its syntax-error test
# made TSan's runtime fail to map memory for itself, "failed to allocate 0x1ef100009e000 bytes
# (errno: 12)", on every retry, so it stays out until that is understood.)
# test_compile_threads.cpp: the builder's compile pool (threads deferring to each other's compiles,
# in contexts of their own) and the program cache's waits it rests on (passed TSan run alone,
# 2026-12-07).
configure_and_build "$tsan" "thread" -O1 \
  "test_runtime_threads.cpp;test_compile_threads.cpp;test_launch_capture.cpp;test_stream.cpp;test_copy.cpp;test_memory.cpp"
echo "built in $(seconds "$start") s"
export TSAN_OPTIONS="suppressions=$supp/tsan.supp:halt_on_error=1:second_deadlock_stack=1"
start=$(date +%s)
# As many at a time as the ASan suite: the fuzzers, which ran beside the sanitizers' builds, are
# done by now (141 s against the ASan build's 173 s in a fresh CI run, 2026-12-07), and one test
# at a time left a core of two idle for the suite's 84 s.
run_suite "$tsan" -j"$jobs"
echo "TSan CTest: $(seconds "$start") s"
