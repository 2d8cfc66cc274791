// Raw OpenCL baseline for bench/transfer.py: the same transfers and launches with no mlprt layer,
// so mlprt's overhead is a ratio measured in the same run. Prints one JSON object.
//
//   g++ -O2 -std=c++17 bench/cl_baseline.cpp -lOpenCL -o build/cl_baseline
//   build/cl_baseline <device index as in `mlprt devices`> <iterations> [profile|noprofile] [event|noevent]
// The last two choose whether the queue has profiling enabled (mlprt's streams do) and whether
// each kernel launch asks OpenCL for an event; defaults: profile, noevent.
#include "cl_bench_util.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

using bench::check;
using bench::medianMicroseconds;

int main(int argc, char** argv) {
  const int wanted = argc > 1 ? std::atoi(argv[1]) : 0;
  const int iterations = argc > 2 ? std::atoi(argv[2]) : 200;
  const bool profiling = !(argc > 3 && std::strcmp(argv[3], "noprofile") == 0);
  const bool with_events = argc > 4 && std::strcmp(argv[4], "event") == 0;
  const std::vector<bench::PlatformDevice> devices = bench::allDevices();
  cl_platform_id platform = nullptr;
  cl_device_id device = nullptr;
  if (wanted >= 0 && static_cast<std::size_t>(wanted) < devices.size()) {
    platform = devices[static_cast<std::size_t>(wanted)].platform;
    device = devices[static_cast<std::size_t>(wanted)].device;
  }
  if (!device) {
    std::fprintf(stderr, "no device %d\n", wanted);
    return 1;
  }
  char name[256] = {};
  clGetDeviceInfo(device, CL_DEVICE_NAME, sizeof(name), name, nullptr);
  cl_int status = CL_SUCCESS;
  cl_context_properties properties[] = {CL_CONTEXT_PLATFORM, reinterpret_cast<cl_context_properties>(platform), 0};
  cl_context context = clCreateContext(properties, 1, &device, nullptr, nullptr, &status);
  check(status, "clCreateContext");
  cl_command_queue queue = clCreateCommandQueue(context, device, profiling ? CL_QUEUE_PROFILING_ENABLE : 0, &status);
  check(status, "clCreateCommandQueue");

  std::printf("{\"device\": \"%s\", \"rows\": [", name);
  const std::vector<size_t> sizes = {3 << 10, 200 << 10, 1 << 20, 64 << 20};
  bool first = true;
  for (size_t bytes : sizes) {
    cl_mem device_buffer = clCreateBuffer(context, CL_MEM_READ_WRITE, bytes, nullptr, &status);
    check(status, "clCreateBuffer");
    cl_mem pinned = clCreateBuffer(context, CL_MEM_READ_WRITE | CL_MEM_ALLOC_HOST_PTR, bytes, nullptr, &status);
    check(status, "clCreateBuffer(pinned)");
    void* host_pinned = clEnqueueMapBuffer(queue, pinned, CL_TRUE, CL_MAP_READ | CL_MAP_WRITE, 0, bytes, 0,
                                           nullptr, nullptr, &status);
    check(status, "clEnqueueMapBuffer");
    std::vector<unsigned char> pageable(bytes, 7);
    std::memset(host_pinned, 7, bytes);
    const int reps = bytes >= (64u << 20) ? std::max(10, iterations / 10) : iterations;
    struct Case { const char* kind; const char* direction; void* host; bool write; };
    const Case cases[] = {{"pinned", "H2D", host_pinned, true}, {"pinned", "D2H", host_pinned, false},
                          {"pageable", "H2D", pageable.data(), true}, {"pageable", "D2H", pageable.data(), false}};
    for (const Case& c : cases) {
      const double us = medianMicroseconds(reps, 3, [&] {
        if (c.write) {
          check(clEnqueueWriteBuffer(queue, device_buffer, CL_FALSE, 0, bytes, c.host, 0, nullptr, nullptr), "write");
        } else {
          check(clEnqueueReadBuffer(queue, device_buffer, CL_FALSE, 0, bytes, c.host, 0, nullptr, nullptr), "read");
        }
        check(clFinish(queue), "clFinish");
      });
      std::printf("%s{\"what\": \"%s %s\", \"bytes\": %zu, \"median_us\": %.3f}", first ? "" : ", ", c.direction,
                  c.kind, bytes, us);
      first = false;
    }
    clEnqueueUnmapMemObject(queue, pinned, host_pinned, 0, nullptr, nullptr);
    clFinish(queue);
    clReleaseMemObject(pinned);
    clReleaseMemObject(device_buffer);
  }

  const char* source = "__kernel void empty(void) {}";
  cl_program program = clCreateProgramWithSource(context, 1, &source, nullptr, &status);
  check(status, "clCreateProgramWithSource");
  check(clBuildProgram(program, 1, &device, "", nullptr, nullptr), "clBuildProgram");
  cl_kernel kernel = clCreateKernel(program, "empty", &status);
  check(status, "clCreateKernel");
  const size_t global = 1;
  const auto launch = [&] {
    cl_event event = nullptr;
    check(clEnqueueNDRangeKernel(queue, kernel, 1, nullptr, &global, nullptr, 0, nullptr,
                                 with_events ? &event : nullptr), "launch");
    if (event) clReleaseEvent(event);
  };
  const double launch_finish = medianMicroseconds(iterations, 3, [&] {
    launch();
    check(clFinish(queue), "clFinish");
  });
  const int batch = 1000;
  const double pipelined = medianMicroseconds(10, 3, [&] {
    for (int i = 0; i < batch; ++i) launch();
    check(clFinish(queue), "clFinish");
  }) / batch;
  std::printf(", {\"what\": \"empty kernel, launch + finish\", \"bytes\": 0, \"median_us\": %.3f}", launch_finish);
  std::printf(", {\"what\": \"empty kernel, pipelined\", \"bytes\": 0, \"median_us\": %.3f}]}\n", pipelined);
  clReleaseKernel(kernel);
  clReleaseProgram(program);
  clReleaseCommandQueue(queue);
  clReleaseContext(context);
  return 0;
}
