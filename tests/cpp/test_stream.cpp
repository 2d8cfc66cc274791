// Streams (handles, default stream, synchronisation) and events.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "backend/opencl/program.h"
#include "backend/opencl/stream.h"
#include "core/error.h"
#include "test_util.h"

namespace mlprt::test {
namespace {

// An OpenCL user event: incomplete until set, so work held on it stays pending.
class UserEvent {
 public:
  UserEvent() {
    cl_int status = CL_SUCCESS;
    handle_ = cl::EventHandle(clCreateUserEvent(context()->get(), &status));
    cl::check(status, "clCreateUserEvent");
  }
  ~UserEvent() { complete(); }
  UserEvent(const UserEvent&) = delete;
  UserEvent& operator=(const UserEvent&) = delete;

  cl::Event event() const { return cl::Event(handle_); }
  void complete() {
    if (!completed_) clSetUserEventStatus(handle_.get(), CL_COMPLETE);
    completed_ = true;
  }

 private:
  cl::EventHandle handle_;
  bool completed_ = false;
};

TEST(Stream, CreateGivesDistinctLiveHandles) {
  const auto first = cl::Stream::create(context());
  const auto second = cl::Stream::create(context());
  EXPECT_NE(first->handle(), 0u);
  EXPECT_NE(second->handle(), 0u);
  EXPECT_NE(first->handle(), second->handle());
  EXPECT_NE(first->queue(), second->queue());
  EXPECT_EQ(first->context(), context());
  EXPECT_EQ(cl::Stream::fromHandle(first->handle()), first);
  EXPECT_EQ(cl::Stream::fromHandle(second->handle()), second);
}

TEST(Stream, HandleZeroIsTheDefaultStream) {
  const auto by_handle = cl::Stream::fromHandle(0);
  EXPECT_EQ(by_handle, cl::Stream::defaultFor(context()));
  EXPECT_EQ(by_handle, cl::Stream::fromHandle(0));
  EXPECT_EQ(by_handle->context(), context());
  EXPECT_NE(by_handle->handle(), 0u);
  EXPECT_EQ(cl::Stream::fromHandle(by_handle->handle()), by_handle);
}

TEST(Stream, DestroyedStreamHandleThrows) {
  auto stream = cl::Stream::create(context());
  const std::uint64_t handle = stream->handle();
  stream.reset();
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { cl::Stream::fromHandle(handle); },
                                          "stream handle " + std::to_string(handle)));
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [] { cl::Stream::fromHandle(std::uint64_t{1} << 60); }, "does not name a live stream"));
}

TEST(Stream, RecordedEventsCompleteAfterSynchronize) {
  const auto stream = cl::Stream::create(context());
  const auto buffer = allocate(1 << 20);
  const std::vector<unsigned char> data = randomBytes(1 << 20, 41);
  cl::copyHostToDevice(*stream, at(buffer), data.data(), data.size(), cl::CopyMode::kAsync);
  const cl::Event marker = stream->record();
  EXPECT_TRUE(marker.recorded());
  EXPECT_NE(marker.get(), nullptr);
  stream->flush();
  stream->synchronize();
  EXPECT_TRUE(marker.complete());
  EXPECT_TRUE(stream->idle());
  EXPECT_NO_THROW(marker.wait());
}

TEST(Event, UnrecordedEvent) {
  const cl::Event event;
  EXPECT_FALSE(event.recorded());
  EXPECT_TRUE(event.complete());
  EXPECT_NO_THROW(event.wait());
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { event.endNanoseconds(); }, "never recorded"));
}

TEST(Event, ElapsedTimeAroundAKernelIsNonNegative) {
  const auto program = cl::Program::build(context(), R"(
__kernel void busy(__global float* data) {
  const size_t i = get_global_id(0);
  float value = data[i];
  for (int k = 0; k < 64; ++k) value = value * 0.999f + 0.5f;
  data[i] = value;
})");
  const auto stream = cl::Stream::create(context());
  const std::size_t n = 1 << 16;
  const auto buffer = allocate(n * sizeof(float));
  upload(*stream, at(buffer), randomFloats(n, 42));
  cl::Kernel kernel(program, "busy");
  kernel.setBuffer(0, *buffer);

  const cl::Event start = stream->recordTimed();
  kernel.launch(*stream, {n});
  const cl::Event end = stream->recordTimed();
  const double elapsed = cl::Event::elapsedMilliseconds(start, end);
  EXPECT_GE(elapsed, 0.0);
  EXPECT_LT(elapsed, 60'000.0);
  EXPECT_TRUE(end.complete());
  EXPECT_GE(end.endNanoseconds(), start.endNanoseconds());
}

TEST(Event, MarkersOfAnUntimedStreamHaveNoDeviceTime) {
  const auto stream = cl::Stream::create(context());
  EXPECT_FALSE(stream->timed());
  const cl::Event start = stream->record();
  const cl::Event end = stream->record();
  stream->synchronize();
  EXPECT_FALSE(stream->timed());  // markers alone leave it plain
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { cl::Event::elapsedMilliseconds(start, end); },
                                          "recorded on a stream without timing"));
  EXPECT_TRUE(cl::Stream::create(context(), /*timed=*/true)->timed());
}

// Moving to a profiling queue keeps the stream in order: what was queued on the plain queue
// (held here behind an unset user event) runs before anything queued after the move.
TEST(Stream, EnableTimingKeepsCommandsInOrder) {
  const auto stream = cl::Stream::create(context());
  const std::size_t words = 1 << 16;
  const auto buffer = allocate(words * sizeof(std::uint32_t));
  const std::uint32_t first = 0x11111111, second = 0x22222222;
  cl::fillDevice(*stream, at(buffer), &first, sizeof(first), words * sizeof(first), cl::CopyMode::kAsync);

  UserEvent gate;
  const cl_event gate_event = gate.event().get();
  cl::check(clEnqueueBarrierWithWaitList(stream->queue(), 1, &gate_event, nullptr), "clEnqueueBarrierWithWaitList");
  stream->trackUntracked();
  cl::fillDevice(*stream, at(buffer), &second, sizeof(second), words * sizeof(second), cl::CopyMode::kAsync);
  const cl_command_queue plain = stream->queue();

  stream->enableTiming();
  EXPECT_TRUE(stream->timed());
  EXPECT_NE(stream->queue(), plain);
  const cl::Event after_move = stream->recordTimed();  // a second call changes nothing
  const auto copy = allocate(words * sizeof(std::uint32_t));
  cl::copyDeviceToDevice(*stream, at(copy), at(buffer), words * sizeof(std::uint32_t), cl::CopyMode::kAsync);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(after_move.complete());  // still behind the plain queue's gate
  EXPECT_FALSE(stream->idle());

  gate.complete();
  stream->synchronize();
  EXPECT_EQ(download<std::uint32_t>(*stream, at(copy), words), std::vector<std::uint32_t>(words, second));
  const cl::Event end = stream->recordTimed();
  EXPECT_GE(cl::Event::elapsedMilliseconds(after_move, end), 0.0);
  EXPECT_TRUE(stream->idle());
}

TEST(Stream, HoldUntilCompleteKeepsOwnerUntilSynchronize) {
  const auto stream = cl::Stream::create(context());
  const auto owner = std::make_shared<std::vector<float>>(randomFloats(16, 43));
  UserEvent pending;
  stream->holdUntilComplete(pending.event(), owner);
  EXPECT_EQ(owner.use_count(), 2);  // held: its event has not completed
  stream->synchronize();
  EXPECT_EQ(owner.use_count(), 1);
}

TEST(Stream, CompletedHoldsAreReleasedOnTheNextHold) {
  const auto stream = cl::Stream::create(context());
  const auto first = std::make_shared<int>(1);
  const auto second = std::make_shared<int>(2);
  UserEvent pending;
  stream->holdUntilComplete(pending.event(), first);
  EXPECT_EQ(first.use_count(), 2);
  pending.complete();
  // The next hold drops every leading hold whose event has completed, without synchronize.
  stream->holdUntilComplete(stream->record(), second);
  EXPECT_EQ(first.use_count(), 1);
  stream->synchronize();
  EXPECT_EQ(second.use_count(), 1);
}

TEST(Stream, HoldsAreReleasedOldestFirst) {
  const auto stream = cl::Stream::create(context());
  const auto older = std::make_shared<int>(1);
  const auto newer = std::make_shared<int>(2);
  UserEvent first;
  UserEvent second;
  stream->holdUntilComplete(first.event(), older);
  stream->holdUntilComplete(second.event(), newer);
  first.complete();
  const auto trigger = std::make_shared<int>(3);
  const cl::Event done = stream->record();
  done.wait();
  stream->holdUntilComplete(done, trigger);  // releases `older`, keeps `newer` (still pending)
  EXPECT_EQ(older.use_count(), 1);
  EXPECT_EQ(newer.use_count(), 2);
  stream->synchronize();
  EXPECT_EQ(newer.use_count(), 1);
  EXPECT_EQ(trigger.use_count(), 1);
}

TEST(Stream, HoldsWithoutEventsGoWithALaterCompletedEventOrSynchronize) {
  const auto stream = cl::Stream::create(context());
  const auto first = std::make_shared<int>(1);
  stream->holdUntilQueuedWorkRan(first);
  EXPECT_EQ(first.use_count(), 2);
  const cl::Event done = stream->record();  // recorded after the hold: it completing means the hold's work ran
  done.wait();
  const auto trigger = std::make_shared<int>(2);
  stream->holdUntilComplete(done, trigger);
  EXPECT_EQ(first.use_count(), 1);
  EXPECT_EQ(trigger.use_count(), 1);
  const auto second = std::make_shared<int>(3);
  stream->holdUntilQueuedWorkRan(second);
  EXPECT_EQ(second.use_count(), 2);
  stream->synchronize();
  EXPECT_EQ(second.use_count(), 1);
}

TEST(Stream, HoldsWithoutEventsDoNotPileUpOnAStreamNeverSynchronized) {
  const auto stream = cl::Stream::create(context());
  std::vector<std::shared_ptr<int>> owners;
  for (std::size_t i = 0; i < 10 * cl::Stream::kHoldsPerMarker; ++i) {
    owners.push_back(std::make_shared<int>(static_cast<int>(i)));
    stream->holdUntilQueuedWorkRan(owners.back());
  }
  // Markers recorded every kHoldsPerMarker holds let completed ones go without a synchronize:
  // wait for the queue without telling the stream, then add one more hold.
  clFinish(stream->queue());
  for (std::size_t i = 0; i < cl::Stream::kHoldsPerMarker; ++i) {
    owners.push_back(std::make_shared<int>(-1));
    stream->holdUntilQueuedWorkRan(owners.back());
  }
  EXPECT_EQ(owners.front().use_count(), 1);
  stream->synchronize();
  for (const auto& owner : owners) EXPECT_EQ(owner.use_count(), 1);
}

TEST(Stream, IdleFollowsTheNewestCommand) {
  const auto stream = cl::Stream::create(context());
  EXPECT_TRUE(stream->idle());  // nothing queued yet

  // A barrier on an unset user event keeps the queue busy until the event is set.
  UserEvent gate;
  const cl_event gate_event = gate.event().get();
  cl::EventHandle barrier;
  cl::check(clEnqueueBarrierWithWaitList(stream->queue(), 1, &gate_event, barrier.replace()),
            "clEnqueueBarrierWithWaitList");
  stream->track(cl::Event(barrier));
  const auto buffer = allocate(4096);
  const std::uint32_t pattern = 0x01020304;
  cl::fillDevice(*stream, at(buffer), &pattern, sizeof(pattern), 4096, cl::CopyMode::kAsync);
  EXPECT_FALSE(stream->idle());
  EXPECT_FALSE(stream->idle());  // asking does not change the answer

  gate.complete();
  stream->synchronize();
  EXPECT_TRUE(stream->idle());
  EXPECT_EQ(download<std::uint32_t>(*stream, at(buffer), 1024),
            std::vector<std::uint32_t>(1024, pattern));
}

// Commands queued without an event (fills, kernels, GEMMs) are still seen: polling idle()
// turns true once they are done, without a synchronize.
TEST(Stream, IdleSeesCommandsQueuedWithoutEvents) {
  const auto stream = cl::Stream::create(context());
  const auto buffer = allocate(1 << 20);
  const std::uint32_t pattern = 0xA5A5A5A5;
  cl::fillDevice(*stream, at(buffer), &pattern, sizeof(pattern), 1 << 20, cl::CopyMode::kAsync);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  bool idle = false;
  while (!(idle = stream->idle()) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  EXPECT_TRUE(idle);
  const std::vector<std::uint32_t> data = download<std::uint32_t>(*stream, at(buffer), 1 << 18);
  EXPECT_EQ(data, std::vector<std::uint32_t>(1 << 18, pattern));
}

TEST(Stream, DestroyingAStreamFinishesItsWork) {
  const std::vector<unsigned char> data = randomBytes(1 << 20, 44);
  const auto buffer = allocate(data.size());
  auto pinned = cl::PinnedHostBuffer::allocate(context(), data.size());
  std::copy(data.begin(), data.end(), static_cast<unsigned char*>(pinned->data()));
  {
    const auto stream = cl::Stream::create(context());
    cl::copyHostToDevice(*stream, at(buffer), pinned->data(), data.size(), cl::CopyMode::kAsync);
  }
  const auto reader = cl::Stream::create(context());
  EXPECT_EQ(download<unsigned char>(*reader, at(buffer), data.size()), data);
}

}  // namespace
}  // namespace mlprt::test
