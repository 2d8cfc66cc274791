// Where the FP16 tensor-core GEMM's time goes on this device (issue 5, the wide-MLP FP16 target).
// No profiler runs on the GPU machine, so this measures the pieces one by one:
//   1. the device's limits that shape the kernel: local memory per work-group, multiprocessors,
//      clock;
//   2. ceilings of the instructions the kernel can use from OpenCL: mma.sync m16n8k16 (f16 in,
//      f32 accumulate) on register operands alone, and fed by ldmatrix from local memory in the
//      GEMM's own ratio (a 64 x 64 warp tile: 4 + 4 ldmatrix.x4 per 32 mma), neither touching
//      global memory;
//   3. read bandwidth into the multiprocessors (plain loads and cp.async) from a region that fits
//      in L2 and from one that does not, the ceiling of feeding the tiles; and whether wgmma (the
//      Hopper instruction cuBLAS's FP16 kernels run on) compiles in NVIDIA's OpenCL;
//   4. the production gemm_mma_async kernel at the offered configurations (and two needing more
//      local memory than the device reports): registers and spills as ptxas reports them
//      (-cl-nv-verbose), then its time on 4096 x 1024 x 4096 (b N x K, as the engine stores the
//      wide MLP's FP16 weights) whole, without the global -> local copies (-DPROFILE_NO_COPY)
//      and without the mma (-DPROFILE_NO_MMA); the plain gemm_mma kernel (register-staged
//      copies) whole and without the mma.
// Times are OpenCL events around `reps` launches; TFLOP/s count 2 M N K per product.
//
//   cmake -S . -B build/g -G Ninja -DMLPRT_BUILD_PYTHON=OFF && ninja -C build/g mlprt_core
//   g++ -O2 -std=c++17 -Icsrc bench/mma_profile.cpp build/g/libmlprt_core.a -lclblast -lOpenCL -o build/g/mma_profile
//   build/g/mma_profile [reps]
//
// `build/g/mma_profile 2 16 emulate` checks the tool itself on any device (PoCL): the ceilings
// and wgmma are reported as not compiling, the production kernel runs with the mma emulated on a
// product 16 times smaller.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "backend/opencl/copy.h"
#include "backend/opencl/kernels.h"
#include "backend/opencl/program.h"
#include "backend/opencl/stream.h"
#include "build_log.h"
#include "stream_timing.h"

namespace {

using namespace mlprt;
using namespace mlprt::cl;

// The ceiling kernels. CHAINS independent accumulators per warp keep the tensor cores busy
// without waiting on one mma's result; operands come from the lane index so nothing folds away.
const char* const kCeilingSource = R"CL(
#define MMA_F16(d, a, b)                                                                       \
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 "                          \
               "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%10,%11,%12,%13};"                   \
               : "=f"((d)[0]), "=f"((d)[1]), "=f"((d)[2]), "=f"((d)[3])                      \
               : "r"((a)[0]), "r"((a)[1]), "r"((a)[2]), "r"((a)[3]), "r"((b)[0]), "r"((b)[1]), \
                 "f"((d)[0]), "f"((d)[1]), "f"((d)[2]), "f"((d)[3]))
#define LDSM_X4(r, address)                                                                    \
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];"                \
               : "=r"((r)[0]), "=r"((r)[1]), "=r"((r)[2]), "=r"((r)[3]) : "r"(address) : "memory")

__kernel void mma_registers(__global float* out, int iterations) {
  const uint lane = get_local_id(0) & 31;
  uint a[4], b[2];
  for (int r = 0; r < 4; ++r) a[r] = 0x1c001c00u ^ (lane * (uint)(r + 1));
  b[0] = 0x1c001c00u ^ lane;
  b[1] = 0x1c001c00u ^ (lane << 1);
  float acc[CHAINS][4];
  for (int c = 0; c < CHAINS; ++c)
    for (int r = 0; r < 4; ++r) acc[c][r] = 0.0f;
  for (int it = 0; it < iterations; ++it) {
#pragma unroll
    for (int c = 0; c < CHAINS; ++c) MMA_F16(acc[c], a, b);
  }
  float sum = 0.0f;
  for (int c = 0; c < CHAINS; ++c)
    for (int r = 0; r < 4; ++r) sum += acc[c][r];
  out[get_global_id(0)] = sum;
}

// One warp's 64 x 64 tile, K step of 16: a is 64 rows x 2 chunks of 8 halves, b the same (N x K),
// stored chunk-major so that the 8 rows one ldmatrix matrix reads are 128 contiguous bytes.
__kernel void mma_ldmatrix(__global float* out, int iterations) {
  __local uint4 tiles[WARPS * 256];
  const int lane = get_local_id(0) & 31, warp = get_local_id(0) >> 5;
  for (int i = get_local_id(0); i < WARPS * 256; i += get_local_size(0))
    tiles[i] = (uint4)(0x1c001c00u ^ i, 0x1c001c00u, 0x1c001c00u ^ (i << 1), 0x1c001c00u);
  barrier(CLK_LOCAL_MEM_FENCE);
  const uint base = (uint)(size_t)(tiles + warp * 256);
  const int row = lane & 15, chunk = lane >> 4;
  float acc[4][8][4];
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 8; ++j)
      for (int r = 0; r < 4; ++r) acc[i][j][r] = 0.0f;
  for (int it = 0; it < iterations; ++it) {
    uint fa[4][4], fb[8][2];
#pragma unroll
    for (int i = 0; i < 4; ++i) LDSM_X4(fa[i], base + (uint)(chunk * 64 + i * 16 + row) * 16u);
#pragma unroll
    for (int jj = 0; jj < 4; ++jj) {
      uint r[4];
      LDSM_X4(r, base + (uint)(128 + chunk * 64 + jj * 16 + row) * 16u);
      fb[2 * jj][0] = r[0];
      fb[2 * jj][1] = r[2];
      fb[2 * jj + 1][0] = r[1];
      fb[2 * jj + 1][1] = r[3];
    }
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
      for (int j = 0; j < 8; ++j) MMA_F16(acc[i][j], fa[i], fb[j]);
  }
  float sum = 0.0f;
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 8; ++j)
      for (int r = 0; r < 4; ++r) sum += acc[i][j][r];
  out[get_global_id(0)] = sum;
}

// The same with the fragments of the next K step read while the mma of this one run (double
// buffered in registers), as gemm_mma_async does. Both steps read the same local tile: the reads
// are volatile, so they are issued all the same, and 8 warps' double tiles would not fit.
__kernel void mma_ldmatrix_pipelined(__global float* out, int iterations) {
  __local uint4 tiles[WARPS * 256];
  const int lane = get_local_id(0) & 31, warp = get_local_id(0) >> 5;
  for (int i = get_local_id(0); i < WARPS * 256; i += get_local_size(0))
    tiles[i] = (uint4)(0x1c001c00u ^ i, 0x1c001c00u, 0x1c001c00u ^ (i << 1), 0x1c001c00u);
  barrier(CLK_LOCAL_MEM_FENCE);
  const uint base = (uint)(size_t)(tiles + warp * 256);
  const int row = lane & 15, chunk = lane >> 4;
  float acc[4][8][4];
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 8; ++j)
      for (int r = 0; r < 4; ++r) acc[i][j][r] = 0.0f;
  uint fa[4][4], fb[4][4], na[4][4], nb[4][4];
#pragma unroll
  for (int i = 0; i < 4; ++i) LDSM_X4(fa[i], base + (uint)(chunk * 64 + i * 16 + row) * 16u);
#pragma unroll
  for (int i = 0; i < 4; ++i) LDSM_X4(fb[i], base + (uint)(128 + chunk * 64 + i * 16 + row) * 16u);
  for (int it = 0; it < iterations; ++it) {
    const uint next = base;
#pragma unroll
    for (int i = 0; i < 4; ++i) LDSM_X4(na[i], next + (uint)(chunk * 64 + i * 16 + row) * 16u);
#pragma unroll
    for (int i = 0; i < 4; ++i) LDSM_X4(nb[i], next + (uint)(128 + chunk * 64 + i * 16 + row) * 16u);
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
      for (int j = 0; j < 8; ++j) {
        const uint b2[2] = {fb[j >> 1][j & 1], fb[j >> 1][(j & 1) + 2]};
        MMA_F16(acc[i][j], fa[i], b2);
      }
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
      for (int r = 0; r < 4; ++r) {
        fa[i][r] = na[i][r];
        fb[i][r] = nb[i][r];
      }
  }
  float sum = 0.0f;
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 8; ++j)
      for (int r = 0; r < 4; ++r) sum += acc[i][j][r];
  out[get_global_id(0)] = sum;
}
)CL";

// Reading operands into the multiprocessors, nothing else: each item reads 16-byte chunks of a
// region of mask + 1 chunks (a power of two), a warp 512 contiguous bytes per read, the group UNROLL reads in
// flight per item. ldg: plain loads into registers (folded by XOR); cp_async: cp.async into a
// ring of the group's local memory (STAGES commit groups in flight), as gemm_mma_async copies.
const char* const kReadSource = R"CL(
#define STRING2(x) #x
#define STRING(x) STRING2(x)
__kernel void read_ldg(__global const uint4* data, uint mask, int iterations, __global uint* out) {
  const uint items = get_global_size(0);
  uint4 folded = (uint4)(0u);
  uint at = get_global_id(0);
  for (int it = 0; it < iterations; ++it) {
    uint4 v[UNROLL];
#pragma unroll
    for (int u = 0; u < UNROLL; ++u) v[u] = data[(at + (uint)u * items) & mask];
#pragma unroll
    for (int u = 0; u < UNROLL; ++u) folded ^= v[u];
    at = (at + UNROLL * items) & mask;
  }
  out[get_global_id(0)] = folded.x ^ folded.y ^ folded.z ^ folded.w;
}

#ifndef NO_ASYNC
__kernel void read_cp_async(__global const uint4* data, uint mask, int iterations, __global uint* out) {
  __local uint4 ring[STAGES * UNROLL * 256];
  const uint items = get_global_size(0), lid = get_local_id(0);
  const uint base = (uint)(size_t)ring;
  uint at = get_global_id(0);
  for (int it = 0; it < iterations; ++it) {
    const uint stage = (uint)it % STAGES;
#pragma unroll
    for (int u = 0; u < UNROLL; ++u) {
      const uint slot = (stage * UNROLL + (uint)u) * 256u + lid;
      asm volatile("cp.async.cg.shared.global [%0], [%1], 16;" ::"r"(base + slot * 16u),
                   "l"((ulong)(size_t)(data + ((at + (uint)u * items) & mask))) : "memory");
    }
    asm volatile("cp.async.commit_group;" ::: "memory");
    asm volatile("cp.async.wait_group " STRING(WAIT_DEPTH) ";" ::: "memory");
    at = (at + UNROLL * items) & mask;
  }
  asm volatile("cp.async.wait_group 0;" ::: "memory");
  uint4 folded = (uint4)(0u);
  for (int s = 0; s < STAGES * UNROLL; ++s) folded ^= ring[s * 256 + lid];
  out[get_global_id(0)] = folded.x ^ folded.y ^ folded.z ^ folded.w;
}
#endif
)CL";

const char* const kWgmmaSource = R"CL(
__kernel void wgmma_fence(__global float* out) {
  asm volatile("wgmma.fence.sync.aligned;" ::: "memory");
  out[get_global_id(0)] = 1.0f;
}
)CL";

using bench::buildLog;
using bench::resourceLines;

// Builds `source` with `options`; null (with the reason printed) where it does not compile.
std::shared_ptr<const Program> tryBuild(const std::shared_ptr<Context>& context, const std::string& what,
                                        const std::string& source, const std::string& options) {
  try {
    return Program::build(context, source, options);
  } catch (const std::exception& error) {
    std::string reason = error.what();
    if (reason.size() > 600) reason = reason.substr(0, 600) + " ...";
    std::printf("%s: does not compile: %s\n", what.c_str(), reason.c_str());
    return nullptr;
  }
}

// Launches `kernel`; false (with the status printed) where the driver refuses the launch, e.g.
// CL_OUT_OF_RESOURCES (-5) for a work-group whose registers do not fit a multiprocessor.
bool enqueue(Stream& stream, const Kernel& kernel, const std::vector<std::size_t>& global,
             const std::vector<std::size_t>& local) {
  const cl_int status = clEnqueueNDRangeKernel(stream.queue(), kernel.get(), static_cast<cl_uint>(global.size()),
                                               nullptr, global.data(), local.data(), 0, nullptr, nullptr);
  if (status != CL_SUCCESS) std::printf("launch of %s refused: status %d\n", kernel.name().c_str(), status);
  return status == CL_SUCCESS;
}

// Milliseconds per launch of `kernel`, or a negative value where it cannot be launched.
double kernelMilliseconds(Stream& stream, int reps, const Kernel& kernel, const std::vector<std::size_t>& global,
                          const std::vector<std::size_t>& local) {
  if (!enqueue(stream, kernel, global, local)) return -1.0;
  return bench::streamMilliseconds(stream, reps, [&] { enqueue(stream, kernel, global, local); });
}

void ceilings(const std::shared_ptr<Context>& context, Stream& stream, int reps, double clock_ghz) {
  const std::uint32_t units = context->device().compute_units;
  const int iterations = 2048;
  for (const int warps : {4, 8}) {
    for (const int chains : {4, 8, 16}) {
      const std::string options = "-DWARPS=" + std::to_string(warps) + " -DCHAINS=" + std::to_string(chains);
      auto program = tryBuild(context, "mma.sync ceiling", kCeilingSource, options);
      if (!program) return;
      const std::size_t threads = 32 * static_cast<std::size_t>(warps);
      const std::size_t groups = static_cast<std::size_t>(units) * 4;
      auto out = DeviceBuffer::allocate(context, groups * threads * sizeof(float));
      Kernel registers(program, "mma_registers");
      registers.setBuffer(0, *out);
      registers.setValue(1, iterations);
      const double ms = kernelMilliseconds(stream, reps, registers, {groups * threads}, {threads});
      const double flops = 4096.0 * chains * iterations * static_cast<double>(groups * warps);
      const double tflops = flops / (ms * 1e-3) / 1e12;
      if (ms > 0) {
        std::printf("ceiling mma.sync from registers: %2d warps/group, %2d chains: %7.1f TFLOP/s (%.0f flop/clock/SM)\n",
                    warps, chains, tflops, tflops * 1e12 / (units * clock_ghz * 1e9));
      }
      if (chains != 4) continue;
      for (const char* name : {"mma_ldmatrix", "mma_ldmatrix_pipelined"}) {
        Kernel ldmatrix(program, name);
        ldmatrix.setBuffer(0, *out);
        ldmatrix.setValue(1, iterations / 4);
        const double ms_ld = kernelMilliseconds(stream, reps, ldmatrix, {groups * threads}, {threads});
        const double flops_ld = 4096.0 * 32 * (iterations / 4) * static_cast<double>(groups * warps);
        if (ms_ld > 0) {
          std::printf("ceiling %s (64x64 warp tiles, no global memory, no barriers): %d warps/group: %7.1f TFLOP/s\n",
                      name, warps, flops_ld / (ms_ld * 1e-3) / 1e12);
        }
      }
    }
  }
}

// Read bandwidth into the multiprocessors from a region that stays in L2 and from one that
// does not (the GPU's memory), by plain loads and by cp.async.
void readCeilings(const std::shared_ptr<Context>& context, Stream& stream, int reps, bool nvidia) {
  const std::size_t groups = static_cast<std::size_t>(context->device().compute_units) * 2, threads = 256;
  std::size_t large = std::size_t{1} << 30;  // a power of two the device can allocate
  while (large > context->device().max_allocation / 2) large >>= 1;
  auto out = DeviceBuffer::allocate(context, groups * threads * sizeof(std::uint32_t));
  for (const std::size_t bytes : {std::size_t{8} << 20, std::size_t{32} << 20, large}) {
    auto data = DeviceBuffer::allocate(context, bytes);
    const std::vector<unsigned char> fill(bytes, 0x5a);
    copyHostToDevice(stream, {data, 0}, fill.data(), bytes, CopyMode::kBlocking);
    const auto mask = static_cast<cl_uint>(bytes / 16 - 1);
    // (unroll, stages): reads in flight per item; the last two rings need 64 KiB of local
    // memory, more than the device reports, to see whether that limit is enforced.
    const std::vector<std::pair<int, int>> shapes = {{4, 1}, {4, 3}, {2, 6}, {4, 4}, {8, 2}};
    for (const auto& [unroll, stages] : shapes) {
      const bool async = stages > 1;
      if (async && !nvidia) continue;
      const char* name = async ? "read_cp_async" : "read_ldg";
      const std::string options = "-DUNROLL=" + std::to_string(unroll) + " -DSTAGES=" + std::to_string(stages) +
                                  " -DWAIT_DEPTH=" + std::to_string(stages - 1) + (nvidia ? "" : " -DNO_ASYNC");
      auto program = tryBuild(context, name, kReadSource, options);
      if (!program) continue;
      Kernel kernel(program, name);
      // Each launch reads the region about four times over (at least 64 MiB).
      const std::size_t per_iteration = groups * threads * unroll * 16;
      const int iterations = static_cast<int>(std::max<std::size_t>(4 * bytes, std::size_t{64} << 20) / per_iteration);
      kernel.setBuffer(0, *data);
      kernel.setValue(1, mask);
      kernel.setValue(2, iterations);
      kernel.setBuffer(3, *out);
      std::size_t local_used = 0;
      clGetKernelWorkGroupInfo(kernel.get(), context->device().id, CL_KERNEL_LOCAL_MEM_SIZE, sizeof(local_used),
                               &local_used, nullptr);
      const double ms = kernelMilliseconds(stream, reps, kernel, {groups * threads}, {threads});
      if (ms > 0) {
        std::printf("read ceiling %-13s from a %5zu MiB region, %d x 16 B in flight per item x %d stages (local %zu B): "
                    "%6.2f TB/s\n", name, bytes >> 20, unroll, stages, local_used,
                    static_cast<double>(per_iteration) * iterations / (ms * 1e-3) / 1e12);
      }
    }
  }
}

// A gemm_mma_async configuration; stages 0 names the plain gemm_mma kernel instead (register-
// staged copies, K = 32 per tile, two tiles).
struct AsyncConfig {
  int bm, bn, warps_m, warps_n, bk, stages;
};

std::string configName(const AsyncConfig& c) {
  const std::string tile = std::to_string(c.bm) + "x" + std::to_string(c.bn) + "_w" + std::to_string(c.warps_m) +
                           "x" + std::to_string(c.warps_n);
  if (c.stages == 0) return "plain " + tile;
  return tile + "_k" + std::to_string(c.bk) + "_s" + std::to_string(c.stages);
}

// gemm_mma_async on relu(a x b^T + bias), half everywhere, b N x K; `variant` is "" (whole
// kernel), "-DPROFILE_NO_COPY" or "-DPROFILE_NO_MMA".
void productionKernel(const std::shared_ptr<Context>& context, Stream& stream, int reps, std::int64_t scale,
                      bool emulate, bool nvidia) {
  const int m = static_cast<int>(4096 / scale), n = static_cast<int>(1024 / scale), k = static_cast<int>(4096 / scale);
  auto a = DeviceBuffer::allocate(context, static_cast<std::size_t>(m) * k * 2);
  auto b = DeviceBuffer::allocate(context, static_cast<std::size_t>(n) * k * 2);
  auto bias = DeviceBuffer::allocate(context, static_cast<std::size_t>(n) * 2);
  auto c = DeviceBuffer::allocate(context, static_cast<std::size_t>(m) * n * 2);
  // Halves between -0.25 and 0.25 (values do not change the timing, zeros might).
  std::vector<std::uint16_t> values(static_cast<std::size_t>(m) * k);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<std::uint16_t>(0x3000u | (i * 2654435761u >> 22 & 0x3ff) | (i & 1) << 15);
  copyHostToDevice(stream, {a, 0}, values.data(), a->size(), CopyMode::kBlocking);
  copyHostToDevice(stream, {b, 0}, values.data(), b->size(), CopyMode::kBlocking);
  copyHostToDevice(stream, {bias, 0}, values.data(), bias->size(), CopyMode::kBlocking);
  // The offered configurations, the best of mma_tune's sweep, and two that need more local memory
  // than the device reports (64 and 72 KiB), to see whether the limit holds.
  const std::vector<AsyncConfig> configs = {{128, 256, 2, 4, 16, 4}, {128, 128, 2, 2, 32, 3}, {128, 128, 2, 4, 16, 4},
                                            {128, 128, 2, 4, 32, 4}, {128, 256, 2, 4, 16, 6}, {128, 128, 2, 4, 32, 0}};
  const double flops = 2.0 * m * n * k;
  for (const AsyncConfig& config : configs) {
    const std::uint64_t local_bytes = static_cast<std::uint64_t>(config.stages) * (config.bm + config.bn) * config.bk * 2;
    const bool plain = config.stages == 0;
    if (local_bytes > context->device().local_memory) {
      std::printf("%s: needs %llu bytes of local memory, more than the device reports; tried all the same\n",
                  configName(config).c_str(), static_cast<unsigned long long>(local_bytes));
    }
    const std::string tile = "-DBM=" + std::to_string(config.bm) + " -DBN=" + std::to_string(config.bn) +
                             " -DWARPS_M=" + std::to_string(config.warps_m) + " -DWARPS_N=" +
                             std::to_string(config.warps_n);
    const std::string base =
        (plain ? tile + " -DA_VEC -DB_VECT"
               : "-DASYNC " + tile + " -DBK=" + std::to_string(config.bk) + " -DSTAGES=" + std::to_string(config.stages) +
                     " -DB_VECT") +
        " -DA_HALF -DB_HALF -DOUT_HALF -DBIAS_HALF" + (emulate ? " -DMMA_EMULATE" : "");
    const std::vector<std::string> variants =
        plain ? std::vector<std::string>{"", "-DPROFILE_NO_MMA"}
              : std::vector<std::string>{"", "-DPROFILE_NO_COPY", "-DPROFILE_NO_MMA"};
    for (const std::string& variant : variants) {
      // -cl-nv-verbose makes NVIDIA's compiler log ptxas's resource use; it is part of the cache
      // key, so the program is compiled here rather than read from the disk cache.
      const std::string options = base + (variant.empty() ? std::string() : " " + variant) + (nvidia ? " -cl-nv-verbose" : "");
      const std::string label = configName(config) + (variant.empty() ? std::string(" whole") : " " + variant.substr(10));
      auto program = tryBuild(context, label, kernelSource("gemm_mma"), options);
      if (!program) continue;
      Kernel kernel(program, plain ? "gemm_mma" : "gemm_mma_async");
      const long zero = 0;
      int index = 0;
      kernel.setBuffer(index++, *a);
      kernel.setValue(index++, zero);
      kernel.setValue(index++, zero);
      kernel.setBuffer(index++, *b);
      kernel.setValue(index++, zero);
      kernel.setValue(index++, zero);
      kernel.setBuffer(index++, *bias);
      kernel.setValue(index++, zero);
      kernel.setBuffer(index++, *c);
      kernel.setValue(index++, zero);
      for (const int value : {m, n, k, 0, 1, 1, 0}) kernel.setValue(index++, value);  // M N K, a_trans b_trans, bias, ReLU
      kernel.setValue(index++, 0.0f);
      kernel.setValue(index++, 0.0f);
      const std::size_t threads = 32 * static_cast<std::size_t>(config.warps_m * config.warps_n);
      const std::vector<std::size_t> global = {static_cast<std::size_t>((n + config.bn - 1) / config.bn) * threads,
                                               static_cast<std::size_t>((m + config.bm - 1) / config.bm), 1};
      const double ms = kernelMilliseconds(stream, reps, kernel, global, {threads, 1, 1});
      if (ms < 0) continue;
      std::size_t private_bytes = 0, local_used = 0;
      clGetKernelWorkGroupInfo(kernel.get(), context->device().id, CL_KERNEL_PRIVATE_MEM_SIZE, sizeof(private_bytes),
                               &private_bytes, nullptr);
      clGetKernelWorkGroupInfo(kernel.get(), context->device().id, CL_KERNEL_LOCAL_MEM_SIZE, sizeof(local_used),
                               &local_used, nullptr);
      std::printf("%s (%d x %d x %d): %8.1f us, %6.1f TFLOP/s; private %zu B/item, local %zu B/group\n",
                  label.c_str(), m, n, k, ms * 1e3, flops / (ms * 1e-3) / 1e12, private_bytes, local_used);
      if (variant.empty()) std::printf("%s", resourceLines(buildLog(program->get(), context->device().id)).c_str());
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::max(1, std::atoi(argv[1])) : 20;
  const std::int64_t scale = argc > 2 ? std::max(1, std::atoi(argv[2])) : 1;
  const bool emulate = argc > 3 && std::string(argv[3]) == "emulate";
  const auto context = Context::current();
  auto stream = Stream::create(context);
  const DeviceInfo& device = context->device();
  cl_uint clock_mhz = 0;
  clGetDeviceInfo(device.id, CL_DEVICE_MAX_CLOCK_FREQUENCY, sizeof(clock_mhz), &clock_mhz, nullptr);
  const bool nvidia = device.platform_name.find("NVIDIA") != std::string::npos;
  std::printf("device: %s (%s, driver %s): %u compute units, max clock %u MHz, %llu bytes of local memory per "
              "work-group\n",
              device.name.c_str(), device.platform_name.c_str(), device.driver_version.c_str(), device.compute_units,
              clock_mhz, static_cast<unsigned long long>(device.local_memory));
  ceilings(context, *stream, reps, clock_mhz / 1000.0);
  readCeilings(context, *stream, reps, nvidia);
  // wgmma needs PTX for sm_90a; NVIDIA's OpenCL writes PTX for sm_90 unless told otherwise.
  for (const std::string arch : {"", "-cl-nv-arch sm_90a"}) {
    const std::string options = nvidia ? "-cl-nv-verbose " + arch : "";
    if (auto wgmma = tryBuild(context, "wgmma (options '" + options + "')", kWgmmaSource, options)) {
      std::printf("wgmma (options '%s'): compiles\n%s", options.c_str(),
                  resourceLines(buildLog(wgmma->get(), device.id)).c_str());
    }
    if (!nvidia) break;
  }
  productionKernel(context, *stream, reps, scale, emulate, nvidia);
  return 0;
}
