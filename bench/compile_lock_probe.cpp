// Whether NVIDIA's OpenCL driver compiles programs in parallel, and whether one context per thread
// changes that (issue 16 run 30: in ResNet-50's cold build the compile pool's programs ended in
// bursts at the same millisecond, as if a lock in the driver held them all). Compiles the same set
// of distinct programs (mlprt's GEMM families, mma.sync and wgmma, as their launchers build them;
// a salt kernel appended to each source makes its PTX unique, so that neither mlprt's caches nor
// the driver's JIT cache serve it) three ways and prints each way's wall time
// and its compiles' seconds summed:
//   serial  one thread, the shared context;
//   shared  4 threads, then one thread per program, the shared context (what the builder's pool
//           does);
//   own     one thread per program, each with a context of its own; then the programs are built
//           in the shared context from the binaries the threads left in mlprt's disk cache (what
//           handing them over would cost);
//   processes  one process per program (this probe run again with --child), each with its own
//           driver: whether the driver's lock is the process's; first processes that only make a
//           context (what starting one costs), then processes that compile, then the programs
//           loaded into the shared context from the disk cache they filled.
// Run with an empty MLPRT_CACHE_DIR and CUDA_CACHE_PATH so that nothing comes from a cache. Off
// NVIDIA devices the kernels are built emulated (-DMMA_EMULATE), which only shows that it runs.
//
//   g++ -O2 -std=c++17 -Icsrc bench/compile_lock_probe.cpp build/g/libmlprt_core.a -lclblast -lOpenCL
//       -lpthread -o build/g/compile_lock_probe
//   MLPRT_CACHE_DIR=$(mktemp -d) CUDA_CACHE_PATH=$(mktemp -d) build/g/compile_lock_probe [COPIES]
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "backend/opencl/context.h"
#include "backend/opencl/device.h"
#include "backend/opencl/kernels.h"
#include "backend/opencl/program.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace cl = mlprt::cl;

// As the GEMM launchers build them (gemm_mma.cpp): HALF operands, bias, ReLU fixed at build.
const std::vector<std::string> kOptions = {
    "-DBM=64 -DBN=64 -DWARPS_M=2 -DWARPS_N=2 -DA_VEC -DB_VECT -DA_HALF -DB_HALF -DOUT_HALF -DBIAS_HALF -DFIXED_ACTIVATION=0",
    "-DBM=128 -DBN=128 -DWARPS_M=2 -DWARPS_N=4 -DA_VEC -DB_VECT -DA_HALF -DB_HALF -DOUT_HALF -DBIAS_HALF -DFIXED_ACTIVATION=0",
    "-DBM=32 -DBN=32 -DWARPS_M=1 -DWARPS_N=1 -DA_VEC -DB_VECT -DA_HALF -DB_HALF -DOUT_HALF -DBIAS_HALF -DFIXED_ACTIVATION=0",
    "-DWGMMA -DBN=128 -DGROUPS=2 -DSTAGES=3 -DB_VECT -DA_HALF -DB_HALF -DOUT_HALF -DBIAS_HALF -DFIXED_ACTIVATION=0",
};

double secondsSince(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

struct Outcome {
  double wall = 0.0;
  double summed = 0.0;
};

// Builds program i (of `count`) for each i, `threads` at a time; `context_of(i)` gives its context.
template <typename ContextOf>
Outcome compileAll(int count, int threads, const std::string& salt, const std::string& extra, ContextOf context_of,
                   int first = 0) {
  std::mutex mutex;
  Outcome outcome;
  int next = 0;
  const Clock::time_point start = Clock::now();
  const auto work = [&] {
    for (;;) {
      int i = 0;
      {
        const std::lock_guard<std::mutex> lock(mutex);
        if (next == count) return;
        i = first + next++;
      }
      const std::string options = kOptions[static_cast<std::size_t>(i) % kOptions.size()] + extra;
      const std::string source = cl::kernelSource("gemm_mma") + "\n__kernel void lock_probe_salt(__global int* x) { x[0] = " +
                                 salt + std::to_string(i) + "; }\n";
      const Clock::time_point began = Clock::now();
      cl::Program::build(context_of(i), source, options);
      const double took = secondsSince(began);
      const std::lock_guard<std::mutex> lock(mutex);
      outcome.summed += took;
    }
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back(work);
  for (std::thread& thread : pool) thread.join();
  outcome.wall = secondsSince(start);
  return outcome;
}

// One process per program: this executable run again as `--child INDEX SALT EXTRA` (INDEX -1:
// make a context and compile nothing). The children start at once; wall is until the last ends.
Outcome compileInProcesses(int count, bool compile, const std::string& salt, const std::string& extra) {
  const Clock::time_point start = Clock::now();
  std::vector<pid_t> children;
  for (int i = 0; i < count; ++i) {
    std::string self = "/proc/self/exe", flag = "--child", index = std::to_string(compile ? i : -1);
    std::string salt_arg = salt, extra_arg = extra;
    char* args[] = {self.data(), flag.data(), index.data(), salt_arg.data(), extra_arg.data(), nullptr};
    pid_t pid = 0;
    if (posix_spawn(&pid, self.c_str(), nullptr, nullptr, args, environ) != 0) {
      std::fprintf(stderr, "posix_spawn failed\n");
      std::exit(1);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) std::fprintf(stderr, "child %d failed\n", static_cast<int>(pid));
  }
  Outcome outcome;
  outcome.wall = secondsSince(start);
  outcome.summed = outcome.wall * count;  // each child's own time is not reported back
  return outcome;
}

int runChild(int index, const std::string& salt, const std::string& extra) {
  const auto context = std::make_shared<cl::Context>(cl::defaultDevice());
  if (index >= 0) compileAll(1, 1, salt, extra, [&](int) { return context; }, index);
  return 0;
}

void report(const char* what, int count, const Outcome& outcome) {
  std::printf("%-44s %3d programs: wall %6.2f s, compiles summed %7.2f s (%.1f at once on average)\n", what, count,
              outcome.wall, outcome.summed, outcome.summed / outcome.wall);
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  if (argc == 5 && std::string(argv[1]) == "--child") return runChild(std::atoi(argv[2]), argv[3], argv[4]);
  const int copies = argc > 1 ? std::atoi(argv[1]) : 4;
  const int count = copies * static_cast<int>(kOptions.size());
  const std::shared_ptr<cl::Context> shared = cl::Context::forDevice(cl::defaultDevice());
  std::printf("device: %s, %d programs (%d copies of %zu GEMM variants)\n", shared->device().name.c_str(), count, copies,
              kOptions.size());
  const bool nvidia = shared->device().vendor.find("NVIDIA") != std::string::npos;
  const std::string extra = nvidia ? "" : " -DMMA_EMULATE";
  const auto same = [&](int) { return shared; };
  report("serial: one thread, shared context", count, compileAll(count, 1, "1", extra, same));
  report("shared: 4 threads, shared context", count, compileAll(count, 4, "4", extra, same));
  report("shared: a thread each, shared context", count, compileAll(count, count, "2", extra, same));
  std::vector<std::shared_ptr<cl::Context>> own;
  for (int i = 0; i < count; ++i) own.push_back(std::make_shared<cl::Context>(cl::defaultDevice()));
  report("own: a thread each, a context each", count,
         compileAll(count, count, "3", extra, [&](int i) { return own[static_cast<std::size_t>(i)]; }));
  report("  then into the shared context (disk cache)", count, compileAll(count, count, "3", extra, same));
  report("processes: a context each, nothing compiled", count, compileInProcesses(count, false, "5", extra));
  report("processes: one program each", count, compileInProcesses(count, true, "5", extra));
  report("  then into the shared context (disk cache)", count, compileAll(count, count, "5", extra, same));
  return 0;
}
