// Helpers shared by the raw OpenCL programs in bench/ (cl_baseline.cpp, latency_probe.cpp,
// wgmma_gemm.cpp, wgmma_ptxas.cpp):
// status checks, median wall-clock timing, devices in the order `mlprt devices` lists them, a
// program binary as text.
#pragma once
#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

namespace bench {

inline void check(cl_int status, const char* what) {
  if (status != CL_SUCCESS) {
    std::fprintf(stderr, "%s failed: %d\n", what, status);
    std::exit(1);
  }
}

// Median microseconds of `iterations` runs of `body`, after `warmups` untimed runs.
inline double medianMicroseconds(int iterations, int warmups, const std::function<void()>& body) {
  for (int i = 0; i < warmups; ++i) body();
  std::vector<double> times;
  for (int i = 0; i < iterations; ++i) {
    const auto start = std::chrono::steady_clock::now();
    body();
    times.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
  }
  std::nth_element(times.begin(), times.begin() + times.size() / 2, times.end());
  return times[times.size() / 2];
}

struct PlatformDevice {
  cl_platform_id platform = nullptr;
  cl_device_id device = nullptr;
};

// Every device of every platform, platform by platform.
inline std::vector<PlatformDevice> allDevices() {
  cl_uint platform_count = 0;
  check(clGetPlatformIDs(0, nullptr, &platform_count), "clGetPlatformIDs");
  std::vector<cl_platform_id> platforms(platform_count);
  check(clGetPlatformIDs(platform_count, platforms.data(), nullptr), "clGetPlatformIDs");
  std::vector<PlatformDevice> devices;
  for (cl_platform_id platform : platforms) {
    cl_uint count = 0;
    if (clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 0, nullptr, &count) != CL_SUCCESS) continue;
    std::vector<cl_device_id> found(count);
    check(clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, count, found.data(), nullptr), "clGetDeviceIDs");
    for (cl_device_id device : found) devices.push_back({platform, device});
  }
  return devices;
}

// A program's binary as text (NVIDIA's is PTX), up to its terminating zero.
inline std::string programText(cl_program program) {
  std::size_t size = 0;
  clGetProgramInfo(program, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, nullptr);
  std::string text(size, '\0');
  auto* bytes = reinterpret_cast<unsigned char*>(text.data());
  clGetProgramInfo(program, CL_PROGRAM_BINARIES, sizeof bytes, &bytes, nullptr);
  return text.c_str();
}

}  // namespace bench
