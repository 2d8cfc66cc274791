#include "backend/opencl/device.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <mutex>
#include <sstream>

#include "core/error.h"

namespace mlprt::cl {
namespace {

std::string platformString(cl_platform_id platform, cl_platform_info what) {
  size_t size = 0;
  check(clGetPlatformInfo(platform, what, 0, nullptr, &size), "clGetPlatformInfo");
  std::string value(size, '\0');
  check(clGetPlatformInfo(platform, what, size, value.data(), nullptr), "clGetPlatformInfo");
  value.resize(value.find('\0') == std::string::npos ? value.size() : value.find('\0'));
  return value;
}

std::string deviceString(cl_device_id device, cl_device_info what) {
  size_t size = 0;
  check(clGetDeviceInfo(device, what, 0, nullptr, &size), "clGetDeviceInfo");
  std::string value(size, '\0');
  check(clGetDeviceInfo(device, what, size, value.data(), nullptr), "clGetDeviceInfo");
  value.resize(value.find('\0') == std::string::npos ? value.size() : value.find('\0'));
  return value;
}

template <typename T>
T deviceValue(cl_device_id device, cl_device_info what) {
  T value{};
  check(clGetDeviceInfo(device, what, sizeof(T), &value, nullptr), "clGetDeviceInfo");
  return value;
}

DeviceType toDeviceType(cl_device_type type) {
  if (type & CL_DEVICE_TYPE_GPU) return DeviceType::kGPU;
  if (type & CL_DEVICE_TYPE_CPU) return DeviceType::kCPU;
  if (type & CL_DEVICE_TYPE_ACCELERATOR) return DeviceType::kAccelerator;
  return DeviceType::kOther;
}

std::string trim(std::string text) {
  const auto not_space = [](unsigned char c) { return !std::isspace(c); };
  text.erase(text.begin(), std::find_if(text.begin(), text.end(), not_space));
  text.erase(std::find_if(text.rbegin(), text.rend(), not_space).base(), text.end());
  return text;
}

DeviceInfo describe(cl_platform_id platform, cl_device_id device) {
  DeviceInfo info;
  info.platform = platform;
  info.id = device;
  info.platform_name = trim(platformString(platform, CL_PLATFORM_NAME));
  info.name = trim(deviceString(device, CL_DEVICE_NAME));
  info.vendor = trim(deviceString(device, CL_DEVICE_VENDOR));
  info.driver_version = trim(deviceString(device, CL_DRIVER_VERSION));
  info.opencl_version = trim(deviceString(device, CL_DEVICE_VERSION));
  info.type = toDeviceType(deviceValue<cl_device_type>(device, CL_DEVICE_TYPE));
  info.global_memory = deviceValue<cl_ulong>(device, CL_DEVICE_GLOBAL_MEM_SIZE);
  info.max_allocation = deviceValue<cl_ulong>(device, CL_DEVICE_MAX_MEM_ALLOC_SIZE);
  info.compute_units = deviceValue<cl_uint>(device, CL_DEVICE_MAX_COMPUTE_UNITS);
  info.local_memory = deviceValue<cl_ulong>(device, CL_DEVICE_LOCAL_MEM_SIZE);
  info.max_work_group = deviceValue<std::size_t>(device, CL_DEVICE_MAX_WORK_GROUP_SIZE);
  const std::string extensions = deviceString(device, CL_DEVICE_EXTENSIONS);
  info.fp16 = extensions.find("cl_khr_fp16") != std::string::npos;
  info.binary_costs_a_compile = info.platform_name.find("Portable Computing Language") != std::string::npos ||
                                info.opencl_version.find("PoCL") != std::string::npos;
  return info;
}

std::vector<DeviceInfo> enumerate() {
  cl_uint platform_count = 0;
  const cl_int status = clGetPlatformIDs(0, nullptr, &platform_count);
  if (status == -1001 /* CL_PLATFORM_NOT_FOUND_KHR: no ICD installed */ || platform_count == 0) {
    return {};
  }
  check(status, "clGetPlatformIDs");
  std::vector<cl_platform_id> platforms(platform_count);
  check(clGetPlatformIDs(platform_count, platforms.data(), nullptr), "clGetPlatformIDs");

  std::vector<DeviceInfo> devices;
  for (cl_uint p = 0; p < platform_count; ++p) {
    cl_uint device_count = 0;
    const cl_int found = clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, 0, nullptr, &device_count);
    if (found == CL_DEVICE_NOT_FOUND || device_count == 0) continue;
    check(found, "clGetDeviceIDs");
    std::vector<cl_device_id> ids(device_count);
    check(clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, device_count, ids.data(), nullptr),
          "clGetDeviceIDs");
    for (cl_uint d = 0; d < device_count; ++d) {
      DeviceInfo info = describe(platforms[p], ids[d]);
      info.index = static_cast<int>(devices.size());
      info.platform_index = static_cast<int>(p);
      info.device_index = static_cast<int>(d);
      devices.push_back(std::move(info));
    }
  }
  return devices;
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

bool parseIndex(const std::string& text, int& value) {
  if (text.empty() || text.size() > 6) return false;
  if (!std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); })) {
    return false;
  }
  value = std::stoi(text);
  return true;
}

std::string describeAvailable(const std::vector<DeviceInfo>& devices) {
  if (devices.empty()) return "no OpenCL device is installed";
  std::ostringstream out;
  out << "available devices:";
  for (const DeviceInfo& device : devices) {
    out << " [" << device.index << "] " << device.coordinates() << " " << device.name << " ("
        << device.platform_name << ");";
  }
  return out.str();
}

}  // namespace

const char* deviceTypeName(DeviceType type) noexcept {
  switch (type) {
    case DeviceType::kGPU: return "GPU";
    case DeviceType::kCPU: return "CPU";
    case DeviceType::kAccelerator: return "ACCELERATOR";
    case DeviceType::kOther: return "OTHER";
  }
  return "OTHER";
}

std::string DeviceInfo::fingerprint() const {
  return platform_name + " | " + name + " | " + driver_version;
}

std::string DeviceInfo::coordinates() const {
  return std::to_string(platform_index) + ":" + std::to_string(device_index);
}

const std::vector<DeviceInfo>& listDevices() {
  static std::once_flag once;
  static std::vector<DeviceInfo> devices;
  std::call_once(once, [] { devices = enumerate(); });
  return devices;
}

const DeviceInfo& findDevice(const std::string& selector) {
  const std::vector<DeviceInfo>& devices = listDevices();
  const std::string wanted = trim(selector);
  int first = 0;
  int second = 0;
  const size_t colon = wanted.find(':');
  if (colon != std::string::npos && parseIndex(wanted.substr(0, colon), first) &&
      parseIndex(wanted.substr(colon + 1), second)) {
    for (const DeviceInfo& device : devices) {
      if (device.platform_index == first && device.device_index == second) return device;
    }
  } else if (parseIndex(wanted, first)) {
    if (first < static_cast<int>(devices.size())) return devices[first];
  } else if (!wanted.empty()) {
    // Names first, then the vendor and version strings, where some drivers say who they are
    // (PoCL's devices are named after the CPU; "PoCL" is in their version string).
    const std::string needle = lower(wanted);
    for (auto field : {&DeviceInfo::name, &DeviceInfo::platform_name, &DeviceInfo::vendor,
                       &DeviceInfo::opencl_version}) {
      for (const DeviceInfo& device : devices) {
        if (lower(device.*field).find(needle) != std::string::npos) return device;
      }
    }
  }
  throw InvalidArgument("unknown OpenCL device '" + selector + "': " + describeAvailable(devices));
}

const DeviceInfo& defaultDevice() {
  const std::vector<DeviceInfo>& devices = listDevices();
  if (const char* selector = std::getenv("MLPRT_DEVICE"); selector && *selector) {
    try {
      return findDevice(selector);
    } catch (const InvalidArgument& error) {
      throw InvalidArgument(std::string("MLPRT_DEVICE: ") + error.what());
    }
  }
  if (devices.empty()) {
    throw Error(
        "no OpenCL device found: install an OpenCL driver (for CPUs, Debian's pocl-opencl-icd) "
        "and check that /etc/OpenCL/vendors lists it");
  }
  for (DeviceType preferred : {DeviceType::kGPU, DeviceType::kCPU}) {
    for (const DeviceInfo& device : devices) {
      if (device.type == preferred) return device;
    }
  }
  return devices.front();
}

}  // namespace mlprt::cl
