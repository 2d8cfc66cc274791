#include "backend/opencl/launch_capture.h"

#include <algorithm>

#include "backend/opencl/kernel_timing.h"
#include "backend/opencl/program.h"
#include "backend/opencl/stream.h"
#include "core/error.h"

namespace mlprt::cl {

LaunchCapture::LaunchCapture(std::vector<cl_mem> lasting_buffers) : lasting_buffers_(std::move(lasting_buffers)) {}

void LaunchCapture::refuse(std::string reason) {
  if (refusal_.empty()) refusal_ = std::move(reason);
  launches_.clear();  // never replayed: release the kernel objects now
}

void LaunchCapture::markForeignCommand() noexcept {
  foreign_ = true;
  launches_.clear();
}

std::string LaunchCapture::whyNotReplayable() const {
  if (foreign_) return "the step queues commands other than kernel launches (a copy, a marker or a library call)";
  return refusal_;
}

void LaunchCapture::recordLaunch(const Kernel& kernel, const std::vector<std::size_t>& global,
                                 const std::vector<std::size_t>& local) {
  if (!replayable()) return;
  const std::vector<Kernel::ArgumentValue>& arguments = kernel.arguments();
  for (std::size_t i = 0; i < arguments.size(); ++i) {
    const Kernel::ArgumentValue& argument = arguments[i];
    if (!argument.set) return refuse("kernel '" + kernel.name() + "' ran with argument " + std::to_string(i) + " unset");
    if (argument.buffer &&
        std::find(lasting_buffers_.begin(), lasting_buffers_.end(), argument.buffer) == lasting_buffers_.end()) {
      return refuse("kernel '" + kernel.name() + "' argument " + std::to_string(i) +
                    " is a buffer the step does not keep (a temporary)");
    }
  }
  Launch launch;
  launch.program = kernel.program();
  launch.name = kernel.name();
  cl_int status = CL_SUCCESS;
  launch.kernel = KernelHandle(clCreateKernel(launch.program->get(), launch.name.c_str(), &status));
  check(status, "clCreateKernel(" + launch.name + ") for a captured launch");
  for (std::size_t i = 0; i < arguments.size(); ++i) {
    const Kernel::ArgumentValue& argument = arguments[i];
    check(clSetKernelArg(launch.kernel.get(), static_cast<cl_uint>(i), argument.size,
                         argument.bytes.empty() ? nullptr : argument.bytes.data()),
          "copying argument " + std::to_string(i) + " of kernel '" + launch.name + "' into a captured launch");
  }
  launch.dimensions = static_cast<cl_uint>(global.size());
  std::copy(global.begin(), global.end(), launch.global.begin());
  launch.driver_chooses_local = local.empty();
  std::copy(local.begin(), local.end(), launch.local.begin());
  launches_.push_back(std::move(launch));
}

void LaunchCapture::replay(Stream& stream) const {
  if (!replayable()) throw InvalidArgument("a capture that is not replayable was replayed: " + whyNotReplayable());
  KernelTimingLog* timing = activeKernelTimingLog();
  if (timing) stream.enableTiming();  // the log reads its events' device times
  for (const Launch& launch : launches_) {
    requireSameContext(*launch.program->context(), *stream.context(), "the stream of a captured launch");
    EventHandle event;
    const cl_int status =
        clEnqueueNDRangeKernel(stream.kernelQueue(), launch.kernel.get(), launch.dimensions, nullptr,
                               launch.global.data(), launch.driver_chooses_local ? nullptr : launch.local.data(),
                               0, nullptr, timing ? event.replace() : nullptr);
    if (status != CL_SUCCESS) check(status, "launching captured kernel '" + launch.name + "'");
    if (timing) timing->add(stream, std::move(event));
  }
  if (!launches_.empty() && !timing) stream.trackUntracked();
}

namespace {
thread_local LaunchCapture* active_capture = nullptr;
}  // namespace

LaunchCapture* activeCapture() noexcept { return active_capture; }

CaptureScope::CaptureScope(LaunchCapture& capture) noexcept : previous_(active_capture) { active_capture = &capture; }

CaptureScope::~CaptureScope() { active_capture = previous_; }

}  // namespace mlprt::cl
