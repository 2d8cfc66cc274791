// Issue 16 item 2 (batch-1 layers near memory bandwidth): how a batch-1 product y = x W should
// read W to stream it at the device's memory speed, answered with raw OpenCL (no mlprt layer) on the
// wide MLP's three layers (K x N = 1024 x 4096, 4096 x 4096, 4096 x 1024), FP32 and FP16 weights.
// Kernels compared (each checked against a double-precision reference on random values):
//   stream     a plain read of the weights' bytes (the ceiling: what a kernel can read per second);
//   kn         W stored K x N (mlprt's row kernels today): an item reads 16 bytes of a row's
//              neighbouring columns; COLS such items side by side and PARTS along K share a group
//              (local sums), SLICES groups along K write partial sums that a second kernel adds;
//   nk         W stored N x K (PyTorch's Linear weights): TEAM items read one output's row of W
//              along contiguous K, 16 bytes each, and add their sums in local memory: no second
//              kernel at any N >= the groups the device needs.
// Each with U loads of W issued before their products. Time: OpenCL events around R back-to-back
// launches (start of the first, end of the last, so the gaps between launches count), median of 5.
//
//   g++ -O2 -std=c++17 bench/gemv_probe.cpp -lOpenCL -o build/gemv_probe
//   build/gemv_probe [device index in the order of `mlprt devices`] [launches per sample]
#include "cl_bench_util.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace {

using bench::check;

const char* kSource = R"CL(
#ifdef W_HALF
#define VW 8
typedef float8 wvec;
#define LOAD_W(i) vloada_half8((i) / 8, w)
#define W_PTR __global const half*
inline float wdot(wvec a, wvec b) { return dot(a.lo, b.lo) + dot(a.hi, b.hi); }
#define LOAD_X(i) vload8((i) / 8, x)
#else
#define VW 4
typedef float4 wvec;
#define LOAD_W(i) vload4((i) / 4, w)
#define W_PTR __global const float*
inline float wdot(wvec a, wvec b) { return dot(a, b); }
#define LOAD_X(i) vload4((i) / 4, x)
#endif

__kernel void stream(__global const float4* in, __global float* out, long n4) {
  float4 s = (float4)(0.0f);
  for (long i = get_global_id(0); i < n4; i += get_global_size(0)) s += in[i];
  if (s.x == 12345.0f) out[0] = s.y;  // keeps the loads
}

#ifdef KN
// THREADS = COLS * PARTS; item (col, part) covers columns n .. n + VW - 1 at rows k = part, part +
// PARTS, ... of its slice.
__kernel __attribute__((reqd_work_group_size(COLS * PARTS, 1, 1)))
void kn(__global const float* x, W_PTR w, __global float* y, __global float* partials, int N, int K, int chunk,
        __global int* counters) {
  __local wvec sums[PARTS][COLS];
  const int lid = get_local_id(0), col = lid % COLS, part = lid / COLS;
  const int n = (get_group_id(0) * COLS + col) * VW;
  const int slice = get_group_id(1);
  const int k_end = min(K, (slice + 1) * chunk);
  wvec sum = (wvec)(0.0f);
  if (n < N) {
    int k = slice * chunk + part;
    for (; k + (U - 1) * PARTS < k_end; k += U * PARTS) {
      wvec v[U];
      for (int u = 0; u < U; ++u) v[u] = LOAD_W((long)(k + u * PARTS) * N + n);
      for (int u = 0; u < U; ++u) sum = fma((wvec)(x[k + u * PARTS]), v[u], sum);
    }
    for (; k < k_end; k += PARTS) sum = fma((wvec)(x[k]), LOAD_W((long)k * N + n), sum);
  }
  sums[part][col] = sum;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int s = PARTS / 2; s > 0; s >>= 1) {
    if (part < s) sums[part][col] += sums[part + s][col];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  const int slices = get_num_groups(1);
  if (part == 0 && n < N) {
    const wvec total = sums[0][col];
    __global float* target = slices == 1 ? y : partials + (long)slice * N;
#ifdef W_HALF
    vstore8(total, n / 8, target);
#else
    vstore4(total, n / 4, target);
#endif
  }
#ifdef LAST_FINISHES
  // The last group of a column block to store its partial sums adds every slice's, in slice
  // order, so no second kernel runs: its stores made visible before it takes a ticket.
  if (slices == 1) return;
  __local int is_last;
  write_mem_fence(CLK_GLOBAL_MEM_FENCE);
  barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE);
  if (lid == 0) {
    is_last = atomic_inc(&counters[get_group_id(0)]) == slices - 1;
    if (is_last) counters[get_group_id(0)] = 0;  // for the next launch
  }
  barrier(CLK_LOCAL_MEM_FENCE);
  if (!is_last || n >= N) return;
  // The items of the block share the columns' sums: item (col, part) adds columns n + part % VW.
  if (part >= VW) return;
  const volatile __global float* all = partials;
  float total = 0.0f;
  for (int s = 0; s < slices; ++s) total += all[(long)s * N + n + part];
  y[n + part] = total;
#endif
}

__kernel void kn_finish(__global const float* partials, __global float* y, int N, int slices) {
  const int n = get_global_id(0);
  if (n >= N) return;
  float sum = 0.0f;
  for (int s = 0; s < slices; ++s) sum += partials[(long)s * N + n];
  y[n] = sum;
}
#endif

#ifdef NK
// TEAM items per output n (THREADS / TEAM outputs per group) read W's row n along K, VW values each.
__kernel __attribute__((reqd_work_group_size(THREADS, 1, 1)))
void nk(__global const float* x, W_PTR w, __global float* y, int N, int K) {
  __local float sums[THREADS];
  const int lid = get_local_id(0), lane = lid % TEAM;
  const int n = get_group_id(0) * (THREADS / TEAM) + lid / TEAM;
  float sum = 0.0f;
  if (n < N) {
    const long row = (long)n * K;
    int k = lane * VW;
    for (; k + (U - 1) * TEAM * VW < K; k += U * TEAM * VW) {
      wvec v[U];
      for (int u = 0; u < U; ++u) v[u] = LOAD_W(row + k + u * TEAM * VW);
      for (int u = 0; u < U; ++u) sum += wdot(LOAD_X(k + u * TEAM * VW), v[u]);
    }
    for (; k < K; k += TEAM * VW) sum += wdot(LOAD_X(k), LOAD_W(row + k));
  }
  sums[lid] = sum;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int s = TEAM / 2; s > 0; s >>= 1) {
    if (lane < s) sums[lid] += sums[lid + s];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  if (lane == 0 && n < N) y[n] = sums[lid];
}
#endif
)CL";

struct Layer {
  int k, n;
};

struct Runtime {
  cl_context context = nullptr;
  cl_command_queue queue = nullptr;
  cl_device_id device = nullptr;
  cl_uint units = 0;
};

cl_program build(const Runtime& rt, const std::string& options) {
  cl_int status = CL_SUCCESS;
  const char* source = kSource;
  cl_program program = clCreateProgramWithSource(rt.context, 1, &source, nullptr, &status);
  check(status, "clCreateProgramWithSource");
  if (clBuildProgram(program, 1, &rt.device, options.c_str(), nullptr, nullptr) != CL_SUCCESS) {
    std::size_t size = 0;
    clGetProgramBuildInfo(program, rt.device, CL_PROGRAM_BUILD_LOG, 0, nullptr, &size);
    std::string log(size, '\0');
    clGetProgramBuildInfo(program, rt.device, CL_PROGRAM_BUILD_LOG, size, log.data(), nullptr);
    std::fprintf(stderr, "build failed (%s):\n%s\n", options.c_str(), log.c_str());
    std::exit(1);
  }
  return program;
}

cl_mem buffer(const Runtime& rt, std::size_t bytes, const void* data) {
  cl_int status = CL_SUCCESS;
  cl_mem memory = clCreateBuffer(rt.context, CL_MEM_READ_WRITE | (data ? CL_MEM_COPY_HOST_PTR : 0), bytes,
                                 const_cast<void*>(data), &status);
  check(status, "clCreateBuffer");
  return memory;
}

// One launch of a kernel: its global and local sizes (2-D).
struct Launch {
  cl_kernel kernel;
  std::size_t global[2], local[2];
  cl_uint dims;
};

// Microseconds per call of `launches` (all enqueued each call): events around `reps` calls, the
// median of 5 samples.
double microsecondsPerCall(const Runtime& rt, const std::vector<Launch>& launches, int reps) {
  std::vector<double> samples;
  for (int sample = 0; sample < 6; ++sample) {
    cl_event first = nullptr, last = nullptr;
    for (int r = 0; r < reps; ++r) {
      for (std::size_t i = 0; i < launches.size(); ++i) {
        const bool is_first = r == 0 && i == 0, is_last = r == reps - 1 && i + 1 == launches.size();
        cl_event* event = is_first ? &first : is_last ? &last : nullptr;
        const Launch& l = launches[i];
        check(clEnqueueNDRangeKernel(rt.queue, l.kernel, l.dims, nullptr, l.global, l.local, 0, nullptr, event),
              "clEnqueueNDRangeKernel");
      }
    }
    check(clFinish(rt.queue), "clFinish");
    cl_ulong start = 0, end = 0;
    clGetEventProfilingInfo(first, CL_PROFILING_COMMAND_START, sizeof start, &start, nullptr);
    clGetEventProfilingInfo(last ? last : first, CL_PROFILING_COMMAND_END, sizeof end, &end, nullptr);
    clReleaseEvent(first);
    if (last) clReleaseEvent(last);
    if (sample > 0) samples.push_back((end - start) / 1e3 / reps);  // sample 0 warms up
  }
  std::sort(samples.begin(), samples.end());
  return samples[samples.size() / 2];
}

std::vector<std::uint16_t> toHalf(const std::vector<float>& values) {
  std::vector<std::uint16_t> out(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    // Values in [-1, 1) rounded to a multiple of 2^-10, which half holds exactly.
    const float v = values[i];
    std::uint32_t bits;
    std::memcpy(&bits, &v, 4);
    const std::uint32_t sign = (bits >> 16) & 0x8000u;
    const float magnitude = std::fabs(v);
    if (magnitude < 6.1035156e-05f) {
      out[i] = static_cast<std::uint16_t>(sign | static_cast<std::uint32_t>(std::lround(magnitude / 5.9604645e-08f)));
      continue;
    }
    int exponent = 0;
    const float mantissa = std::frexp(magnitude, &exponent);  // [0.5, 1)
    const auto fraction = static_cast<std::uint32_t>(std::lround((mantissa * 2.0f - 1.0f) * 1024.0f));
    out[i] = static_cast<std::uint16_t>(sign | (static_cast<std::uint32_t>(exponent - 1 + 15) << 10) | fraction);
  }
  return out;
}

struct Case {
  Layer layer;
  bool half;
  std::vector<float> x, w_kn, w_nk;  // w values exactly representable in half
  std::vector<double> reference;
  cl_mem x_mem, w_kn_mem, w_nk_mem, y_mem, partials_mem, counters_mem;
};

Case makeCase(const Runtime& rt, Layer layer, bool half) {
  Case c{layer, half, {}, {}, {}, {}, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr};
  std::mt19937 random(static_cast<unsigned>(layer.k * 7 + layer.n + half));
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  c.x.resize(static_cast<std::size_t>(layer.k));
  for (float& v : c.x) v = uniform(random);
  c.w_kn.resize(static_cast<std::size_t>(layer.k) * layer.n);
  for (float& v : c.w_kn) v = std::round(uniform(random) * 1024.0f) / 1024.0f;
  c.w_nk.resize(c.w_kn.size());
  c.reference.assign(static_cast<std::size_t>(layer.n), 0.0);
  for (int k = 0; k < layer.k; ++k) {
    for (int n = 0; n < layer.n; ++n) {
      const float v = c.w_kn[static_cast<std::size_t>(k) * layer.n + n];
      c.w_nk[static_cast<std::size_t>(n) * layer.k + k] = v;
      c.reference[static_cast<std::size_t>(n)] += static_cast<double>(c.x[static_cast<std::size_t>(k)]) * v;
    }
  }
  c.x_mem = buffer(rt, c.x.size() * 4, c.x.data());
  if (half) {
    const std::vector<std::uint16_t> kn = toHalf(c.w_kn), nk = toHalf(c.w_nk);
    c.w_kn_mem = buffer(rt, kn.size() * 2, kn.data());
    c.w_nk_mem = buffer(rt, nk.size() * 2, nk.data());
  } else {
    c.w_kn_mem = buffer(rt, c.w_kn.size() * 4, c.w_kn.data());
    c.w_nk_mem = buffer(rt, c.w_nk.size() * 4, c.w_nk.data());
  }
  c.y_mem = buffer(rt, static_cast<std::size_t>(layer.n) * 4, nullptr);
  c.partials_mem = buffer(rt, static_cast<std::size_t>(layer.n) * 4 * 256, nullptr);
  const std::vector<int> zeros(static_cast<std::size_t>(layer.n), 0);  // one counter per column block, at most
  c.counters_mem = buffer(rt, zeros.size() * sizeof(int), zeros.data());
  return c;
}

double maxRelativeError(const Runtime& rt, const Case& c) {
  std::vector<float> y(static_cast<std::size_t>(c.layer.n));
  check(clEnqueueReadBuffer(rt.queue, c.y_mem, CL_TRUE, 0, y.size() * 4, y.data(), 0, nullptr, nullptr), "read y");
  double scale = 0.0, worst = 0.0;
  for (double r : c.reference) scale = std::max(scale, std::fabs(r));
  for (std::size_t i = 0; i < y.size(); ++i) worst = std::max(worst, std::fabs(y[i] - c.reference[i]));
  return worst / scale;
}

// `name` from `program` with its arguments set in order, each checked.
template <typename... Args>
cl_kernel kernelWith(cl_program program, const char* name, const Args&... args) {
  cl_int status = CL_SUCCESS;
  cl_kernel kernel = clCreateKernel(program, name, &status);
  check(status, name);
  cl_uint index = 0;
  (check(clSetKernelArg(kernel, index++, sizeof(Args), &args), "clSetKernelArg"), ...);
  return kernel;
}

// One row of the table: each layer's launches (launches_for) timed alone, then the three layers'
// back to back; with `checked`, the largest error of the layers' results against their references.
void printRow(const Runtime& rt, const std::string& label, const std::vector<Case>& cases, int reps,
              double total_bytes, bool checked, const std::function<std::vector<Launch>(const Case&)>& launches_for) {
  double us[3] = {};
  double error = 0.0;
  std::vector<Launch> all;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const std::vector<Launch> launches = launches_for(cases[i]);
    us[i] = microsecondsPerCall(rt, launches, reps);
    if (checked) error = std::max(error, maxRelativeError(rt, cases[i]));
    all.insert(all.end(), launches.begin(), launches.end());
  }
  const double three = microsecondsPerCall(rt, all, reps);
  char error_text[32] = "-";
  if (checked) std::snprintf(error_text, sizeof error_text, "%.1e", error);
  std::printf("| %s | %.1f | %.1f | %.1f | %.1f | %.2f | %s |\n", label.c_str(), us[0], us[1], us[2], three,
              total_bytes / three / 1e6, error_text);
  std::fflush(stdout);
}

std::size_t roundUp(std::size_t value, std::size_t step) { return (value + step - 1) / step * step; }

}  // namespace

int main(int argc, char** argv) {
  const std::size_t index = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 0;
  const int reps = argc > 2 ? std::atoi(argv[2]) : 50;
  const bool quick = argc > 3;  // a smoke test: layers divided by 8
  const std::vector<bench::PlatformDevice> devices = bench::allDevices();
  if (index >= devices.size()) {
    std::fprintf(stderr, "no device %zu\n", index);
    return 1;
  }
  Runtime rt;
  rt.device = devices[index].device;
  cl_int status = CL_SUCCESS;
  rt.context = clCreateContext(nullptr, 1, &rt.device, nullptr, nullptr, &status);
  check(status, "clCreateContext");
  rt.queue = clCreateCommandQueue(rt.context, rt.device, CL_QUEUE_PROFILING_ENABLE, &status);
  check(status, "clCreateCommandQueue");
  clGetDeviceInfo(rt.device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof rt.units, &rt.units, nullptr);
  char name[256] = {};
  clGetDeviceInfo(rt.device, CL_DEVICE_NAME, sizeof name, name, nullptr);
  std::printf("device: %s, %u compute units, %d launches per sample\n", name, rt.units, reps);

  const int d = quick ? 8 : 1;
  const std::vector<Layer> layers = {{1024 / d, 4096 / d}, {4096 / d, 4096 / d}, {4096 / d, 1024 / d}};
  for (bool half : {false, true}) {
    std::vector<Case> cases;
    double total_bytes = 0.0;
    for (const Layer& layer : layers) {
      cases.push_back(makeCase(rt, layer, half));
      total_bytes += static_cast<double>(layer.k) * layer.n * (half ? 2 : 4);
    }
    std::printf("\n## %s weights (%s of the three layers: %.1f MB)\n", half ? "FP16" : "FP32",
                "K x N = 1024 x 4096, 4096 x 4096, 4096 x 1024", total_bytes / 1e6);
    std::printf("| kernel | %dx%d us | %dx%d us | %dx%d us | three layers us | TB/s of the three | max rel error |\n",
                layers[0].k, layers[0].n, layers[1].k, layers[1].n, layers[2].k, layers[2].n);
    std::printf("| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    const std::string half_option = half ? " -DW_HALF" : "";
    const int vw = half ? 8 : 4;
    // The ceiling: a plain read of each layer's weight bytes.
    cl_program stream = build(rt, "-cl-std=CL1.2" + half_option);
    printRow(rt, "stream (read the bytes)", cases, reps, total_bytes, false, [&](const Case& c) {
      const long n4 = static_cast<long>(c.w_kn.size()) * (half ? 2 : 4) / 16;
      return std::vector<Launch>{{kernelWith(stream, "stream", c.w_kn_mem, c.y_mem, n4),
                                  {static_cast<std::size_t>(rt.units) * 2048, 1}, {256, 1}, 1}};
    });
    // K x N: COLS x PARTS groups; slices 0: one slice, 1: slices to 4 groups per unit added by a
    // second kernel, 2: the same slices added by the last group. One slice with groups of 1024 items
    // (4 or 8 column vectors by 256 or 128 along K): enough groups for N = 1024 without a second kernel?
    struct KnConfig {
      int cols, parts, u, slices;
    };
    const std::vector<KnConfig> kn_configs = {{32, 8, 4, 0},  {32, 8, 8, 0},  {16, 16, 8, 0}, {8, 32, 8, 0},
                                              {4, 256, 8, 0}, {8, 128, 8, 0}, {16, 16, 4, 1}, {32, 8, 4, 1},
                                              {16, 64, 8, 1}, {4, 64, 8, 1},  {32, 8, 4, 2},  {16, 16, 8, 2},
                                              {16, 64, 8, 2}};
    for (const KnConfig& config : kn_configs) {
      const std::string options = "-cl-std=CL1.2 -DKN -DCOLS=" + std::to_string(config.cols) +
                                  " -DPARTS=" + std::to_string(config.parts) + " -DU=" + std::to_string(config.u) +
                                  (config.slices == 2 ? " -DLAST_FINISHES" : "") + half_option;
      cl_program program = build(rt, options);
      char label[128];
      std::snprintf(label, sizeof label, "kn cols %d parts %d U %d %s", config.cols, config.parts, config.u,
                    config.slices == 2 ? "slices, the last group adds them"
                    : config.slices ? "slices to 4 groups/unit, a second kernel adds them"
                                    : "one slice");
      printRow(rt, label, cases, reps, total_bytes, true, [&](const Case& c) {
        const std::size_t group = static_cast<std::size_t>(config.cols * config.parts);
        const std::size_t groups_n = (static_cast<std::size_t>(c.layer.n / vw) + config.cols - 1) / config.cols;
        int slices = 1;
        if (config.slices) {
          const std::size_t want = static_cast<std::size_t>(rt.units) * 4;
          slices = static_cast<int>(std::max<std::size_t>(1, std::min<std::size_t>(256, want / groups_n)));
          slices = std::min(slices, std::max(1, c.layer.k / (config.parts * config.u)));
        }
        const int chunk = (c.layer.k + slices - 1) / slices;
        std::vector<Launch> launches = {
            {kernelWith(program, "kn", c.x_mem, c.w_kn_mem, c.y_mem, c.partials_mem, c.layer.n, c.layer.k, chunk,
                        c.counters_mem),
             {groups_n * group, static_cast<std::size_t>(slices)}, {group, 1}, 2}};
        if (slices > 1 && config.slices == 1) {
          launches.push_back({kernelWith(program, "kn_finish", c.partials_mem, c.y_mem, c.layer.n, slices),
                              {roundUp(static_cast<std::size_t>(c.layer.n), 128), 1}, {128, 1}, 1});
        }
        return launches;
      });
    }
    // N x K: TEAM items per output.
    struct NkConfig {
      int team, threads, u;
    };
    const std::vector<NkConfig> nk_configs = {{32, 256, 4}, {32, 256, 8}, {64, 256, 8}, {128, 256, 4},
                                              {16, 256, 8}, {32, 128, 8}, {32, 512, 8}};
    for (const NkConfig& config : nk_configs) {
      const std::string options = "-cl-std=CL1.2 -DNK -DTEAM=" + std::to_string(config.team) +
                                  " -DTHREADS=" + std::to_string(config.threads) +
                                  " -DU=" + std::to_string(config.u) + half_option;
      cl_program program = build(rt, options);
      char label[128];
      std::snprintf(label, sizeof label, "nk team %d threads %d U %d", config.team, config.threads, config.u);
      printRow(rt, label, cases, reps, total_bytes, true, [&](const Case& c) {
        const std::size_t per_group = static_cast<std::size_t>(config.threads / config.team);
        const std::size_t groups = (static_cast<std::size_t>(c.layer.n) + per_group - 1) / per_group;
        return std::vector<Launch>{{kernelWith(program, "nk", c.x_mem, c.w_nk_mem, c.y_mem, c.layer.n, c.layer.k),
                                    {groups * config.threads, 1}, {static_cast<std::size_t>(config.threads), 1}, 1}};
      });
    }
  }
  return 0;
}
