// Compiles in helper processes. NVIDIA's OpenCL driver compiles one process's programs nearly one at
// a time, whatever the threads or contexts: 16 distinct programs took 10.2 s on one thread, 5.8 s
// on 16 threads with a context each, and 0.5 s past the processes' own start in 16 processes
// (issue 16 run 34, bench/compile_lock_probe.cpp; ResNet-50's cold build ran 16 compiles at once
// at about 0.5 s of compiling each). A helper is this library's small executable
// (mlprt-compile-helper) with a context on the same device: it compiles the program it is sent
// through Program::build, which leaves the binary in the disk cache, and the parent loads it from
// there. The builder's compile pool can give each thread a helper (tactic_choice.cpp); anything that
// goes wrong with one (no executable, a crash, a refusal) leaves the compile to the calling thread.
// POSIX only; elsewhere no helper starts.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "backend/opencl/device.h"

namespace mlprt::cl {

// Where the helper executable is: $MLPRT_COMPILE_HELPER when set (empty: no helpers), else what
// setCompileHelperPath set (the Python module sets its installed copy), else none.
void setCompileHelperPath(const std::string& path);
std::string compileHelperPath();

// One helper process: started at once (posix_spawn), ready once its context exists (the first
// compile waits for that). Destroying it ends the process.
class CompileHelper {
 public:
  // Starts a helper for `device` that writes binaries under `cache_directory` (programCacheDirectory()
  // of the caller). Null when there is no executable or it cannot start.
  static std::unique_ptr<CompileHelper> start(const DeviceInfo& device, const std::string& cache_directory);
  ~CompileHelper();
  CompileHelper(const CompileHelper&) = delete;
  CompileHelper& operator=(const CompileHelper&) = delete;

  // Has the helper build the program for (source, options), leaving its binary in the disk
  // cache. Returns the compile's seconds, or nothing when the helper could not (it stopped, did not
  // answer within kAnswerSeconds, refused the device, or the source did not compile: the caller
  // compiles itself and reports the compiler's log). A helper that failed is not asked again.
  std::optional<double> compile(const std::string& source, const std::string& options);

  // How long a compile may take before the helper is given up (NVIDIA's slowest programs took 15 s
  // with 16 compiles at once).
  static constexpr int kAnswerSeconds = 300;
  // How long a helper may take to make its context before it is taken for hung and stopped (16
  // helpers started and made theirs in 5.2 s on an H100 host, issue 16 run 34).
  static constexpr int kReadySeconds = 60;
  // Tests only: another readiness deadline in seconds (0: kReadySeconds again).
  static void setReadySecondsForTesting(int seconds) noexcept;

  // Tells the helper to exit (closes its socket) without waiting: destruction then waits for it,
  // up to kExitSeconds from this call before it kills it, so that helpers told together end
  // together.
  void askToExit() noexcept;
  static constexpr double kExitSeconds = 2.0;

 private:
  CompileHelper(int pid, int socket, std::string fingerprint);
  bool ready();
  void stop() noexcept;

  int pid_ = -1;
  int socket_ = -1;
  std::string fingerprint_;
  bool checked_ready_ = false;
  bool failed_ = false;
  std::chrono::steady_clock::time_point exit_deadline_{};
};

// Helpers started ahead of need: the builder starts them before its passes and probes so that
// their drivers start meanwhile, and its compile pool takes one per thread.
class CompileHelperPool {
 public:
  CompileHelperPool(const DeviceInfo& device, const std::string& cache_directory, std::size_t count);
  // Tells every helper left to exit at once, then waits for them: those still making their
  // contexts are killed together after CompileHelper::kExitSeconds, not one after another.
  ~CompileHelperPool();
  CompileHelperPool(const CompileHelperPool&) = delete;
  CompileHelperPool& operator=(const CompileHelperPool&) = delete;
  // A helper for the calling thread to keep, or null once all are taken.
  std::unique_ptr<CompileHelper> take();
  std::size_t size() const;

 private:
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<CompileHelper>> helpers_;
};

// While one lives, Program::build on this thread sends compiles to `helper` (RAII; nests; null:
// compile in this process).
class CompileInHelper {
 public:
  explicit CompileInHelper(CompileHelper* helper) noexcept;
  ~CompileInHelper();
  CompileInHelper(const CompileInHelper&) = delete;
  CompileInHelper& operator=(const CompileInHelper&) = delete;

 private:
  CompileHelper* previous_;
};

// The helper of the calling thread, or null.
CompileHelper* activeCompileHelper() noexcept;

// The helper executable's main: `mlprt-compile-helper COORDINATES`, its socket to the parent as
// file descriptor 3 and MLPRT_CACHE_DIR set by the parent.
int runCompileHelper(int argc, char** argv);

}  // namespace mlprt::cl
