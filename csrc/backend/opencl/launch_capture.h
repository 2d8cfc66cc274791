// Kernel launches captured while a launcher ran, queued again later without the launcher.
//
// A launcher does host work on every call before its kernel reaches the queue: operand checks,
// build-option strings, a kernel-cache lookup, one clSetKernelArg per argument. For a small model
// that work is a large part of an inference (issue 5: the 784-32-10 MLP at batch 1). An
// execution context runs each step once under a capture; while the step's operands stay the same,
// later calls enqueue the captured kernels directly, one clEnqueueNDRangeKernel each, in the manner
// of a CUDA graph. Each captured launch owns its own kernel object holding a copy of the arguments,
// so later launches of the cached kernel with other arguments do not disturb it.
//
// A capture is replayable only when it is certain to repeat the step exactly: every command the
// step queued was a kernel launch (a copy, a fill, a marker, a hold or a library call such as
// CLBlast makes it foreign), and every buffer argument is one of the buffers the caller declared
// to outlive the capture (a launcher's temporary would be freed under a replay).
#pragma once

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "backend/opencl/cl.h"
#include "backend/opencl/handle.h"

namespace mlprt::cl {

class Kernel;
class Program;
class Stream;

class LaunchCapture {
 public:
  // `lasting_buffers`: the buffers that stay alive, unchanged in identity, while the capture is
  // replayed.
  explicit LaunchCapture(std::vector<cl_mem> lasting_buffers);

  // Copies `kernel`'s current arguments into a kernel object of its own (called by Kernel::launch
  // after the launch was queued).
  void recordLaunch(const Kernel& kernel, const std::vector<std::size_t>& global,
                    const std::vector<std::size_t>& local);
  // Another kind of command was queued: the capture cannot stand for the step.
  void markForeignCommand() noexcept;

  bool replayable() const noexcept { return !foreign_ && refusal_.empty(); }
  // Empty when replayable.
  std::string whyNotReplayable() const;
  std::size_t launchCount() const noexcept { return launches_.size(); }

  // Queues the captured launches on `stream`, in their order. Throws InvalidArgument when the
  // capture is not replayable or `stream` is on another context.
  void replay(Stream& stream) const;

 private:
  struct Launch {
    std::shared_ptr<const Program> program;  // keeps the program of `kernel` alive
    KernelHandle kernel;
    std::string name;
    cl_uint dimensions = 0;
    std::array<std::size_t, 3> global{};
    std::array<std::size_t, 3> local{};
    bool driver_chooses_local = true;
  };

  void refuse(std::string reason);

  std::vector<cl_mem> lasting_buffers_;
  std::vector<Launch> launches_;
  bool foreign_ = false;
  std::string refusal_;
};

// The capture attached to the calling thread, or null. Captures are per thread, not per stream,
// so that another thread's commands on a shared stream neither enter nor spoil this one.
LaunchCapture* activeCapture() noexcept;

// Attaches a capture to the calling thread for the scope's lifetime (detached on exceptions too):
// Kernel::launch records into it and Stream's other commands mark it foreign.
class CaptureScope {
 public:
  explicit CaptureScope(LaunchCapture& capture) noexcept;
  ~CaptureScope();
  CaptureScope(const CaptureScope&) = delete;
  CaptureScope& operator=(const CaptureScope&) = delete;

 private:
  LaunchCapture* previous_;
};

}  // namespace mlprt::cl
