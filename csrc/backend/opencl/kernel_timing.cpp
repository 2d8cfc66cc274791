#include "backend/opencl/kernel_timing.h"

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

}  // namespace mlprt::cl
