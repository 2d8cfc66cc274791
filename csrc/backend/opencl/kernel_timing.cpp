#include "backend/opencl/kernel_timing.h"

#include <algorithm>
#include <limits>

namespace mlprt::cl {

void KernelTimingLog::add(Stream& stream, EventHandle launched) {
  Event event(std::move(launched));
  stream.track(event);
  events_.push_back(std::move(event));
}

double KernelTimingLog::kernelMilliseconds() const {
  double total = 0.0;
  for (const Event& event : events_) {
    event.wait();
    total += static_cast<double>(event.endNanoseconds() - event.startNanoseconds()) * 1e-6;
  }
  return total;
}

namespace {
thread_local KernelTimingLog* active_log = nullptr;
}  // namespace

KernelTimingLog* activeKernelTimingLog() noexcept { return active_log; }

KernelTimingScope::KernelTimingScope(KernelTimingLog& log) noexcept : previous_(active_log) { active_log = &log; }

KernelTimingScope::~KernelTimingScope() { active_log = previous_; }

double launchFloorMilliseconds(KernelCache& kernels, Stream& stream) {
  constexpr int kBatches = 3;
  constexpr int kLaunchesPerBatch = 16;
  Kernel& nothing = kernels.get("launch_floor", "", "launch_floor");
  nothing.launch(stream, {1}, {1});  // the first launch may set up what later ones reuse
  stream.synchronize();
  double least = std::numeric_limits<double>::infinity();
  for (int batch = 0; batch < kBatches; ++batch) {
    const Event start = stream.recordTimed();
    for (int launch = 0; launch < kLaunchesPerBatch; ++launch) nothing.launch(stream, {1}, {1});
    const Event end = stream.recordTimed();
    end.wait();
    least = std::min(least, Event::elapsedMilliseconds(start, end) / kLaunchesPerBatch);
  }
  return least;
}

}  // namespace mlprt::cl
