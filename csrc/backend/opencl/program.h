// OpenCL programs and kernels, with a two-level cache: programs built in this process are reused
// from memory, and compiled binaries are stored on disk so that another process loads them
// instead of compiling. The disk key covers the device, the driver version, the build options
// and the source, so a driver update or an edited kernel never picks up a stale binary.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backend/opencl/context.h"
#include "backend/opencl/handle.h"
#include "backend/opencl/memory.h"
#include "backend/opencl/stream.h"

namespace mlprt::cl {

class Program {
 public:
  enum class Origin { kCompiled, kDiskCache, kEngine };

  // The program for `source` built with `options` on the context's device. Throws BuildError
  // with the compiler's log when the source does not compile.
  static std::shared_ptr<const Program> build(const std::shared_ptr<Context>& context,
                                              const std::string& source,
                                              const std::string& options = "");

  // Makes the program for (source, options) from a binary stored elsewhere (an engine file) and
  // keeps it in the in-memory cache, so that later build() calls do not compile. Returns false,
  // leaving the cache alone, when the driver rejects the binary; a program already in memory
  // is kept and counts as success.
  static bool install(const std::shared_ptr<Context>& context, const std::string& source,
                      const std::string& options, const std::vector<unsigned char>& binary);

  Program(std::shared_ptr<Context> context, ProgramHandle program, Origin origin);

  cl_program get() const noexcept { return program_.get(); }
  const std::shared_ptr<Context>& context() const noexcept { return context_; }
  Origin origin() const noexcept { return origin_; }
  // The device binary, as OpenCL reports it (empty when the driver provides none).
  std::vector<unsigned char> binary() const;

  // Whether mlprt keeps binaries of programs for `device` (its disk cache, engine files). Not
  // where handing one out costs a compile of every kernel (DeviceInfo::binary_costs_a_compile:
  // PoCL, about half of a cold build, whose own kernel cache serves the next process), unless
  // MLPRT_PROGRAM_BINARIES=1; MLPRT_PROGRAM_BINARIES=0 keeps none on any device.
  static bool keepsBinaries(const DeviceInfo& device);

 private:
  std::shared_ptr<Context> context_;
  ProgramHandle program_;
  Origin origin_;
};

// Thrown by Program::build in place of waiting for a program that another thread is compiling,
// on a thread where a DeferWaitsForPrograms lives: the builder's compile pool then runs other
// candidates and comes back to this one, instead of leaving a thread idle (issue 16 run 28: on 16
// threads ResNet-50's pool averaged 7 compiles in flight, the rest waiting on each other's).
// Deliberately not a std::exception: no handler of errors on the way (a probe's, a launcher's
// fallback) takes it for a failure; only the pool that asked for it catches it.
struct ProgramBuildingElsewhere {};

// While one lives, Program::build on this thread throws ProgramBuildingElsewhere instead of
// waiting for another thread's compile of the same program (RAII; nests).
class DeferWaitsForPrograms {
 public:
  DeferWaitsForPrograms();
  ~DeferWaitsForPrograms();
  DeferWaitsForPrograms(const DeferWaitsForPrograms&) = delete;
  DeferWaitsForPrograms& operator=(const DeferWaitsForPrograms&) = delete;

 private:
  bool previous_;
};

// Marks the program for (source, options) as being built by the calling thread until the guard
// ends, as a compile in progress does (waiting first if another thread builds it): what tests use
// to show Program::build's waiting and ProgramBuildingElsewhere without a compile that happens to
// be slow. Building the program from the holding thread deadlocks.
std::shared_ptr<void> holdProgramAsBuilding(const std::shared_ptr<Context>& context, const std::string& source,
                                            const std::string& options = "");

// Drops the programs built for `context` from the in-memory cache (they hold the context): what a
// compile pool's own contexts do when their work is done, so that they are freed.
void forgetPrograms(const Context& context);

// Builds of programs (compiles, disk loads; successful or not) this process has finished, and a
// wait until more than `finished` have: what a compile pool whose every queued run met another
// thread's compile waits on, rather than trying them again at once.
std::uint64_t programBuildsFinished();
void waitForProgramBuildsAfter(std::uint64_t finished);

struct ProgramCacheStats {
  std::uint64_t compiled = 0;
  std::uint64_t loaded_from_disk = 0;
  std::uint64_t reused_in_memory = 0;
  std::uint64_t installed_from_engine = 0;
  std::uint64_t compiled_by_helpers = 0;  // of `compiled`: in a helper process (compile_helper.h)
};

ProgramCacheStats programCacheStats();
// Programs compiled by the calling thread so far (programCacheStats().compiled counts every
// thread's): what tells a caller whether its own Program::build compiled, while other threads
// compile beside it.
std::uint64_t programsCompiledOnThisThread();
// Where binaries are stored: $MLPRT_CACHE_DIR, else $XDG_CACHE_HOME/mlprt, else ~/.cache/mlprt
// (each with a `programs` subdirectory). Empty when none can be determined: no disk cache.
std::string programCacheDirectory();

class Kernel {
 public:
  // Throws InvalidArgument naming the kernel when the program has no kernel of that name.
  Kernel(std::shared_ptr<const Program> program, const std::string& name);

  const std::string& name() const noexcept { return name_; }
  cl_kernel get() const noexcept { return kernel_.get(); }
  cl_uint argumentCount() const noexcept { return argument_count_; }

  // Argument setters. A kernel object is not safe to set up from two threads at once.
  void setArgument(cl_uint index, std::size_t size, const void* value);
  void setBuffer(cl_uint index, const DeviceBuffer& buffer);
  template <typename T>
  void setValue(cl_uint index, const T& value) {
    setArgument(index, sizeof(T), &value);
  }

  // Enqueues the kernel over `global` work items in groups of `local` (empty: the driver
  // chooses). Each global size must be a multiple of its local size. No event is made (they are
  // costly per launch); record one on the stream when needed. The calling thread's capture, if any,
  // records the launch with the current arguments (launch_capture.h).
  void launch(Stream& stream, const std::vector<std::size_t>& global,
              const std::vector<std::size_t>& local = {});

  // The value last set for each argument, which a LaunchCapture copies.
  struct ArgumentValue {
    bool set = false;
    std::size_t size = 0;
    std::vector<unsigned char> bytes;  // empty for a local-memory size (value nullptr)
    cl_mem buffer = nullptr;           // the buffer, when set through setBuffer
  };
  const std::vector<ArgumentValue>& arguments() const noexcept { return arguments_; }
  const std::shared_ptr<const Program>& program() const noexcept { return program_; }

 private:
  std::shared_ptr<const Program> program_;
  std::string name_;
  KernelHandle kernel_;
  cl_uint argument_count_ = 0;
  std::vector<ArgumentValue> arguments_;
};

}  // namespace mlprt::cl
