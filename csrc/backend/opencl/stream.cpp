#include "backend/opencl/stream.h"

#include <atomic>
#include <map>
#include <memory>
#include <vector>

#include "backend/opencl/kernel_timing.h"
#include "backend/opencl/launch_capture.h"
#include "core/error.h"

namespace mlprt::cl {
namespace {

struct StreamRegistry {
  std::mutex mutex;
  std::map<std::uint64_t, std::weak_ptr<Stream>> streams;
  std::map<const Context*, std::shared_ptr<Stream>> defaults;
  std::atomic<std::uint64_t> next_handle{1};
};

StreamRegistry& streams() {
  static StreamRegistry instance;
  return instance;
}

cl_int eventStatus(cl_event event) {
  cl_int status = CL_COMPLETE;
  check(clGetEventInfo(event, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof(status), &status, nullptr),
        "clGetEventInfo");
  return status;
}

}  // namespace

void Event::wait() const {
  if (!handle_) return;
  const cl_event event = handle_.get();
  check(clWaitForEvents(1, &event), "waiting for an event");
}

bool Event::complete() const {
  if (!handle_) return true;
  const cl_int status = eventStatus(handle_.get());
  if (status < 0) check(status, "queued command");
  return status == CL_COMPLETE;
}

namespace {

std::uint64_t profilingTime(const EventHandle& event, cl_profiling_info which) {
  if (!event) throw InvalidArgument("event was never recorded");
  cl_ulong nanoseconds = 0;
  const cl_int status = clGetEventProfilingInfo(event.get(), which, sizeof(nanoseconds), &nanoseconds, nullptr);
  if (status == CL_PROFILING_INFO_NOT_AVAILABLE) {
    throw InvalidArgument("event has no device time: it was recorded on a stream without timing "
                          "(record it with Stream::recordTimed)");
  }
  check(status, "clGetEventProfilingInfo");
  return nanoseconds;
}

QueueHandle newQueue(const Context& context, bool timed) {
  cl_int status = CL_SUCCESS;
  const cl_command_queue_properties properties = timed ? CL_QUEUE_PROFILING_ENABLE : 0;
  QueueHandle queue(clCreateCommandQueue(context.get(), context.device().id, properties, &status));
  check(status, "clCreateCommandQueue on " + context.device().name);
  return queue;
}

// Commands queued without an event: the calling thread's capture cannot repeat them and its
// kernel-timing log cannot time them.
void noteCommandWithoutKernelEvent() noexcept {
  if (LaunchCapture* capture = activeCapture()) capture->markForeignCommand();
  if (KernelTimingLog* log = activeKernelTimingLog()) log->markUntimedCommand();
}

}  // namespace

std::uint64_t Event::endNanoseconds() const { return profilingTime(handle_, CL_PROFILING_COMMAND_END); }

std::uint64_t Event::startNanoseconds() const { return profilingTime(handle_, CL_PROFILING_COMMAND_START); }

double Event::elapsedMilliseconds(const Event& start, const Event& end) {
  start.wait();
  end.wait();
  const auto from = static_cast<double>(start.endNanoseconds());
  const auto to = static_cast<double>(end.endNanoseconds());
  return (to - from) * 1e-6;
}

std::shared_ptr<Stream> Stream::create(std::shared_ptr<Context> context, bool timed) {
  StreamRegistry& registry = streams();
  const std::uint64_t handle = registry.next_handle++;
  auto stream = std::make_shared<Stream>(std::move(context), handle, timed);
  std::lock_guard<std::mutex> lock(registry.mutex);
  registry.streams[handle] = stream;
  return stream;
}

void Stream::finishAll() noexcept {
  StreamRegistry& registry = streams();
  std::vector<std::shared_ptr<Stream>> live;
  {
    std::lock_guard<std::mutex> lock(registry.mutex);
    for (const auto& entry : registry.streams) {
      if (std::shared_ptr<Stream> stream = entry.second.lock()) live.push_back(std::move(stream));
    }
  }
  for (const std::shared_ptr<Stream>& stream : live) {
    clFinish(stream->current_.load());
  }
}

std::shared_ptr<Stream> Stream::defaultFor(const std::shared_ptr<Context>& context) {
  {
    StreamRegistry& registry = streams();
    std::lock_guard<std::mutex> lock(registry.mutex);
    auto found = registry.defaults.find(context.get());
    if (found != registry.defaults.end()) return found->second;
  }
  std::shared_ptr<Stream> stream = create(context);
  StreamRegistry& registry = streams();
  std::lock_guard<std::mutex> lock(registry.mutex);
  // Another thread may have made one meanwhile; keep the first so the default stays unique.
  return registry.defaults.emplace(context.get(), stream).first->second;
}

std::shared_ptr<Stream> Stream::fromHandle(std::uint64_t handle) {
  if (handle == 0) return defaultFor(Context::current());
  StreamRegistry& registry = streams();
  std::lock_guard<std::mutex> lock(registry.mutex);
  auto found = registry.streams.find(handle);
  std::shared_ptr<Stream> stream = found == registry.streams.end() ? nullptr : found->second.lock();
  if (!stream) {
    throw InvalidArgument("stream handle " + std::to_string(handle) +
                          " does not name a live stream (was it destroyed?)");
  }
  return stream;
}

Stream::Stream(std::shared_ptr<Context> context, std::uint64_t handle, bool timed)
    : context_(std::move(context)), handle_(handle), queue_(newQueue(*context_, timed)), timed_(timed) {
  current_.store(queue_.get());
}

Stream::~Stream() {
  // Commands may still read host memory that `held_` keeps alive: finish them first (a timed
  // queue's first command waits for the plain queue's last).
  clFinish(current_.load());
  StreamRegistry& registry = streams();
  std::lock_guard<std::mutex> lock(registry.mutex);
  auto found = registry.streams.find(handle_);
  if (found != registry.streams.end() && found->second.expired()) registry.streams.erase(found);
}

cl_command_queue Stream::queue() const noexcept {
  noteCommandWithoutKernelEvent();
  return current_.load();
}

bool Stream::timed() const {
  std::lock_guard<std::mutex> lock(queue_mutex_);
  return timed_;
}

void Stream::enableTiming() {
  std::lock_guard<std::mutex> lock(queue_mutex_);
  if (timed_) return;
  QueueHandle timed = newQueue(*context_, true);
  // The timed queue's first command waits for the end of the plain one, so the stream stays in order.
  EventHandle end_of_plain;
  check(clEnqueueMarkerWithWaitList(queue_.get(), 0, nullptr, end_of_plain.replace()),
        "clEnqueueMarkerWithWaitList");
  check(clFlush(queue_.get()), "clFlush");
  const cl_event wait_for = end_of_plain.get();
  check(clEnqueueBarrierWithWaitList(timed.get(), 1, &wait_for, nullptr), "clEnqueueBarrierWithWaitList");
  untimed_queue_ = std::move(queue_);
  queue_ = std::move(timed);
  current_.store(queue_.get());
  timed_ = true;
  trackUntracked();  // the barrier carries no event of ours
}

Event Stream::recordTimed() {
  enableTiming();
  return record();
}

void Stream::synchronize() {
  check(clFinish(current_.load()), "synchronizing stream " + std::to_string(handle_));
  std::lock_guard<std::mutex> lock(held_mutex_);
  held_.clear();
  holds_since_marker_ = 0;
  last_ = Event();
  untracked_ = false;
}

void Stream::flush() { check(clFlush(current_.load()), "clFlush"); }

bool Stream::idle() {
  Event last;
  bool untracked = false;
  {
    std::lock_guard<std::mutex> lock(held_mutex_);
    last = last_;
    untracked = untracked_;
  }
  // An in-order queue finishes its commands in order: the newest one done means all are.
  if (untracked) last = record();
  flush();
  return last.complete();
}

void Stream::track(const Event& event) {
  std::lock_guard<std::mutex> lock(held_mutex_);
  last_ = event;
  untracked_ = false;
}

void Stream::trackUntracked() {
  std::lock_guard<std::mutex> lock(held_mutex_);
  untracked_ = true;
}

Event Stream::record() {
  noteCommandWithoutKernelEvent();
  EventHandle event;
  check(clEnqueueMarkerWithWaitList(current_.load(), 0, nullptr, event.replace()),
        "clEnqueueMarkerWithWaitList");
  Event marker(std::move(event));
  track(marker);
  return marker;
}

void Stream::holdUntilComplete(Event event, std::shared_ptr<const void> owner) {
  if (LaunchCapture* capture = activeCapture()) capture->markForeignCommand();
  std::lock_guard<std::mutex> lock(held_mutex_);
  held_.emplace_back(std::move(event), std::move(owner));
  releaseCompleted();
}

void Stream::holdUntilQueuedWorkRan(std::shared_ptr<const void> owner) {
  if (LaunchCapture* capture = activeCapture()) capture->markForeignCommand();
  bool mark = false;
  {
    std::lock_guard<std::mutex> lock(held_mutex_);
    held_.emplace_back(Event(), std::move(owner));
    untracked_ = true;
    mark = ++holds_since_marker_ >= kHoldsPerMarker;
  }
  if (mark) holdUntilComplete(record(), nullptr);
}

void Stream::releaseCompleted() {
  // Called with held_mutex_ held. Oldest first: once one is pending, later ones are too. Holds
  // without an event go with the first completed event recorded after them (the queue runs in
  // order).
  std::size_t release = 0;
  for (std::size_t i = 0; i < held_.size(); ++i) {
    const Event& event = held_[i].first;
    if (!event.recorded()) continue;
    if (!event.complete()) break;
    release = i + 1;
  }
  held_.erase(held_.begin(), held_.begin() + static_cast<std::ptrdiff_t>(release));
  if (release > 0) holds_since_marker_ = 0;
}

}  // namespace mlprt::cl
