// Host <-> device and device <-> device copies, asynchronous ordering, and fills.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "backend/opencl/copy.h"
#include "core/error.h"
#include "test_util.h"

namespace mlprt::test {
namespace {

using Bytes = std::vector<unsigned char>;

class Copy : public ::testing::Test {
 protected:
  std::shared_ptr<cl::Stream> stream_ = cl::Stream::create(context());

  // A device buffer holding `contents`.
  std::shared_ptr<cl::DeviceBuffer> deviceWith(const Bytes& contents) {
    auto buffer = allocate(contents.size());
    upload(*stream_, at(buffer), contents);
    return buffer;
  }

  Bytes readAll(const std::shared_ptr<cl::DeviceBuffer>& buffer) {
    return download<unsigned char>(*stream_, at(buffer), buffer->size());
  }

  // A pinned host buffer holding `contents`.
  std::shared_ptr<cl::PinnedHostBuffer> pinnedWith(const Bytes& contents) {
    auto pinned = cl::PinnedHostBuffer::allocate(context(), contents.size());
    std::memcpy(pinned->data(), contents.data(), contents.size());
    return pinned;
  }
};

Bytes bytesOf(const cl::PinnedHostBuffer& pinned) {
  const auto* data = static_cast<const unsigned char*>(pinned.data());
  return Bytes(data, data + pinned.size());
}

// Writes `size` random bytes at each offset and reads them back, checking that the bytes
// around the written range keep their previous contents.
TEST_F(Copy, HostDeviceRoundTripAtOffsets) {
  const std::vector<std::size_t> sizes = {1, 3, 4, 5, 7919, 4097, 65537, std::size_t{1} << 20};
  const std::vector<std::size_t> offsets = {0, 1, 13, 4096};
  std::uint32_t seed = 100;
  for (std::size_t size : sizes) {
    for (std::size_t offset : offsets) {
      SCOPED_TRACE("size " + std::to_string(size) + " at offset " + std::to_string(offset));
      const std::size_t tail = 9;
      Bytes expected = randomBytes(offset + size + tail, seed++);
      const auto buffer = deviceWith(expected);
      const Bytes payload = randomBytes(size, seed++);
      cl::copyHostToDevice(*stream_, at(buffer, offset), payload.data(), size,
                           cl::CopyMode::kBlocking);
      std::copy(payload.begin(), payload.end(), expected.begin() + static_cast<std::ptrdiff_t>(offset));
      EXPECT_EQ(readAll(buffer), expected);

      Bytes back(size);
      cl::copyDeviceToHost(*stream_, back.data(), at(buffer, offset), size, cl::CopyMode::kBlocking);
      EXPECT_EQ(back, payload);
    }
  }
}

TEST_F(Copy, RoundTripThroughResolvedAddresses) {
  const Bytes data = randomBytes(4097, 3);
  const auto buffer = allocate(8192);
  const std::uint64_t address = buffer->address() + 1001;
  cl::copyHostToDevice(*stream_, cl::resolveDeviceAddress(address, data.size(), "destination"),
                       data.data(), data.size(), cl::CopyMode::kBlocking);
  Bytes back(data.size());
  cl::copyDeviceToHost(*stream_, back.data(), cl::resolveDeviceAddress(address, back.size(), "source"),
                       back.size(), cl::CopyMode::kBlocking);
  EXPECT_EQ(back, data);
}

TEST_F(Copy, DeviceToDeviceWithOffsets) {
  for (cl::CopyMode mode : {cl::CopyMode::kBlocking, cl::CopyMode::kAsync}) {
    const Bytes source_data = randomBytes(10007, 11);
    Bytes expected = randomBytes(9001, 12);
    const auto source = deviceWith(source_data);
    const auto destination = deviceWith(expected);
    const std::size_t from = 17;
    const std::size_t to = 4099;
    const std::size_t bytes = 4801;
    cl::copyDeviceToDevice(*stream_, at(destination, to), at(source, from), bytes, mode);
    std::copy_n(source_data.begin() + from, bytes, expected.begin() + to);
    EXPECT_EQ(readAll(destination), expected);
    EXPECT_EQ(readAll(source), source_data);
  }
}

TEST_F(Copy, DeviceToDeviceWithinOneBuffer) {
  Bytes expected = randomBytes(1000, 13);
  const auto buffer = deviceWith(expected);
  // Adjacent ranges do not overlap.
  cl::copyDeviceToDevice(*stream_, at(buffer, 300), at(buffer, 0), 300, cl::CopyMode::kBlocking);
  std::copy_n(expected.begin(), 300, expected.begin() + 300);
  EXPECT_EQ(readAll(buffer), expected);
}

TEST_F(Copy, OverlappingDeviceToDeviceThrows) {
  const auto buffer = deviceWith(randomBytes(1000, 14));
  for (const auto& [to, from] : {std::pair<std::size_t, std::size_t>{0, 0}, {100, 0}, {0, 299},
                                 {299, 0}, {500, 600}}) {
    SCOPED_TRACE(std::to_string(to) + " <- " + std::to_string(from));
    EXPECT_TRUE(throwsWith<InvalidArgument>(
        [&] {
          cl::copyDeviceToDevice(*stream_, at(buffer, to), at(buffer, from), 300,
                                 cl::CopyMode::kBlocking);
        },
        "overlap"));
  }
}

TEST_F(Copy, OverrunThrows) {
  const auto buffer = allocate(100);
  const auto other = allocate(100);
  const Bytes data = randomBytes(101, 15);
  Bytes out(101);
  const auto blocking = cl::CopyMode::kBlocking;
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::copyHostToDevice(*stream_, at(buffer), data.data(), 101, blocking); }, "overrun"));
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::copyHostToDevice(*stream_, at(buffer, 50), data.data(), 51, blocking); }, "overrun"));
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::copyDeviceToHost(*stream_, out.data(), at(buffer, 1), 100, blocking); }, "overrun"));
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::copyDeviceToDevice(*stream_, at(other), at(buffer, 1), 100, blocking); },
      "copy source"));
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::copyDeviceToDevice(*stream_, at(other, 1), at(buffer), 100, blocking); },
      "copy destination"));
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::copyHostToDevice(*stream_, at(buffer, 101), data.data(), 0, blocking); }, "overrun"));
}

TEST_F(Copy, CopiesInvolvingFreedBuffersThrow) {
  const auto buffer = allocate(64);
  buffer->free();
  const Bytes data = randomBytes(64, 16);
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::copyHostToDevice(*stream_, at(buffer), data.data(), 64, cl::CopyMode::kBlocking); },
      "freed"));
}

TEST_F(Copy, EmptyCopiesAreNoOps) {
  const Bytes data = randomBytes(16, 17);
  const auto buffer = deviceWith(data);
  const auto empty = allocate(0);
  Bytes out = randomBytes(4, 18);
  const Bytes out_before = out;
  EXPECT_NO_THROW(cl::copyHostToDevice(*stream_, at(buffer, 16), out.data(), 0, cl::CopyMode::kAsync));
  EXPECT_NO_THROW(cl::copyDeviceToHost(*stream_, out.data(), at(empty), 0, cl::CopyMode::kBlocking));
  EXPECT_NO_THROW(
      cl::copyDeviceToDevice(*stream_, at(empty), at(buffer, 8), 0, cl::CopyMode::kBlocking));
  EXPECT_EQ(readAll(buffer), data);
  EXPECT_EQ(out, out_before);
}

// Many asynchronous copies on one stream must behave as if run one after the other.
TEST_F(Copy, AsyncPinnedCopiesRunInOrder) {
  constexpr std::size_t kBytes = 256 * 1024 + 3;
  constexpr int kRounds = 6;
  const auto source = allocate(kBytes);
  const auto snapshot = allocate(kBytes);
  std::vector<Bytes> first_patterns;
  std::vector<Bytes> second_patterns;
  std::vector<std::shared_ptr<cl::PinnedHostBuffer>> first_out;
  std::vector<std::shared_ptr<cl::PinnedHostBuffer>> second_out;
  std::vector<std::shared_ptr<cl::PinnedHostBuffer>> inputs;
  const auto async = cl::CopyMode::kAsync;
  for (int round = 0; round < kRounds; ++round) {
    first_patterns.push_back(randomBytes(kBytes, 1000 + 2 * round));
    second_patterns.push_back(randomBytes(kBytes, 1001 + 2 * round));
    const auto a = pinnedWith(first_patterns.back());
    const auto b = pinnedWith(second_patterns.back());
    first_out.push_back(pinnedWith(randomBytes(kBytes, 5000 + round)));
    second_out.push_back(pinnedWith(randomBytes(kBytes, 6000 + round)));
    // source <- A; snapshot <- source; source <- B; read both back.
    cl::copyHostToDevice(*stream_, at(source), a->data(), kBytes, async);
    cl::copyDeviceToDevice(*stream_, at(snapshot), at(source), kBytes, async);
    cl::copyHostToDevice(*stream_, at(source), b->data(), kBytes, async);
    cl::copyDeviceToHost(*stream_, first_out.back()->data(), at(snapshot), kBytes, async);
    cl::copyDeviceToHost(*stream_, second_out.back()->data(), at(source), kBytes, async);
    inputs.push_back(a);
    inputs.push_back(b);
  }
  stream_->synchronize();
  EXPECT_TRUE(stream_->idle());
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    EXPECT_EQ(bytesOf(*first_out[round]), first_patterns[round]);
    EXPECT_EQ(bytesOf(*second_out[round]), second_patterns[round]);
  }
}

TEST_F(Copy, AsyncCopyKeepsPinnedSourceAlive) {
  constexpr std::size_t kBytes = 1 << 20;
  const Bytes data = randomBytes(kBytes, 19);
  const auto buffer = allocate(kBytes);
  auto pinned = pinnedWith(data);
  const std::weak_ptr<cl::PinnedHostBuffer> watch = pinned;
  cl::copyHostToDevice(*stream_, at(buffer), pinned->data(), kBytes, cl::CopyMode::kAsync);
  pinned.reset();  // the stream holds it until the copy has run
  stream_->synchronize();
  EXPECT_TRUE(watch.expired());
  EXPECT_EQ(readAll(buffer), data);
}

TEST_F(Copy, AsyncFromPinnedSubRange) {
  const Bytes data = randomBytes(3000, 20);
  const auto pinned = pinnedWith(data);
  const auto buffer = allocate(1000);
  const auto* base = static_cast<const unsigned char*>(pinned->data());
  cl::copyHostToDevice(*stream_, at(buffer), base + 1000, 1000, cl::CopyMode::kAsync);
  stream_->synchronize();
  EXPECT_EQ(readAll(buffer), Bytes(data.begin() + 1000, data.begin() + 2000));
}

// Pageable memory may be reused as soon as the call returns: "async" copies complete at once.
TEST_F(Copy, AsyncFromPageableMemoryCompletesSynchronously) {
  const Bytes original = randomBytes(65537, 21);
  Bytes host = original;
  const auto buffer = allocate(host.size());
  cl::copyHostToDevice(*stream_, at(buffer), host.data(), host.size(), cl::CopyMode::kAsync);
  std::fill(host.begin(), host.end(), static_cast<unsigned char>(0x5a));  // reuse immediately

  Bytes back = randomBytes(host.size(), 22);
  cl::copyDeviceToHost(*stream_, back.data(), at(buffer), back.size(), cl::CopyMode::kAsync);
  EXPECT_EQ(back, original);  // no synchronize needed
}

template <typename T>
Bytes repeated(T pattern, std::size_t count) {
  Bytes bytes(count * sizeof(T));
  for (std::size_t i = 0; i < count; ++i) std::memcpy(&bytes[i * sizeof(T)], &pattern, sizeof(T));
  return bytes;
}

TEST_F(Copy, FillWithOneTwoAndFourBytePatterns) {
  const std::uint8_t one = 0xa7;
  const std::uint16_t two = 0x1b2c;
  const std::uint32_t four = 0x3d4e5f61;
  struct Case {
    const void* pattern;
    std::size_t pattern_size;
    Bytes expected_fill;
  };
  const std::vector<Case> cases = {
      {&one, 1, repeated(one, 1001)}, {&two, 2, repeated(two, 500)}, {&four, 4, repeated(four, 250)}};
  for (const Case& fill : cases) {
    for (cl::CopyMode mode : {cl::CopyMode::kBlocking, cl::CopyMode::kAsync}) {
      SCOPED_TRACE(std::to_string(fill.pattern_size) + "-byte pattern");
      Bytes expected = randomBytes(2048, 23);
      const auto buffer = deviceWith(expected);
      const std::size_t offset = 8;
      cl::fillDevice(*stream_, at(buffer, offset), fill.pattern, fill.pattern_size,
                     fill.expected_fill.size(), mode);
      stream_->synchronize();
      std::copy(fill.expected_fill.begin(), fill.expected_fill.end(), expected.begin() + offset);
      EXPECT_EQ(readAll(buffer), expected);
    }
  }
}

TEST_F(Copy, FillRejectsBadPatterns) {
  const auto buffer = allocate(64);
  const std::uint32_t pattern = 0x01020304;
  const auto blocking = cl::CopyMode::kBlocking;
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::fillDevice(*stream_, at(buffer), &pattern, 4, 6, blocking); }, "not a multiple"));
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::fillDevice(*stream_, at(buffer, 2), &pattern, 4, 8, blocking); }, "offset 2"));
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::fillDevice(*stream_, at(buffer, 1), &pattern, 2, 2, blocking); }, "2-byte pattern"));
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::fillDevice(*stream_, at(buffer), &pattern, 3, 6, blocking); }, "1, 2 or 4 bytes"));
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::fillDevice(*stream_, at(buffer), &pattern, 8, 8, blocking); }, "not 8"));
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::fillDevice(*stream_, at(buffer, 32), &pattern, 4, 36, blocking); }, "overrun"));
}

TEST_F(Copy, BuffersOfAnotherContextAreRejected) {
  // A second context on the same device stands in for a second device.
  const auto other = std::make_shared<cl::Context>(context()->device());
  const auto foreign = cl::DeviceBuffer::allocate(other, 64);
  const auto local = allocate(64);
  const Bytes data = randomBytes(64, 24);
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::copyHostToDevice(*stream_, at(foreign), data.data(), 64, cl::CopyMode::kBlocking); },
      "belongs to device"));
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::copyDeviceToDevice(*stream_, at(local), at(foreign), 64, cl::CopyMode::kBlocking); },
      "copy source"));
}

}  // namespace
}  // namespace mlprt::test
