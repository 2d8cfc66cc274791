#include "backend/opencl/memory.h"

#include <atomic>
#include <map>
#include <mutex>
#include <sstream>

#include "core/error.h"

namespace mlprt::cl {
namespace {

// Device addresses start above the 47-bit user-space range so they never equal a host pointer.
constexpr std::uint64_t kAddressBase = std::uint64_t{1} << 48;
// Ranges are page aligned with a gap page between them, so one-past-the-end of one allocation
// never names the next.
constexpr std::uint64_t kAddressAlignment = 4096;
// OpenCL refuses zero-sized buffers; empty allocations get this many bytes behind the scenes.
constexpr std::size_t kMinimumBytes = 4;

// Counts one kind of live allocation (liveAllocations()).
struct LiveCounter {
  std::atomic<std::uint64_t> buffers{0};
  std::atomic<std::uint64_t> bytes{0};
  void add(std::size_t size) {
    ++buffers;
    bytes += size;
  }
  void remove(std::size_t size) {
    --buffers;
    bytes -= size;
  }
};

LiveCounter& liveDevice() {
  static LiveCounter instance;
  return instance;
}

LiveCounter& livePinned() {
  static LiveCounter instance;
  return instance;
}

template <typename T>
struct RangeRegistry {
  std::mutex mutex;
  std::map<std::uint64_t, std::weak_ptr<T>> by_start;  // start address -> object; no overlaps
};

RangeRegistry<DeviceBuffer>& deviceRegistry() {
  static RangeRegistry<DeviceBuffer> instance;
  return instance;
}

RangeRegistry<PinnedHostBuffer>& pinnedRegistry() {
  static RangeRegistry<PinnedHostBuffer> instance;
  return instance;
}

std::uint64_t reserveAddressRange(std::size_t bytes) {
  static std::mutex mutex;
  static std::uint64_t next = kAddressBase;
  std::lock_guard<std::mutex> lock(mutex);
  const std::uint64_t start = next;
  const std::uint64_t pages = (bytes + kAddressAlignment - 1) / kAddressAlignment;
  next += (pages + 1) * kAddressAlignment;
  return start;
}

std::string hex(std::uint64_t value) {
  std::ostringstream out;
  out << "0x" << std::hex << value;
  return out.str();
}

void requireAllocatable(const Context& context, std::size_t bytes, const char* what) {
  const DeviceInfo& device = context.device();
  if (bytes > device.max_allocation) {
    throw OutOfMemory(std::string("cannot allocate ") + std::to_string(bytes) + " bytes of " + what +
                      " on '" + device.name + "': the device allows at most " +
                      std::to_string(device.max_allocation) + " bytes in one allocation");
  }
}

// Drivers may accept more memory than the device has and fail only when it is first used (PoCL
// then exhausts host memory), so the total is checked here, before the driver is asked.
void reserveDeviceMemory(Context& context, std::size_t bytes) {
  if (context.reserveDeviceBytes(bytes)) return;
  const DeviceInfo& device = context.device();
  throw OutOfMemory("cannot allocate " + std::to_string(bytes) + " bytes of device memory on '" + device.name +
                    "': mlprt already holds " + std::to_string(context.deviceBytesInUse()) +
                    " bytes there and the device has " + std::to_string(device.global_memory) +
                    " bytes; free allocations (or engines, contexts) first");
}

template <typename T>
void enroll(RangeRegistry<T>& registry, std::uint64_t start, const std::shared_ptr<T>& object) {
  std::lock_guard<std::mutex> lock(registry.mutex);
  registry.by_start[start] = object;
}

// The live object whose range [begin, begin + size] holds `start`; `range_start` gives begin.
template <typename T, typename Start>
std::shared_ptr<T> lookup(RangeRegistry<T>& registry, std::uint64_t start, Start range_start) {
  std::lock_guard<std::mutex> lock(registry.mutex);
  auto after = registry.by_start.upper_bound(start);
  if (after == registry.by_start.begin()) return nullptr;
  std::shared_ptr<T> candidate = std::prev(after)->second.lock();
  if (!candidate || start - range_start(*candidate) > candidate->size()) return nullptr;
  return candidate;
}

}  // namespace

std::shared_ptr<DeviceBuffer> DeviceBuffer::allocate(std::shared_ptr<Context> context,
                                                     std::size_t bytes) {
  auto buffer = std::make_shared<DeviceBuffer>(std::move(context), bytes);
  enroll(deviceRegistry(), buffer->address(), buffer);
  return buffer;
}

DeviceBuffer::DeviceBuffer(std::shared_ptr<Context> context, std::size_t bytes)
    : context_(std::move(context)), size_(bytes), address_(reserveAddressRange(bytes)) {
  requireAllocatable(*context_, bytes, "device memory");
  reserveDeviceMemory(*context_, bytes);
  cl_int status = CL_SUCCESS;
  mem_ = MemHandle(clCreateBuffer(context_->get(), CL_MEM_READ_WRITE,
                                  bytes < kMinimumBytes ? kMinimumBytes : bytes, nullptr, &status));
  if (status != CL_SUCCESS) context_->releaseDeviceBytes(bytes);
  check(status, "allocating " + std::to_string(bytes) + " bytes of device memory on " +
                    context_->device().name);
  liveDevice().add(size_);
}

DeviceBuffer::~DeviceBuffer() { free(); }

cl_mem DeviceBuffer::mem() const {
  if (!mem_) {
    throw InvalidArgument("device allocation at " + hex(address_) + " (" + std::to_string(size_) +
                          " bytes) has been freed");
  }
  return mem_.get();
}

void DeviceBuffer::free() {
  {
    RangeRegistry<DeviceBuffer>& registry = deviceRegistry();
    std::lock_guard<std::mutex> lock(registry.mutex);
    registry.by_start.erase(address_);
  }
  if (mem_) context_->releaseDeviceBytes(size_);
  if (mem_) liveDevice().remove(size_);
  mem_.reset();
}

bool holds(const DeviceRange& range, std::size_t bytes) noexcept {
  const DeviceBuffer& buffer = *range.buffer;
  return !buffer.freed() && range.offset <= buffer.size() && bytes <= buffer.size() - range.offset;
}

void requireInside(const DeviceRange& range, std::size_t bytes, const std::string& role) {
  const DeviceBuffer& buffer = *range.buffer;
  buffer.mem();  // throws if freed
  if (range.offset > buffer.size() || bytes > buffer.size() - range.offset) {
    throw InvalidArgument(role + ": " + std::to_string(bytes) + " bytes at offset " +
                          std::to_string(range.offset) + " overrun the device allocation at " +
                          hex(buffer.address()) + " of " + std::to_string(buffer.size()) + " bytes");
  }
}

bool isDeviceAddress(std::uint64_t address) noexcept { return address >= kAddressBase; }

namespace {

// The live allocation holding `address` and the offset there; an empty range when there is none.
DeviceRange liveRangeAt(std::uint64_t address) {
  DeviceRange range;
  range.buffer = lookup(deviceRegistry(), address, [](const DeviceBuffer& buffer) { return buffer.address(); });
  if (!range.buffer || range.buffer->freed()) return {};
  range.offset = static_cast<std::size_t>(address - range.buffer->address());
  return range;
}

}  // namespace

DeviceRange resolveDeviceAddress(std::uint64_t address, std::size_t bytes, const std::string& role) {
  // An address may point one past the end of its allocation (for empty copies), not further.
  const DeviceRange range = liveRangeAt(address);
  if (!range.buffer) {
    if (!isDeviceAddress(address) && findPinned(reinterpret_cast<const void*>(address), 0)) {
      throw InvalidArgument(role + ": address " + hex(address) +
                            " is pinned host memory, not a device allocation; only execution "
                            "contexts take pinned host addresses (set_tensor_address)");
    }
    throw InvalidArgument(role + ": address " + hex(address) +
                          " is not inside a live device allocation (freed, or not from mlprt?)");
  }
  requireInside(range, bytes, role);
  return range;
}

DeviceRange findDeviceRange(std::uint64_t address, std::size_t bytes) {
  DeviceRange range = liveRangeAt(address);
  return range.buffer && holds(range, bytes) ? range : DeviceRange{};
}

std::shared_ptr<PinnedHostBuffer> PinnedHostBuffer::allocate(std::shared_ptr<Context> context,
                                                             std::size_t bytes) {
  auto buffer = std::make_shared<PinnedHostBuffer>(std::move(context), bytes);
  enroll(pinnedRegistry(), reinterpret_cast<std::uintptr_t>(buffer->data()), buffer);
  return buffer;
}

PinnedHostBuffer::PinnedHostBuffer(std::shared_ptr<Context> context, std::size_t bytes)
    : context_(std::move(context)), size_(bytes) {
  requireAllocatable(*context_, bytes, "pinned host memory");
  const std::size_t allocated = bytes < kMinimumBytes ? kMinimumBytes : bytes;
  cl_int status = CL_SUCCESS;
  mem_ = MemHandle(clCreateBuffer(context_->get(), CL_MEM_READ_WRITE | CL_MEM_ALLOC_HOST_PTR,
                                  allocated, nullptr, &status));
  check(status, "allocating " + std::to_string(bytes) + " bytes of pinned host memory");
  map_queue_ = QueueHandle(clCreateCommandQueue(context_->get(), context_->device().id, 0, &status));
  check(status, "clCreateCommandQueue");
  data_ = clEnqueueMapBuffer(map_queue_.get(), mem_.get(), CL_TRUE, CL_MAP_READ | CL_MAP_WRITE, 0,
                             allocated, 0, nullptr, nullptr, &status);
  check(status, "mapping pinned host memory");
  livePinned().add(size_);
}

PinnedHostBuffer::~PinnedHostBuffer() {
  {
    RangeRegistry<PinnedHostBuffer>& registry = pinnedRegistry();
    std::lock_guard<std::mutex> lock(registry.mutex);
    registry.by_start.erase(reinterpret_cast<std::uintptr_t>(data_));
  }
  if (data_) {
    cl_event unmapped = nullptr;
    if (clEnqueueUnmapMemObject(map_queue_.get(), mem_.get(), data_, 0, nullptr, &unmapped) ==
        CL_SUCCESS) {
      clWaitForEvents(1, &unmapped);
      clReleaseEvent(unmapped);
    }
  }
  livePinned().remove(size_);
}

LiveAllocations liveAllocations() {
  LiveAllocations live;
  live.device_buffers = liveDevice().buffers.load();
  live.device_bytes = liveDevice().bytes.load();
  live.pinned_buffers = livePinned().buffers.load();
  live.pinned_bytes = livePinned().bytes.load();
  return live;
}

std::shared_ptr<PinnedHostBuffer> findPinned(const void* data, std::size_t bytes) {
  const auto start = reinterpret_cast<std::uintptr_t>(data);
  const auto base = [](const PinnedHostBuffer& buffer) {
    return reinterpret_cast<std::uintptr_t>(buffer.data());
  };
  std::shared_ptr<PinnedHostBuffer> buffer = lookup(pinnedRegistry(), start, base);
  if (!buffer || bytes > buffer->size() - (start - base(*buffer))) return nullptr;
  return buffer;
}

}  // namespace mlprt::cl
