#include "backend/opencl/context.h"

#include <map>
#include <mutex>

#include "core/error.h"

namespace mlprt::cl {
namespace {

struct Registry {
  std::mutex mutex;
  std::map<int, std::shared_ptr<Context>> contexts;  // by device index
  const DeviceInfo* selected = nullptr;
};

Registry& registry() {
  static Registry instance;
  return instance;
}

}  // namespace

Context::Context(const DeviceInfo& device) : device_(device) {
  const cl_context_properties properties[] = {
      CL_CONTEXT_PLATFORM, reinterpret_cast<cl_context_properties>(device.platform), 0};
  cl_int status = CL_SUCCESS;
  context_ = ContextHandle(clCreateContext(properties, 1, &device.id, nullptr, nullptr, &status));
  check(status, "clCreateContext for " + device.name);
}

bool Context::reserveDeviceBytes(std::size_t bytes) noexcept {
  std::uint64_t used = device_bytes_.load();
  do {
    if (device_.global_memory == 0) break;  // the driver reports no size: nothing to check against
    if (bytes > device_.global_memory || used > device_.global_memory - bytes) return false;
  } while (!device_bytes_.compare_exchange_weak(used, used + bytes));
  return true;
}

void Context::releaseDeviceBytes(std::size_t bytes) noexcept { device_bytes_ -= bytes; }

std::shared_ptr<Context> Context::forDevice(const DeviceInfo& device) {
  Registry& state = registry();
  std::lock_guard<std::mutex> lock(state.mutex);
  std::shared_ptr<Context>& slot = state.contexts[device.index];
  if (!slot) slot = std::make_shared<Context>(device);
  return slot;
}

const DeviceInfo& Context::currentDevice() {
  {
    Registry& state = registry();
    std::lock_guard<std::mutex> lock(state.mutex);
    if (state.selected) return *state.selected;
  }
  return defaultDevice();
}

std::shared_ptr<Context> Context::current() { return forDevice(currentDevice()); }

const DeviceInfo& Context::selectDevice(const std::string& selector) {
  const DeviceInfo& device = findDevice(selector);
  Registry& state = registry();
  std::lock_guard<std::mutex> lock(state.mutex);
  state.selected = &device;
  return device;
}

void requireSameContext(const Context& expected, const Context& used, const std::string& what) {
  if (&expected == &used) return;
  throw InvalidArgument(what + " belongs to device '" + used.device().name + "' (" +
                        used.device().coordinates() + ") but the operation runs on '" +
                        expected.device().name + "' (" + expected.device().coordinates() + ")");
}

}  // namespace mlprt::cl
