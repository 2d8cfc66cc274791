// Streams (in-order OpenCL command queues) and events.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "backend/opencl/context.h"
#include "backend/opencl/handle.h"

namespace mlprt::cl {

// A completion marker on a stream. Two events recorded on a timed stream (Stream::recordTimed)
// give elapsed time.
class Event {
 public:
  Event() = default;
  explicit Event(EventHandle handle) : handle_(std::move(handle)) {}

  bool recorded() const noexcept { return static_cast<bool>(handle_); }
  cl_event get() const noexcept { return handle_.get(); }
  // Blocks until the work before the event has finished. Throws if that work failed.
  void wait() const;
  // True once the work before the event has finished (or the event was never recorded).
  bool complete() const;
  // Device clock when the marked work finished, in nanoseconds. Throws InvalidArgument for an
  // event recorded while its stream was not timed.
  std::uint64_t endNanoseconds() const;
  // Device clock when the command started (kernel events; a marker starts when it ends).
  std::uint64_t startNanoseconds() const;
  // Milliseconds from `start` to `end`, both recorded and complete.
  static double elapsedMilliseconds(const Event& start, const Event& end);

 private:
  EventHandle handle_;
};

class Stream {
 public:
  // A new in-order queue on `context`'s device, registered under a fresh handle. Untimed unless
  // `timed`: see enableTiming.
  static std::shared_ptr<Stream> create(std::shared_ptr<Context> context, bool timed = false);
  // The stream a handle names; handle 0 is the current device's default stream.
  // Throws InvalidArgument for handles of destroyed or unknown streams.
  static std::shared_ptr<Stream> fromHandle(std::uint64_t handle);
  // The per-device stream used when a call names none.
  static std::shared_ptr<Stream> defaultFor(const std::shared_ptr<Context>& context);
  // Waits for every live stream's commands, ignoring errors: for the end of a program, before
  // exit handlers run. A driver may still be working on commands nobody waited for (PoCL compiles
  // a kernel in its worker thread at the kernel's first launch), and exit handlers destroy the
  // compiler's statics under it (a crash seen under AddressSanitizer). An atexit handler of ours
  // would come too late: handlers run in reverse order of registration, and the compiler's
  // statics register on first use, after ours. The Python module calls this from Python's atexit,
  // the C++ tests from their global tear-down.
  static void finishAll() noexcept;

  Stream(std::shared_ptr<Context> context, std::uint64_t handle, bool timed);
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  // The queue, for commands other than kernel launches (copies, fills, library calls): the
  // calling thread's launch capture, if any, stops being replayable, since it would not repeat
  // them (launch_capture.h).
  cl_command_queue queue() const noexcept;
  // The queue for Kernel::launch, which reports its launches to the capture itself.
  cl_command_queue kernelQueue() const noexcept { return current_.load(); }
  const std::shared_ptr<Context>& context() const noexcept { return context_; }
  std::uint64_t handle() const noexcept { return handle_; }

  // Waits for all queued work; releases everything held for in-flight commands.
  void synchronize();
  // Starts queued work without waiting (clFlush).
  void flush();
  // True when every queued command has finished. After commands queued without an event it
  // asks through a new marker, which can report false for a few microseconds after the work ended.
  bool idle();
  // Every enqueue path reports its command: with its event when it has one, else as untracked.
  // Kernels are launched without events because, on a profiling queue, NVIDIA's driver spends
  // about 7 us recording each one (measured on an H200, bench/RESULTS.md).
  void track(const Event& event);
  void trackUntracked();
  // Marks the current end of the queue.
  Event record();
  // Streams start on a plain queue: on NVIDIA's driver a profiling queue costs about 6 us of
  // host time per enqueued copy (2.4 against 8.2 us for a 3 KB write, issue 16 run 8), which is
  // most of a batch-1 inference. The first call that needs device times (an event to time, a
  // profiled step, the builder's tactic timing) moves the stream to a profiling queue that
  // starts after everything queued on the plain one; it stays timed.
  void enableTiming();
  bool timed() const;
  // enableTiming, then record: an event that elapsedMilliseconds can use.
  Event recordTimed();
  // Keeps `owner` alive until `event` has completed: host memory read or written by an
  // asynchronous copy must outlive the copy even if its owner drops it.
  void holdUntilComplete(Event event, std::shared_ptr<const void> owner);
  // Keeps `owner` alive until everything queued so far has run, without asking OpenCL for an
  // event (on NVIDIA's profiling queues an event costs about 7 us per command): released by
  // synchronize(), or once an event recorded later is seen complete. Every kHoldsPerMarker
  // holds a marker is recorded, so streams that are never synchronized do not grow.
  void holdUntilQueuedWorkRan(std::shared_ptr<const void> owner);
  static constexpr std::size_t kHoldsPerMarker = 32;

 private:
  void releaseCompleted();
  std::size_t holds_since_marker_ = 0;  // guarded by held_mutex_

  std::shared_ptr<Context> context_;
  std::uint64_t handle_;
  mutable std::mutex queue_mutex_;  // guards the switch to a profiling queue
  QueueHandle queue_;
  // The plain queue a timed stream left, kept alive: another thread may still hold its handle.
  QueueHandle untimed_queue_;
  bool timed_ = false;  // guarded by queue_mutex_
  std::atomic<cl_command_queue> current_{nullptr};
  std::mutex held_mutex_;  // guards held_ and last_
  std::vector<std::pair<Event, std::shared_ptr<const void>>> held_;
  Event last_;
  bool untracked_ = false;  // a command was queued after last_ without an event
};

}  // namespace mlprt::cl
