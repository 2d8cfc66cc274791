// OpenCL platform and device discovery, and the choice of the device mlprt runs on.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "backend/opencl/cl.h"

namespace mlprt::cl {

enum class DeviceType { kGPU, kCPU, kAccelerator, kOther };

const char* deviceTypeName(DeviceType type) noexcept;

struct DeviceInfo {
  int index = 0;           // position in listDevices(), the flat index users pass
  int platform_index = 0;  // platform position as the ICD loader reports it
  int device_index = 0;    // device position within its platform
  cl_platform_id platform = nullptr;
  cl_device_id id = nullptr;
  std::string platform_name;
  std::string name;
  std::string vendor;
  std::string driver_version;
  std::string opencl_version;
  DeviceType type = DeviceType::kOther;
  std::uint64_t global_memory = 0;
  std::uint64_t max_allocation = 0;
  std::uint32_t compute_units = 0;
  std::uint64_t local_memory = 0;    // bytes of __local memory per work-group
  std::size_t max_work_group = 0;    // work-items per work-group, at most
  bool fp16 = false;  // cl_khr_fp16: half arithmetic in kernels, not just vload_half/vstore_half
  // Handing out a program's binary compiles its kernels again: PoCL's binaries hold machine code
  // for any work-group size, built on request, while its launches compile each kernel for the
  // size they use (and PoCL caches those compiles on disk itself).
  bool binary_costs_a_compile = false;

  // Identifies the device and driver, e.g. for cache keys and engine files.
  std::string fingerprint() const;
  // "0:1" style coordinates.
  std::string coordinates() const;
};

// All devices of all platforms, in platform then device order. Enumerated once per process;
// empty when no OpenCL platform is installed.
const std::vector<DeviceInfo>& listDevices();

// Finds the device a selector names: a flat index ("1"), platform:device coordinates ("0:1"),
// or a case-insensitive substring of the device name, platform name, vendor or version string,
// searched in that order ("h200", "nvidia", "pocl").
// Throws InvalidArgument listing the available devices when nothing matches.
const DeviceInfo& findDevice(const std::string& selector);

// The device used when none was chosen by API: MLPRT_DEVICE if set, else the first GPU, else
// the first CPU, else the first device. Throws Error when there is no OpenCL device at all.
const DeviceInfo& defaultDevice();

}  // namespace mlprt::cl
