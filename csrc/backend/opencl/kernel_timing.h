// Per-kernel device times for per-layer profiling (IProfiler).
//
// Kernels are normally launched without events: on a profiling queue NVIDIA's driver spends
// about 7 us recording each one (stream.h). While a KernelTimingScope is attached to the calling
// thread, Kernel::launch and captured launches move their stream to a profiling queue
// (Stream::enableTiming), ask OpenCL for an event and log it here, so a
// profiled step is timed by what its kernels ran on the device, not by the gaps between
// launches. A command that gets no event (a copy, a marker, a library call such as CLBlast's)
// marks the log incomplete; the caller then times the step by markers around it instead.
#pragma once

#include <vector>

#include "backend/opencl/kernels.h"
#include "backend/opencl/stream.h"

namespace mlprt::cl {

class KernelTimingLog {
 public:
  // Keeps the event of a kernel just launched on `stream` (which tracks it as its last command).
  void add(Stream& stream, EventHandle launched);
  void markUntimedCommand() noexcept { untimed_command_ = true; }

  // True when every command queued under the scope was a kernel with its event.
  bool complete() const noexcept { return !untimed_command_; }
  std::size_t kernelCount() const noexcept { return events_.size(); }
  // Sum over the logged kernels of their device time (start to end), in milliseconds; waits for
  // them.
  double kernelMilliseconds() const;

 private:
  std::vector<Event> events_;
  bool untimed_command_ = false;
};

// The log attached to the calling thread, or null.
KernelTimingLog* activeKernelTimingLog() noexcept;

// Attaches a log to the calling thread for the scope's lifetime (detached on exceptions too).
class KernelTimingScope {
 public:
  explicit KernelTimingScope(KernelTimingLog& log) noexcept;
  ~KernelTimingScope();
  KernelTimingScope(const KernelTimingScope&) = delete;
  KernelTimingScope& operator=(const KernelTimingScope&) = delete;

 private:
  KernelTimingLog* previous_;
};

// The least device time a kernel launch takes on `stream` (a timed one), in milliseconds: launches
// of a kernel that does nothing, back to back between two markers, the fastest of a few batches.
// No run of k kernels on that stream takes less than k times it (the builder's fused-MLP choice
// uses it as a bound, mlp_choice.cpp). Compiles one tiny program the first time.
double launchFloorMilliseconds(KernelCache& kernels, Stream& stream);

}  // namespace mlprt::cl
