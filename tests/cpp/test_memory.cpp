// Device buffers, their integer addresses, and pinned host buffers.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "backend/opencl/memory.h"
#include "core/error.h"
#include "test_util.h"

namespace mlprt::test {
namespace {

constexpr std::uint64_t kAddressFloor = std::uint64_t{1} << 48;

TEST(DeviceBuffer, AddressesAreHighDistinctAndDisjoint) {
  const std::vector<std::size_t> sizes = {0, 1, 3, 4096, 4097, 65537, 1};
  std::vector<std::shared_ptr<cl::DeviceBuffer>> buffers;
  for (std::size_t bytes : sizes) buffers.push_back(allocate(bytes));

  for (std::size_t i = 0; i < buffers.size(); ++i) {
    EXPECT_EQ(buffers[i]->size(), sizes[i]);
    EXPECT_GE(buffers[i]->address(), kAddressFloor);
    EXPECT_FALSE(buffers[i]->freed());
    EXPECT_NE(buffers[i]->mem(), nullptr);
    EXPECT_EQ(buffers[i]->context(), context());
  }
  std::sort(buffers.begin(), buffers.end(),
            [](const auto& a, const auto& b) { return a->address() < b->address(); });
  for (std::size_t i = 1; i < buffers.size(); ++i) {
    // Strictly less: one past the end of a buffer must not be the start of the next one.
    EXPECT_LT(buffers[i - 1]->address() + buffers[i - 1]->size(), buffers[i]->address());
  }
}

TEST(DeviceBuffer, ResolvesBaseOffsetAndOnePastEnd) {
  const auto buffer = allocate(1000);
  const std::uint64_t base = buffer->address();

  cl::DeviceRange range = cl::resolveDeviceAddress(base, 1000, "test");
  EXPECT_EQ(range.buffer, buffer);
  EXPECT_EQ(range.offset, 0u);

  range = cl::resolveDeviceAddress(base + 123, 877, "test");
  EXPECT_EQ(range.buffer, buffer);
  EXPECT_EQ(range.offset, 123u);

  range = cl::resolveDeviceAddress(base + 1000, 0, "test");  // one past the end, empty
  EXPECT_EQ(range.buffer, buffer);
  EXPECT_EQ(range.offset, 1000u);
}

TEST(DeviceBuffer, ResolveRejectsRangesOutsideTheBuffer) {
  const auto buffer = allocate(1000);
  const std::uint64_t base = buffer->address();
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { cl::resolveDeviceAddress(base, 1001, "source"); },
                                          "overrun"));
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::resolveDeviceAddress(base + 1000, 1, "destination"); }, "destination"));
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { cl::resolveDeviceAddress(base + 1001, 0, "source"); },
                                          "not inside a live device allocation"));
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::resolveDeviceAddress(base + 5000, 0, "source"); }, "not inside"));
  EXPECT_TRUE(
      throwsWith<InvalidArgument>([] { cl::resolveDeviceAddress(0, 0, "null pointer"); }, "null pointer"));
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [] { cl::resolveDeviceAddress(kAddressFloor - 1, 1, "source"); }, "not inside"));
}

TEST(DeviceBuffer, FreedBufferNoLongerResolves) {
  const auto buffer = allocate(256);
  const std::uint64_t base = buffer->address();
  buffer->free();
  EXPECT_TRUE(buffer->freed());
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { buffer->mem(); }, "freed"));
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { cl::resolveDeviceAddress(base, 1, "source"); },
                                          "not inside a live device allocation"));
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::requireInside(at(buffer), 1, "operand"); }, "freed"));
  EXPECT_NO_THROW(buffer->free());  // freeing twice is harmless
}

TEST(DeviceBuffer, DestroyedBufferNoLongerResolves) {
  auto buffer = allocate(256);
  const std::uint64_t base = buffer->address();
  buffer.reset();
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { cl::resolveDeviceAddress(base, 0, "source"); },
                                          "not inside"));
}

TEST(DeviceBuffer, ZeroByteBuffer) {
  const auto empty = allocate(0);
  const auto next = allocate(0);
  EXPECT_EQ(empty->size(), 0u);
  EXPECT_NE(empty->address(), next->address());
  EXPECT_NO_THROW(empty->mem());
  const cl::DeviceRange range = cl::resolveDeviceAddress(empty->address(), 0, "empty");
  EXPECT_EQ(range.buffer, empty);
  EXPECT_EQ(range.offset, 0u);
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::resolveDeviceAddress(empty->address(), 1, "empty"); }, "overrun"));
}

TEST(DeviceBuffer, RequireInside) {
  const auto buffer = allocate(64);
  EXPECT_NO_THROW(cl::requireInside(at(buffer, 0), 64, "x"));
  EXPECT_NO_THROW(cl::requireInside(at(buffer, 64), 0, "x"));
  EXPECT_NO_THROW(cl::requireInside(at(buffer, 10), 54, "x"));
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { cl::requireInside(at(buffer, 10), 55, "role-x"); },
                                          "role-x"));
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { cl::requireInside(at(buffer, 65), 0, "x"); },
                                          "overrun"));
  // Offset and size that wrap around when added must not pass.
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::requireInside(at(buffer, 8), SIZE_MAX - 4, "x"); }, "overrun"));
}

TEST(DeviceBuffer, AllocationAboveDeviceLimitThrowsOutOfMemory) {
  const std::uint64_t limit = context()->device().max_allocation;
  const std::size_t bytes = static_cast<std::size_t>(limit) + 1;
  EXPECT_TRUE(throwsWith<OutOfMemory>([&] { allocate(bytes); }, std::to_string(bytes)));
  EXPECT_TRUE(throwsWith<OutOfMemory>(
      [&] { cl::PinnedHostBuffer::allocate(context(), bytes); }, std::to_string(bytes)));
}

TEST(PinnedHostBuffer, DataIsUsableHostMemory) {
  const auto pinned = cl::PinnedHostBuffer::allocate(context(), 4096);
  ASSERT_NE(pinned->data(), nullptr);
  EXPECT_EQ(pinned->size(), 4096u);
  EXPECT_EQ(pinned->context(), context());
  const std::vector<unsigned char> data = randomBytes(4096, 7);
  std::memcpy(pinned->data(), data.data(), data.size());
  EXPECT_EQ(std::memcmp(pinned->data(), data.data(), data.size()), 0);
}

TEST(PinnedHostBuffer, FindPinnedFindsSubRanges) {
  const auto pinned = cl::PinnedHostBuffer::allocate(context(), 1000);
  const auto* base = static_cast<const unsigned char*>(pinned->data());
  EXPECT_EQ(cl::findPinned(base, 1000), pinned);
  EXPECT_EQ(cl::findPinned(base + 10, 980), pinned);
  EXPECT_EQ(cl::findPinned(base + 999, 1), pinned);
  EXPECT_EQ(cl::findPinned(base + 1000, 0), pinned);  // one past the end, empty
}

TEST(PinnedHostBuffer, FindPinnedRejectsOtherMemory) {
  const auto pinned = cl::PinnedHostBuffer::allocate(context(), 1000);
  const auto* base = static_cast<const unsigned char*>(pinned->data());
  EXPECT_EQ(cl::findPinned(base, 1001), nullptr);
  EXPECT_EQ(cl::findPinned(base + 999, 2), nullptr);
  EXPECT_EQ(cl::findPinned(base + 500, 501), nullptr);
  const std::vector<unsigned char> heap = randomBytes(1000, 8);
  EXPECT_EQ(cl::findPinned(heap.data(), heap.size()), nullptr);
  const int stack_value = 1;
  EXPECT_EQ(cl::findPinned(&stack_value, sizeof(stack_value)), nullptr);
}

TEST(PinnedHostBuffer, TwoBuffersAreFoundSeparately) {
  const auto first = cl::PinnedHostBuffer::allocate(context(), 512);
  const auto second = cl::PinnedHostBuffer::allocate(context(), 512);
  EXPECT_NE(first->data(), second->data());
  EXPECT_EQ(cl::findPinned(first->data(), 512), first);
  EXPECT_EQ(cl::findPinned(second->data(), 512), second);
}

TEST(PinnedHostBuffer, NotFoundAfterDestruction) {
  auto pinned = cl::PinnedHostBuffer::allocate(context(), 2048);
  const auto address = reinterpret_cast<std::uintptr_t>(pinned->data());
  ASSERT_NE(cl::findPinned(pinned->data(), 16), nullptr);
  pinned.reset();
  EXPECT_EQ(cl::findPinned(reinterpret_cast<const void*>(address), 16), nullptr);
}

TEST(PinnedHostBuffer, ZeroBytes) {
  const auto pinned = cl::PinnedHostBuffer::allocate(context(), 0);
  EXPECT_NE(pinned->data(), nullptr);
  EXPECT_EQ(pinned->size(), 0u);
  EXPECT_EQ(cl::findPinned(pinned->data(), 0), pinned);
  EXPECT_EQ(cl::findPinned(pinned->data(), 1), nullptr);
}

TEST(LiveAllocations, CountEveryBufferUntilItIsFreedOrDestroyed) {
  const cl::LiveAllocations before = cl::liveAllocations();
  auto first = allocate(1000);
  auto second = allocate(0);
  auto pinned = cl::PinnedHostBuffer::allocate(context(), 300);
  cl::LiveAllocations now = cl::liveAllocations();
  EXPECT_EQ(now.device_buffers, before.device_buffers + 2);
  EXPECT_EQ(now.device_bytes, before.device_bytes + 1000);
  EXPECT_EQ(now.pinned_buffers, before.pinned_buffers + 1);
  EXPECT_EQ(now.pinned_bytes, before.pinned_bytes + 300);
  first->free();  // an explicit free counts once, not again when the object goes
  EXPECT_EQ(cl::liveAllocations().device_bytes, before.device_bytes);
  first.reset();
  second.reset();
  pinned.reset();
  now = cl::liveAllocations();
  EXPECT_EQ(now.device_buffers, before.device_buffers);
  EXPECT_EQ(now.device_bytes, before.device_bytes);
  EXPECT_EQ(now.pinned_buffers, before.pinned_buffers);
  EXPECT_EQ(now.pinned_bytes, before.pinned_bytes);
}

}  // namespace
}  // namespace mlprt::test
