// Small-batch latency questions of issue 5, answered on the device with raw OpenCL (no mlprt
// layer), one JSON object on stdout:
//  1. zero copy: can a kernel read a CL_MEM_ALLOC_HOST_PTR buffer that stays mapped, and see
//     what the host wrote there without an unmap / copy? (and what such reads cost)
//  2. waits: the round trip "write 3 KB, one kernel, read 40 B" finished by clFinish, by a
//     blocking read, by clWaitForEvents, or by polling the read's event status in a spin loop.
//  3. launches: the same round trip with 1, 2 and 3 kernels, to price each extra launch.
//  5. enqueue costs: the host time of one non-blocking clEnqueueWriteBuffer from a mapped pinned
//     pointer (3 KB), one clEnqueueReadBuffer into one (40 B), and one kernel launch with its
//     arguments set, each with the queue idle (finished between calls, outside the timing); 16
//     writes in a row; on a plain queue and on a profiling one (as mlprt's streams are).
//  6. launch chains: 64 kernels back to back with their arguments set beforehand (as captured
//     launches replay), the host time per enqueue and the wall time to clFinish per kernel.
//
//   g++ -O2 -std=c++17 bench/latency_probe.cpp -lOpenCL -o build/latency_probe
//   build/latency_probe [device index in the order of `mlprt devices`] [iterations]
#include "cl_bench_util.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

namespace {

using bench::check;
using bench::medianMicroseconds;

const char* kSource = R"CL(
__kernel void scale(__global const float* in, __global float* out, int n) {
  const int i = get_global_id(0);
  if (i < n) out[i] = in[i] * 2.0f;
}
__kernel void sum_rows(__global const float* in, __global float* out, int n, int rows) {
  const int r = get_global_id(0);
  if (r >= rows) return;
  out[r] = in[r] + in[n - 1 - r];
}
// Reads and writes through raw 64-bit addresses (host pointers of pinned memory under UVA).
__kernel void through_address(ulong in_address, ulong out_address, int n) {
  __global const float* in = (__global const float*)in_address;
  __global float* out = (__global float*)out_address;
  const int i = get_global_id(0);
  if (i < n) out[i] = in[i] * 2.0f;
}
__kernel void stream_read(__global const float4* in, __global float* out, int n4) {
  float4 s = (float4)(0.0f);
  for (int i = get_global_id(0); i < n4; i += get_global_size(0)) s += in[i];
  out[get_global_id(0)] = s.x + s.y + s.z + s.w;
}
)CL";

struct Probe {
  cl_context context = nullptr;
  cl_command_queue queue = nullptr;
  cl_program program = nullptr;
  cl_kernel scale = nullptr, sum_rows = nullptr, stream_read = nullptr, through_address = nullptr;

  explicit Probe(cl_device_id device, cl_command_queue_properties properties = 0) {
    cl_int status = CL_SUCCESS;
    context = clCreateContext(nullptr, 1, &device, nullptr, nullptr, &status);
    check(status, "clCreateContext");
    queue = clCreateCommandQueue(context, device, properties, &status);
    check(status, "clCreateCommandQueue");
    program = clCreateProgramWithSource(context, 1, &kSource, nullptr, &status);
    check(status, "clCreateProgramWithSource");
    check(clBuildProgram(program, 1, &device, "", nullptr, nullptr), "clBuildProgram");
    scale = clCreateKernel(program, "scale", &status);
    check(status, "scale");
    sum_rows = clCreateKernel(program, "sum_rows", &status);
    check(status, "sum_rows");
    stream_read = clCreateKernel(program, "stream_read", &status);
    check(status, "stream_read");
    through_address = clCreateKernel(program, "through_address", &status);
    check(status, "through_address");
  }
  ~Probe() {
    clReleaseKernel(scale);
    clReleaseKernel(sum_rows);
    clReleaseKernel(stream_read);
    clReleaseKernel(through_address);
    clReleaseProgram(program);
    clReleaseCommandQueue(queue);
    clReleaseContext(context);
  }
  Probe(const Probe&) = delete;
  Probe& operator=(const Probe&) = delete;

  cl_mem buffer(cl_mem_flags flags, std::size_t bytes) const {
    cl_int status = CL_SUCCESS;
    cl_mem memory = clCreateBuffer(context, flags, bytes, nullptr, &status);
    check(status, "clCreateBuffer");
    return memory;
  }
  float* map(cl_mem memory, std::size_t bytes) const {
    cl_int status = CL_SUCCESS;
    void* pointer = clEnqueueMapBuffer(queue, memory, CL_TRUE, CL_MAP_READ | CL_MAP_WRITE, 0, bytes, 0, nullptr,
                                       nullptr, &status);
    check(status, "clEnqueueMapBuffer");
    return static_cast<float*>(pointer);
  }
  void launch(cl_kernel kernel, std::size_t global) const {
    check(clEnqueueNDRangeKernel(queue, kernel, 1, nullptr, &global, nullptr, 0, nullptr, nullptr), "launch");
  }
};

// 1. Zero copy. The host rewrites a persistently mapped ALLOC_HOST_PTR buffer, a kernel doubles
// it into a device buffer, a blocking read fetches the result: equal to 2x the new values?
void zeroCopy(const Probe& probe, int iterations, std::string& json) {
  const int n = 784;
  const std::size_t bytes = n * sizeof(float);
  cl_mem host = probe.buffer(CL_MEM_READ_WRITE | CL_MEM_ALLOC_HOST_PTR, bytes);
  cl_mem device = probe.buffer(CL_MEM_READ_WRITE, bytes);
  float* mapped = probe.map(host, bytes);
  check(clSetKernelArg(probe.scale, 0, sizeof(cl_mem), &host), "arg");
  check(clSetKernelArg(probe.scale, 1, sizeof(cl_mem), &device), "arg");
  check(clSetKernelArg(probe.scale, 2, sizeof(int), &n), "arg");
  int stale = 0;
  std::vector<float> result(n);
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < n; ++i) mapped[i] = static_cast<float>(round * 1000 + i);
    probe.launch(probe.scale, n);
    check(clEnqueueReadBuffer(probe.queue, device, CL_TRUE, 0, bytes, result.data(), 0, nullptr, nullptr), "read");
    for (int i = 0; i < n; ++i) stale += result[i] != 2.0f * mapped[i];
  }
  const double kernel_on_mapped = medianMicroseconds(iterations, 20, [&] {
    probe.launch(probe.scale, n);
    clFinish(probe.queue);
  });
  // Big streaming read of a mapped host buffer vs a device buffer: bandwidth tells where it lives.
  const std::size_t big = std::size_t{64} << 20;
  cl_mem big_host = probe.buffer(CL_MEM_READ_ONLY | CL_MEM_ALLOC_HOST_PTR, big);
  cl_mem big_device = probe.buffer(CL_MEM_READ_ONLY, big);
  float* big_mapped = probe.map(big_host, big);
  std::memset(big_mapped, 0, big);
  cl_mem sink = probe.buffer(CL_MEM_READ_WRITE, 1 << 20);
  const int n4 = static_cast<int>(big / 16);
  const auto stream = [&](cl_mem source) {
    check(clSetKernelArg(probe.stream_read, 0, sizeof(cl_mem), &source), "arg");
    check(clSetKernelArg(probe.stream_read, 1, sizeof(cl_mem), &sink), "arg");
    check(clSetKernelArg(probe.stream_read, 2, sizeof(int), &n4), "arg");
    return medianMicroseconds(10, 20, [&] {
      probe.launch(probe.stream_read, 65536);
      clFinish(probe.queue);
    });
  };
  const double host_us = stream(big_host);
  const double device_us = stream(big_device);
  char text[512];
  std::snprintf(text, sizeof(text),
                "\"zero_copy\": {\"stale_values\": %d, \"kernel_on_mapped_us\": %.2f, "
                "\"read_64MB_mapped_host_GBps\": %.1f, \"read_64MB_device_GBps\": %.1f}",
                stale, kernel_on_mapped, big / host_us / 1e3, big / device_us / 1e3);
  json += text;
  clEnqueueUnmapMemObject(probe.queue, host, mapped, 0, nullptr, nullptr);
  clEnqueueUnmapMemObject(probe.queue, big_host, big_mapped, 0, nullptr, nullptr);
  clFinish(probe.queue);
  for (cl_mem memory : {host, device, big_host, big_device, sink}) clReleaseMemObject(memory);
}

// The tutorial MLP's input (784 floats) and output (10) in mapped pinned buffers, and device
// buffers for them and for one intermediate: what probes 2, 3 and 5 copy between. Released
// (unmapped first) when it goes.
struct Staging {
  static constexpr int n = 784, rows = 10;
  static constexpr std::size_t in_bytes = n * sizeof(float), out_bytes = rows * sizeof(float);
  const Probe& probe;
  cl_mem pinned_in = probe.buffer(CL_MEM_READ_WRITE | CL_MEM_ALLOC_HOST_PTR, in_bytes);
  cl_mem pinned_out = probe.buffer(CL_MEM_READ_WRITE | CL_MEM_ALLOC_HOST_PTR, out_bytes);
  float* host_in = probe.map(pinned_in, in_bytes);
  float* host_out = probe.map(pinned_out, out_bytes);
  cl_mem device_in = probe.buffer(CL_MEM_READ_WRITE, in_bytes);
  cl_mem device_mid = probe.buffer(CL_MEM_READ_WRITE, in_bytes);
  cl_mem device_out = probe.buffer(CL_MEM_READ_WRITE, out_bytes);

  explicit Staging(const Probe& p) : probe(p) {
    for (int i = 0; i < n; ++i) host_in[i] = 1.0f;
  }
  Staging(const Staging&) = delete;
  Staging& operator=(const Staging&) = delete;
  ~Staging() {
    clEnqueueUnmapMemObject(probe.queue, pinned_in, host_in, 0, nullptr, nullptr);
    clEnqueueUnmapMemObject(probe.queue, pinned_out, host_out, 0, nullptr, nullptr);
    clFinish(probe.queue);
    for (cl_mem memory : {pinned_in, pinned_out, device_in, device_mid, device_out}) clReleaseMemObject(memory);
  }
};

// 2 and 3. The round trip with a pinned staging buffer, as mlprt's driver does it.
void roundTrips(const Probe& probe, int iterations, std::string& json) {
  const Staging staging(probe);
  const int n = Staging::n, rows = Staging::rows;
  const std::size_t in_bytes = Staging::in_bytes, out_bytes = Staging::out_bytes;
  float* host_in = staging.host_in;
  float* host_out = staging.host_out;
  cl_mem device_in = staging.device_in, device_mid = staging.device_mid, device_out = staging.device_out;
  const auto chain = [&](int kernels, bool blocking_read, cl_event* event) {
    check(clEnqueueWriteBuffer(probe.queue, device_in, CL_FALSE, 0, in_bytes, host_in, 0, nullptr, nullptr), "write");
    cl_mem source = device_in;
    for (int k = 1; k < kernels; ++k) {
      cl_mem target = (k % 2) ? device_mid : device_in;
      clSetKernelArg(probe.scale, 0, sizeof(cl_mem), &source);
      clSetKernelArg(probe.scale, 1, sizeof(cl_mem), &target);
      clSetKernelArg(probe.scale, 2, sizeof(int), &n);
      probe.launch(probe.scale, n);
      source = target;
    }
    clSetKernelArg(probe.sum_rows, 0, sizeof(cl_mem), &source);
    clSetKernelArg(probe.sum_rows, 1, sizeof(cl_mem), &device_out);
    clSetKernelArg(probe.sum_rows, 2, sizeof(int), &n);
    clSetKernelArg(probe.sum_rows, 3, sizeof(int), &rows);
    probe.launch(probe.sum_rows, rows);
    check(clEnqueueReadBuffer(probe.queue, device_out, blocking_read ? CL_TRUE : CL_FALSE, 0, out_bytes, host_out, 0,
                              nullptr, event),
          "read");
  };
  const double finish = medianMicroseconds(iterations, 20, [&] { chain(1, false, nullptr); clFinish(probe.queue); });
  const double blocking = medianMicroseconds(iterations, 20, [&] { chain(1, true, nullptr); });
  const double wait_event = medianMicroseconds(iterations, 20, [&] {
    cl_event done = nullptr;
    chain(1, false, &done);
    clFlush(probe.queue);
    clWaitForEvents(1, &done);
    clReleaseEvent(done);
  });
  const double poll_event = medianMicroseconds(iterations, 20, [&] {
    cl_event done = nullptr;
    chain(1, false, &done);
    clFlush(probe.queue);
    cl_int state = CL_QUEUED;
    while (state != CL_COMPLETE) {
      check(clGetEventInfo(done, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof(state), &state, nullptr), "poll");
      if (state < 0) std::exit(2);
    }
    clReleaseEvent(done);
  });
  const double two = medianMicroseconds(iterations, 20, [&] { chain(2, false, nullptr); clFinish(probe.queue); });
  const double three = medianMicroseconds(iterations, 20, [&] { chain(3, false, nullptr); clFinish(probe.queue); });
  const double kernel_only = medianMicroseconds(iterations, 20, [&] {
    probe.launch(probe.sum_rows, rows);
    clFinish(probe.queue);
  });
  char text[512];
  std::snprintf(text, sizeof(text),
                "\"round_trip_us\": {\"finish\": %.2f, \"blocking_read\": %.2f, \"wait_for_event\": %.2f, "
                "\"poll_event\": %.2f, \"two_kernels_finish\": %.2f, \"three_kernels_finish\": %.2f, "
                "\"one_kernel_alone_finish\": %.2f}",
                finish, blocking, wait_event, poll_event, two, three, kernel_only);
  json += text;
}

// 5. What one enqueue costs the host, the queue finished between calls (outside the timing).
void enqueueCosts(const Probe& probe, int iterations, const char* key, std::string& json) {
  const Staging staging(probe);
  const int n = Staging::n, rows = Staging::rows;
  const std::size_t in_bytes = Staging::in_bytes, out_bytes = Staging::out_bytes;
  float* host_in = staging.host_in;
  float* host_out = staging.host_out;
  cl_mem device_in = staging.device_in, device_out = staging.device_out;
  const auto enqueue_us = [&](const std::function<void()>& enqueue) {
    std::vector<double> times;
    for (int i = 0; i < iterations + 20; ++i) {
      const auto start = std::chrono::steady_clock::now();
      enqueue();
      const double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
      clFinish(probe.queue);
      if (i >= 20) times.push_back(us);
    }
    std::nth_element(times.begin(), times.begin() + times.size() / 2, times.end());
    return times[times.size() / 2];
  };
  const double write = enqueue_us([&] {
    check(clEnqueueWriteBuffer(probe.queue, device_in, CL_FALSE, 0, in_bytes, host_in, 0, nullptr, nullptr), "write");
  });
  const double read = enqueue_us([&] {
    check(clEnqueueReadBuffer(probe.queue, device_out, CL_FALSE, 0, out_bytes, host_out, 0, nullptr, nullptr), "read");
  });
  const double kernel = enqueue_us([&] {
    clSetKernelArg(probe.sum_rows, 0, sizeof(cl_mem), &device_in);
    clSetKernelArg(probe.sum_rows, 1, sizeof(cl_mem), &device_out);
    clSetKernelArg(probe.sum_rows, 2, sizeof(int), &n);
    clSetKernelArg(probe.sum_rows, 3, sizeof(int), &rows);
    probe.launch(probe.sum_rows, rows);
  });
  // 16 writes back to back (the queue busy), per write.
  const double writes_in_a_row = enqueue_us([&] {
    for (int i = 0; i < 16; ++i) {
      check(clEnqueueWriteBuffer(probe.queue, device_in, CL_FALSE, 0, in_bytes, host_in, 0, nullptr, nullptr), "write");
    }
  }) / 16;
  char text[384];
  std::snprintf(text, sizeof(text),
                "\"%s\": {\"write_3KB_from_pinned\": %.2f, \"read_40B_into_pinned\": %.2f, "
                "\"kernel_with_arguments\": %.2f, \"write_3KB_16_in_a_row_each\": %.2f}",
                key, write, read, kernel, writes_in_a_row);
  json += text;
}

// 6. A chain of launches as a captured engine replays them (YOLOv8n at batch 1: 182 per run):
// `count` kernels back to back, each its own kernel object with its arguments set beforehand, each
// reading the previous one's output. Per launch: the host time of the enqueues alone (queue idle
// before the first), and the wall time from the first enqueue to clFinish (what the device adds
// per tiny kernel when the host is not the bound); with the driver choosing the local size and
// with 64 given.
void launchChains(const Probe& probe, int iterations, std::string& json) {
  const int n = 1024, count = 64;
  cl_mem a = probe.buffer(CL_MEM_READ_WRITE, n * sizeof(float));
  cl_mem b = probe.buffer(CL_MEM_READ_WRITE, n * sizeof(float));
  std::vector<cl_kernel> kernels(count);
  for (int i = 0; i < count; ++i) {
    cl_int status = CL_SUCCESS;
    kernels[i] = clCreateKernel(probe.program, "scale", &status);
    check(status, "scale");
    cl_mem from = i % 2 ? b : a, to = i % 2 ? a : b;
    check(clSetKernelArg(kernels[i], 0, sizeof(cl_mem), &from), "arg");
    check(clSetKernelArg(kernels[i], 1, sizeof(cl_mem), &to), "arg");
    check(clSetKernelArg(kernels[i], 2, sizeof(int), &n), "arg");
  }
  const auto chain_us = [&](const std::size_t* local, bool include_finish) {
    std::vector<double> times;
    const std::size_t global = n;
    for (int round = 0; round < iterations / 10 + 5; ++round) {
      const auto start = std::chrono::steady_clock::now();
      for (cl_kernel kernel : kernels) {
        check(clEnqueueNDRangeKernel(probe.queue, kernel, 1, nullptr, &global, local, 0, nullptr, nullptr), "launch");
      }
      if (include_finish) clFinish(probe.queue);
      const double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
      clFinish(probe.queue);
      if (round >= 5) times.push_back(us / count);
    }
    std::nth_element(times.begin(), times.begin() + times.size() / 2, times.end());
    return times[times.size() / 2];
  };
  const std::size_t local = 64;
  char text[384];
  std::snprintf(text, sizeof(text),
                "\"launch_chain_%d_per_launch_us\": {\"enqueue\": %.2f, \"to_finish\": %.2f, "
                "\"enqueue_local_64\": %.2f, \"to_finish_local_64\": %.2f}",
                count, chain_us(nullptr, false), chain_us(nullptr, true), chain_us(&local, false), chain_us(&local, true));
  json += text;
  for (cl_kernel kernel : kernels) clReleaseKernel(kernel);
  clReleaseMemObject(a);
  clReleaseMemObject(b);
}

// 4. Host pointers as device addresses: the mapped pointer of an ALLOC_HOST_PTR buffer handed
// to a kernel as a 64-bit address. Works only if the driver maps pinned memory into the GPU's
// address space (UVA); a fault would kill the context, so main runs this last.
void hostAddresses(const Probe& probe, int iterations, std::string& json) {
  const int n = 784;
  const std::size_t bytes = n * sizeof(float);
  cl_mem in = probe.buffer(CL_MEM_READ_WRITE | CL_MEM_ALLOC_HOST_PTR, bytes);
  cl_mem out = probe.buffer(CL_MEM_READ_WRITE | CL_MEM_ALLOC_HOST_PTR, bytes);
  float* host_in = probe.map(in, bytes);
  float* host_out = probe.map(out, bytes);
  const cl_ulong in_address = reinterpret_cast<cl_ulong>(host_in);
  const cl_ulong out_address = reinterpret_cast<cl_ulong>(host_out);
  clSetKernelArg(probe.through_address, 0, sizeof(cl_ulong), &in_address);
  clSetKernelArg(probe.through_address, 1, sizeof(cl_ulong), &out_address);
  clSetKernelArg(probe.through_address, 2, sizeof(int), &n);
  int wrong = 0;
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < n; ++i) {
      host_in[i] = static_cast<float>(round * 1000 + i);
      host_out[i] = -1.0f;
    }
    probe.launch(probe.through_address, n);
    const cl_int status = clFinish(probe.queue);
    if (status != CL_SUCCESS) {
      char text[128];
      std::snprintf(text, sizeof(text), "\"host_addresses\": {\"error\": %d}", status);
      json += text;
      return;
    }
    for (int i = 0; i < n; ++i) wrong += host_out[i] != 2.0f * host_in[i];
  }
  const double round_trip = medianMicroseconds(iterations, 20, [&] {
    probe.launch(probe.through_address, n);
    clFinish(probe.queue);
  });
  char text[256];
  std::snprintf(text, sizeof(text), "\"host_addresses\": {\"wrong_values\": %d, \"kernel_round_trip_us\": %.2f}",
                wrong, round_trip);
  json += text;
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t index = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 0;
  const int iterations = argc > 2 ? std::atoi(argv[2]) : 2000;
  const std::vector<bench::PlatformDevice> devices = bench::allDevices();
  if (index >= devices.size()) {
    std::fprintf(stderr, "no device %zu (%zu found)\n", index, devices.size());
    return 1;
  }
  char name[256] = {0};
  clGetDeviceInfo(devices[index].device, CL_DEVICE_NAME, sizeof(name), name, nullptr);
  Probe probe(devices[index].device);
  std::string json = std::string("{\"device\": \"") + name + "\", ";
  zeroCopy(probe, iterations, json);
  json += ", ";
  roundTrips(probe, iterations, json);
  json += ", ";
  enqueueCosts(probe, iterations, "enqueue_us", json);
  json += ", ";
  launchChains(probe, iterations, json);
  json += ", ";
  {
    // mlprt's streams are profiling queues (events time kernels): the same enqueues there.
    Probe profiling(devices[index].device, CL_QUEUE_PROFILING_ENABLE);
    enqueueCosts(profiling, iterations, "enqueue_us_profiling_queue", json);
    json += ", ";
  }
  std::printf("%s\n", json.c_str());  // in case the last probe faults
  std::fflush(stdout);
  hostAddresses(probe, iterations, json);
  json += "}";
  std::printf("%s\n", json.c_str());
  return 0;
}
