// Hopper wgmma GEMM from OpenCL, standalone (issue 16, item 4): C (M x N, FP32) = A (M x K, FP16,
// row-major) x B^T (B: N x K, FP16, row-major, as PyTorch stores weights), with the operand tiles
// in local memory in wgmma's no-swizzle K-major layout, filled by cp.async. The OpenCL C source
// carries a placeholder comment inside inline asm (`// WGMMA <operands>`) so that the compiler
// names the accumulator and descriptor registers; the PTX the driver returns is patched to
// `.target sm_90a` with the placeholder replaced by wgmma.fence / mma_async / commit / wait, and
// loaded with clCreateProgramWithBinary (../shared/device/README.md). Each variant (instruction N,
// warpgroups per work-group, K per tile, stages) is checked against a CPU reference at awkward
// shapes and then timed with events at the BERT-base and 4096^3 products. The placeholders and
// their expansion are mlprt's own (csrc/backend/opencl/ptx_patch.h), so this checks those too.
//
//   g++ -O2 -std=c++17 -Icsrc bench/wgmma_gemm.cpp csrc/backend/opencl/ptx_patch.cpp -lOpenCL -o /tmp/wgmma_gemm
//   /tmp/wgmma_gemm [reps]
#define CL_TARGET_OPENCL_VERSION 300
#include <CL/cl.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <regex>
#include <string>
#include <vector>

#include "backend/opencl/ptx_patch.h"
#include "cl_bench_util.h"

namespace {

cl_context context;
cl_device_id device;
cl_command_queue queue;

void check(cl_int status, const char* what) {
  if (status != CL_SUCCESS) {
    std::printf("%s failed: %d\n", what, status);
    std::exit(1);
  }
}

std::string buildLog(cl_program program) {
  std::size_t size = 0;
  clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, 0, nullptr, &size);
  std::string log(size, '\0');
  clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, size, log.data(), nullptr);
  return log.substr(0, 1500);
}

struct Variant {
  int n;        // the instruction's N: one work-group's tile is (64 x warpgroups) x n
  int groups;   // warpgroups per work-group, stacked along M
  int bk;       // K per local tile (a multiple of 16)
  int stages;   // local tiles in flight
  bool swap;    // descriptors with LBO and SBO exchanged (a check of which one the K step is)
  bool registers = false;  // register-staged loads (two tiles) instead of a cp.async ring
  bool b_kn = false;       // b stored K x N (N-major tiles, wgmma's transposed b; registers only)
  bool overlap = false;    // cp.async ring only: one tile's products in flight while the ring is refilled
  bool beyond = false;     // run even where the local memory exceeds what the device reports
  bool swizzle = false;    // 128-byte swizzled K-major tiles (BK 64, b N x K, cp.async ring)
  std::string name() const {
    return "wgmma_m" + std::to_string(64 * groups) + "n" + std::to_string(n) + "_k" + std::to_string(bk) + "_s" +
           std::to_string(stages) + (registers ? "_regs" : "") + (b_kn ? "_bkn" : "") + (overlap ? "_overlap" : "") +
           (swizzle ? "_sw128" : "") + (swap ? "_swapped" : "");
  }
  int localBytes() const { return (registers ? 2 : stages) * (64 * groups + n) * bk * 2; }
};

// The kernel. Local tiles: a 16-byte chunk (8 halves of one row) at index i of a tile holds row
// (i / (8 CH)) * 8 + i % 8 and K chunk (i / 8) % CH, CH = BK / 8: consecutive work-items copy 8 rows'
// chunks (coalesced per warp: 8 rows x 4 chunks of 16 bytes) into consecutive 16-byte slots (no bank
// conflict), and each 8 x 8 core matrix is 128 contiguous bytes: K-adjacent core matrices 128
// bytes apart (the leading-dimension offset), M- or N-adjacent ones 128 CH bytes apart (the stride
// offset).
const char* kSource = R"CL(
#if B_KN && !REGISTER_STAGING
#error "b stored K x N is read through registers only"
#endif
#define CH (BK / 8)
#define BM (64 * GROUPS)
#define THREADS (128 * GROUPS)
#define A_TILE (BM * CH)
#define B_TILE (BN * CH)

inline uint shared_address(__local const void* p) { return (uint)(size_t)p; }

#define CP_ASYNC_16(dst, src, bytes) \
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" ::"r"(dst), "l"((ulong)(size_t)(src)), "r"(bytes) : "memory")

inline void cp_async_wait_pending(void) {
#if STAGES <= 2
  asm volatile("cp.async.wait_group 0;" ::: "memory");
#elif STAGES == 3
  asm volatile("cp.async.wait_group 1;" ::: "memory");
#else
  asm volatile("cp.async.wait_group 2;" ::: "memory");
#endif
}

inline ulong descriptor(uint address, uint leading, uint stride) {
  return (ulong)((address & 0x3FFFF) >> 4) | ((ulong)(leading >> 4) << 16) | ((ulong)(stride >> 4) << 32) |
         ((ulong)LAYOUT << 62);
}

inline void load_tile(__local uint4* as, __local uint4* bs, __global const uint4* a, __global const uint4* b,
                      int m0, int n0, int M, int N, int kchunks, int tile, int tid) {
#if SWIZZLE
  // 128-byte swizzle (BK = 64: a row of the tile is one 128-byte line): chunk c of row r at slot
  // 8 r + (c ^ r % 8); 8 consecutive items copy one row's 128 bytes.
  for (int i = tid; i < A_TILE; i += THREADS) {
    const int r = i / 8, c = i % 8, row = m0 + r, chunk = tile * 8 + c;
    const bool inside = row < M && chunk < kchunks;
    CP_ASYNC_16(shared_address(as + r * 8 + (c ^ (r % 8))), a + (inside ? (size_t)row * kchunks + chunk : 0), inside ? 16 : 0);
  }
  for (int i = tid; i < B_TILE; i += THREADS) {
    const int r = i / 8, c = i % 8, row = n0 + r, chunk = tile * 8 + c;
    const bool inside = row < N && chunk < kchunks;
    CP_ASYNC_16(shared_address(bs + r * 8 + (c ^ (r % 8))), b + (inside ? (size_t)row * kchunks + chunk : 0), inside ? 16 : 0);
  }
#else
  for (int i = tid; i < A_TILE; i += THREADS) {
    const int row = m0 + (i / (8 * CH)) * 8 + i % 8, chunk = tile * CH + (i / 8) % CH;
    const bool inside = row < M && chunk < kchunks;
    CP_ASYNC_16(shared_address(as + i), a + (inside ? (size_t)row * kchunks + chunk : 0), inside ? 16 : 0);
  }
  for (int i = tid; i < B_TILE; i += THREADS) {
    const int row = n0 + (i / (8 * CH)) * 8 + i % 8, chunk = tile * CH + (i / 8) % CH;
    const bool inside = row < N && chunk < kchunks;
    CP_ASYNC_16(shared_address(bs + i), b + (inside ? (size_t)row * kchunks + chunk : 0), inside ? 16 : 0);
  }
#endif
  asm volatile("cp.async.commit_group;" ::: "memory");
}

#define STAGED_A ((A_TILE + THREADS - 1) / THREADS)
#define STAGED_B ((B_TILE + THREADS - 1) / THREADS)

// Register staging: this item's chunks of a tile (the same slots load_tile gives it), read with
// plain 16-byte loads, and their stores into a local tile.
inline void fetch_tile(uint4* staged_a, uint4* staged_b, __global const uint4* a, __global const uint4* b,
                       int m0, int n0, int M, int N, int kchunks, int tile, int tid) {
#pragma unroll
  for (int r = 0; r < STAGED_A; ++r) {
    const int i = tid + r * THREADS;
    const int row = m0 + (i / (8 * CH)) * 8 + i % 8, chunk = tile * CH + (i / 8) % CH;
    staged_a[r] = i < A_TILE && row < M && chunk < kchunks ? a[(size_t)row * kchunks + chunk] : (uint4)(0);
  }
#pragma unroll
  for (int r = 0; r < STAGED_B; ++r) {
    const int i = tid + r * THREADS;
#if B_KN
    // b is K x N: slot i holds K row (i / BN) * 8 + i % 8 of the tile and N chunk (i / 8) % (BN / 8),
    // so each 8 x 8 core matrix is 8 K rows of 8 N values (N-major), N-adjacent ones 128 bytes apart.
    const int k = tile * BK + (i / BN) * 8 + i % 8, chunk = n0 / 8 + (i / 8) % (BN / 8);
    staged_b[r] = i < B_TILE && k < kchunks * 8 && chunk < N / 8 ? b[(size_t)k * (N / 8) + chunk] : (uint4)(0);
#else
    const int row = n0 + (i / (8 * CH)) * 8 + i % 8, chunk = tile * CH + (i / 8) % CH;
    staged_b[r] = i < B_TILE && row < N && chunk < kchunks ? b[(size_t)row * kchunks + chunk] : (uint4)(0);
#endif
  }
}

inline void put_tile(__local uint4* as, __local uint4* bs, const uint4* staged_a, const uint4* staged_b, int tid) {
#pragma unroll
  for (int r = 0; r < STAGED_A; ++r)
    if (tid + r * THREADS < A_TILE) as[tid + r * THREADS] = staged_a[r];
#pragma unroll
  for (int r = 0; r < STAGED_B; ++r)
    if (tid + r * THREADS < B_TILE) bs[tid + r * THREADS] = staged_b[r];
}

__kernel __attribute__((reqd_work_group_size(THREADS, 1, 1)))
void wgmma_gemm(__global const uint4* a, __global const uint4* b, __global float* c, int M, int N, int K) {
  __local uint4 as[STAGES][A_TILE] __attribute__((aligned(1024)));
  __local uint4 bs[STAGES][B_TILE] __attribute__((aligned(1024)));
  const int tid = get_local_id(0), group = tid / 128, warp = (tid % 128) / 32, lane = tid % 32;
  const int m0 = get_group_id(1) * BM, n0 = get_group_id(0) * BN;
  const int kchunks = K / 8, tiles = (kchunks + CH - 1) / CH;
  const int one = 1;
  float acc[BN / 2];
#pragma unroll
  for (int i = 0; i < BN / 2; ++i) acc[i] = 0.0f;
#if REGISTER_STAGING
  // Two local tiles; the next tile's loads are in flight in registers while the tensor cores work
  // on this one (wgmma is asynchronous), and are stored into the other tile before the wait.
  uint4 staged_a[STAGED_A], staged_b[STAGED_B];
  fetch_tile(staged_a, staged_b, a, b, m0, n0, M, N, kchunks, 0, tid);
  put_tile(as[0], bs[0], staged_a, staged_b, tid);
  asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int t = 0; t < tiles; ++t) {
    const int s = t & 1;
    if (t + 1 < tiles) fetch_tile(staged_a, staged_b, a, b, m0, n0, M, N, kchunks, t + 1, tid);
    const ulong da = descriptor(shared_address(as[s] + group * 64 * CH), LEADING, STRIDE);
    const ulong db = descriptor(shared_address(bs[s]), LEADING_B, STRIDE_B);
    asm volatile(WGMMA_PLACEHOLDER : WGMMA_OUTPUTS : "l"(da), "l"(db), "r"(one) : "memory");
    if (t + 1 < tiles) put_tile(as[s ^ 1], bs[s ^ 1], staged_a, staged_b, tid);
    asm volatile(WGWAIT_PLACEHOLDER : WGMMA_OUTPUTS :: "memory");
    asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
    barrier(CLK_LOCAL_MEM_FENCE);
  }
#else
  for (int s = 0; s < STAGES - 1; ++s) {
    if (s < tiles) load_tile(as[s], bs[s], a, b, m0, n0, M, N, kchunks, s, tid);
    else asm volatile("cp.async.commit_group;" ::: "memory");
  }
  for (int t = 0; t < tiles; ++t) {
    cp_async_wait_pending();
    asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
    barrier(CLK_LOCAL_MEM_FENCE);
    const int next = t + STAGES - 1;
#if !OVERLAP
    if (next < tiles) load_tile(as[next % STAGES], bs[next % STAGES], a, b, m0, n0, M, N, kchunks, next, tid);
    else asm volatile("cp.async.commit_group;" ::: "memory");
#endif
    const int s = t % STAGES;
    const ulong da = descriptor(shared_address(as[s] + group * 64 * CH), LEADING, STRIDE);
    const ulong db = descriptor(shared_address(bs[s]), LEADING_B, STRIDE_B);
    asm volatile(WGMMA_PLACEHOLDER : WGMMA_OUTPUTS : "l"(da), "l"(db), "r"(one) : "memory");
#if OVERLAP
    // This tile's products stay in flight while the previous tile's finish and its local tile
    // (every warpgroup's, hence the barrier) is refilled with the tile STAGES - 1 ahead.
    asm volatile(WGWAIT1_PLACEHOLDER : WGMMA_OUTPUTS :: "memory");
    barrier(CLK_LOCAL_MEM_FENCE);
    if (next < tiles) load_tile(as[next % STAGES], bs[next % STAGES], a, b, m0, n0, M, N, kchunks, next, tid);
    else asm volatile("cp.async.commit_group;" ::: "memory");
#else
    asm volatile(WGWAIT_PLACEHOLDER : WGMMA_OUTPUTS :: "memory");
#endif
  }
#if OVERLAP
  asm volatile(WGWAIT_PLACEHOLDER : WGMMA_OUTPUTS :: "memory");
#endif
#endif
  const int row = m0 + group * 64 + warp * 16 + lane / 4;
#pragma unroll
  for (int j = 0; j < BN / 8; ++j) {
    const int col = n0 + 8 * j + 2 * (lane % 4);
    if (row < M) {
      if (col < N) c[(size_t)row * N + col] = acc[4 * j];
      if (col + 1 < N) c[(size_t)row * N + col + 1] = acc[4 * j + 1];
    }
    if (row + 8 < M) {
      if (col < N) c[(size_t)(row + 8) * N + col] = acc[4 * j + 2];
      if (col + 1 < N) c[(size_t)(row + 8) * N + col + 1] = acc[4 * j + 3];
    }
  }
}
)CL";

// The variant's constants and the placeholder statement's operand lists, as #defines before the
// source (build options would need quoting that not every driver parses).
std::string sourceFor(const Variant& v) {
  // 128-byte swizzle: the stride offset is 8 rows of 128 bytes; the leading one is unused (K of one
  // instruction lies inside a line), encoded as 1; a K step of 16 moves 32 bytes inside the line.
  const int leading = v.swizzle ? 16 : 128, stride = v.swizzle ? 1024 : 128 * (v.bk / 8);
  const int k_step = v.swizzle ? 2 : 16;
  // N-major b tiles: K-adjacent core matrices BN / 8 x 128 bytes apart, N-adjacent ones 128.
  const int leading_b = v.b_kn ? 16 * v.n : leading, stride_b = v.b_kn ? 128 : stride;
  const bool swap_a = v.swap && !v.b_kn;  // with b K x N, "swapped" is about b's descriptor only
  // K steps of 16 start two core matrices (256 bytes, 16 descriptor units) further in both tiles.
  std::string placeholder = "\"// MLPRT_WGMMA m64n" + std::to_string(v.n) + "k16 f32.f16.f16 " +
                            std::to_string(v.bk / 16) + " " + std::to_string(k_step) + " " +
                            std::to_string(v.b_kn ? 2 * v.n : k_step) + " 0 " +
                            (v.b_kn ? "1" : "0");
  std::string wait = "\"// MLPRT_WGWAIT 0";
  std::string outputs;
  for (int i = 0; i < v.n / 2; ++i) {
    placeholder += " %" + std::to_string(i);
    wait += " %" + std::to_string(i);
    outputs += std::string(i ? "," : "") + "\"+f\"(acc[" + std::to_string(i) + "])";
  }
  std::string wait1 = wait;
  wait1.replace(wait1.find("WGWAIT 0"), 8, "WGWAIT 1");
  wait += "\"";
  wait1 += "\"";
  for (int i = 0; i < 3; ++i) placeholder += " %" + std::to_string(v.n / 2 + i);
  placeholder += "\"";
  return "#define BN " + std::to_string(v.n) + "\n#define GROUPS " + std::to_string(v.groups) + "\n#define BK " +
         std::to_string(v.bk) + "\n#define STAGES " + std::to_string(v.stages) + "\n#define LEADING " +
         std::to_string(swap_a ? stride : leading) + "u\n#define STRIDE " + std::to_string(swap_a ? leading : stride) +
         "u\n#define LEADING_B " + std::to_string(v.swap ? stride_b : leading_b) + "u\n#define STRIDE_B " +
         std::to_string(v.swap ? leading_b : stride_b) + "u\n#define B_KN " + (v.b_kn ? "1" : "0") + "\n#define WGMMA_PLACEHOLDER " + placeholder + "\n#define WGWAIT_PLACEHOLDER " + wait + "\n#define WGWAIT1_PLACEHOLDER " + wait1 +
         "\n#define OVERLAP " + (v.overlap ? "1" : "0") + "\n#define WGMMA_OUTPUTS " + outputs +
         "\n#define REGISTER_STAGING " + (v.registers ? "1" : "0") + "\n#define SWIZZLE " + (v.swizzle ? "1" : "0") +
         "\n#define LAYOUT " + (v.swizzle ? "1" : "0") + "\n" + kSource;
}

// Compiles the source, patches its PTX, and returns the sm_90a program (nullptr with the reason).
cl_program buildVariant(const Variant& v, std::string& why) {
  cl_int status;
  const std::string text = sourceFor(v);
  const char* source = text.c_str();
  cl_program plain = clCreateProgramWithSource(context, 1, &source, nullptr, &status);
  check(status, "clCreateProgramWithSource");
  if (clBuildProgram(plain, 1, &device, "-cl-std=CL2.0", nullptr, nullptr) != CL_SUCCESS) {
    why = "OpenCL C build failed: " + buildLog(plain);
    clReleaseProgram(plain);
    return nullptr;
  }
  std::string patched;
  try {
    patched = mlprt::cl::patchPtx(bench::programText(plain));
  } catch (const std::exception& error) {
    why = error.what();
  }
  clReleaseProgram(plain);
  if (patched.empty()) return nullptr;
  const auto* bytes = reinterpret_cast<const unsigned char*>(patched.c_str());
  const std::size_t size = patched.size() + 1;
  cl_int binaryStatus;
  cl_program program = clCreateProgramWithBinary(context, 1, &device, &size, &bytes, &binaryStatus, &status);
  if (status == CL_SUCCESS) status = clBuildProgram(program, 1, &device, "", nullptr, nullptr);
  if (status != CL_SUCCESS) {
    why = "patched PTX refused (" + std::to_string(status) + "): " + buildLog(program);
    std::FILE* f = std::fopen(("/tmp/" + v.name() + ".ptx").c_str(), "w");
    if (f) { std::fputs(patched.c_str(), f); std::fclose(f); }
    clReleaseProgram(program);
    return nullptr;
  }
  return program;
}

std::uint16_t toHalf(float x) {  // round to nearest even; the values here are small and normal
  std::uint32_t bits;
  std::memcpy(&bits, &x, 4);
  const std::uint32_t sign = (bits >> 16) & 0x8000u;
  const int exponent = static_cast<int>((bits >> 23) & 0xFF) - 127 + 15;
  std::uint32_t mantissa = bits & 0x7FFFFFu;
  if (exponent <= 0) return static_cast<std::uint16_t>(sign);
  std::uint32_t half = sign | (static_cast<std::uint32_t>(exponent) << 10) | (mantissa >> 13);
  const std::uint32_t rest = mantissa & 0x1FFFu;
  if (rest > 0x1000u || (rest == 0x1000u && (half & 1u))) ++half;
  return static_cast<std::uint16_t>(half);
}

float fromHalf(std::uint16_t h) {
  const std::uint32_t sign = (h & 0x8000u) << 16;
  const std::uint32_t exponent = (h >> 10) & 0x1F, mantissa = h & 0x3FFu;
  std::uint32_t bits = exponent == 0 ? sign : sign | ((exponent - 15 + 127) << 23) | (mantissa << 13);
  float x;
  std::memcpy(&x, &bits, 4);
  return x;
}

struct Problem {
  int m, n, k;
  bool kn;  // b stored K x N (else N x K)
  std::vector<std::uint16_t> a, b;
  cl_mem da = nullptr, db = nullptr, dc = nullptr;
  Problem(int m_, int n_, int k_, unsigned seed, bool kn_ = false)
      : m(m_), n(n_), k(k_), kn(kn_), a(std::size_t(m_) * k_), b(std::size_t(n_) * k_) {
    std::mt19937 engine(seed);
    std::uniform_real_distribution<float> value(-1.0f, 1.0f);
    for (auto& x : a) x = toHalf(value(engine));
    for (auto& x : b) x = toHalf(value(engine));
    cl_int status;
    da = clCreateBuffer(context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, a.size() * 2, a.data(), &status);
    check(status, "clCreateBuffer a");
    db = clCreateBuffer(context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, b.size() * 2, b.data(), &status);
    check(status, "clCreateBuffer b");
    dc = clCreateBuffer(context, CL_MEM_READ_WRITE, std::size_t(m) * n * 4, nullptr, &status);
    check(status, "clCreateBuffer c");
  }
  ~Problem() {
    clReleaseMemObject(da);
    clReleaseMemObject(db);
    clReleaseMemObject(dc);
  }
  float bAt(int j, int p) const { return fromHalf(b[kn ? std::size_t(p) * n + j : std::size_t(j) * k + p]); }
  double reference(int i, int j) const {
    double sum = 0;
    for (int p = 0; p < k; ++p) sum += double(fromHalf(a[std::size_t(i) * k + p])) * bAt(j, p);
    return sum;
  }
};

cl_event launch(cl_kernel kernel, const Variant& v, Problem& p) {
  clSetKernelArg(kernel, 0, sizeof(cl_mem), &p.da);
  clSetKernelArg(kernel, 1, sizeof(cl_mem), &p.db);
  clSetKernelArg(kernel, 2, sizeof(cl_mem), &p.dc);
  clSetKernelArg(kernel, 3, sizeof(int), &p.m);
  clSetKernelArg(kernel, 4, sizeof(int), &p.n);
  clSetKernelArg(kernel, 5, sizeof(int), &p.k);
  const std::size_t threads = 128 * v.groups;
  const std::size_t global[2] = {std::size_t((p.n + v.n - 1) / v.n) * threads,
                                 std::size_t((p.m + 64 * v.groups - 1) / (64 * v.groups))};
  const std::size_t local[2] = {threads, 1};
  cl_event event = nullptr;
  check(clEnqueueNDRangeKernel(queue, kernel, 2, nullptr, global, local, 0, nullptr, &event), "launch");
  return event;
}

// Worst |c - reference| / (sum of |terms|) over every output (small problems) or 4096 samples.
double verify(cl_kernel kernel, const Variant& v, Problem& p, std::string& first) {
  std::vector<float> c(std::size_t(p.m) * p.n, -12345.0f);
  check(clEnqueueWriteBuffer(queue, p.dc, CL_TRUE, 0, c.size() * 4, c.data(), 0, nullptr, nullptr), "write c");
  clReleaseEvent(launch(kernel, v, p));
  const cl_int finished = clFinish(queue);
  if (finished != CL_SUCCESS) {
    first = "clFinish " + std::to_string(finished);
    return INFINITY;
  }
  check(clEnqueueReadBuffer(queue, p.dc, CL_TRUE, 0, c.size() * 4, c.data(), 0, nullptr, nullptr), "read c");
  const bool all = std::size_t(p.m) * p.n <= 65536;
  std::mt19937 engine(7);
  double worst = 0;
  for (int s = 0; s < (all ? p.m * p.n : 4096); ++s) {
    const int i = all ? s / p.n : int(engine() % p.m), j = all ? s % p.n : int(engine() % p.n);
    double scale = 0;
    for (int q = 0; q < p.k; ++q)
      scale += std::fabs(double(fromHalf(p.a[std::size_t(i) * p.k + q])) * p.bAt(j, q));
    const double error = std::fabs(c[std::size_t(i) * p.n + j] - p.reference(i, j)) / std::max(scale, 1e-30);
    if (error > worst) {
      worst = error;
      if (first.empty() && error > 1e-3) {
        char text[160];
        std::snprintf(text, sizeof text, "c[%d][%d] = %g, reference %g", i, j, c[std::size_t(i) * p.n + j], p.reference(i, j));
        first = text;
      }
    }
  }
  return worst;
}

double timeMs(cl_kernel kernel, const Variant& v, Problem& p, int reps) {
  clReleaseEvent(launch(kernel, v, p));
  clFinish(queue);
  std::vector<double> times;
  for (int r = 0; r < reps; ++r) {
    cl_event event = launch(kernel, v, p);
    clWaitForEvents(1, &event);
    cl_ulong start = 0, end = 0;
    clGetEventProfilingInfo(event, CL_PROFILING_COMMAND_START, sizeof start, &start, nullptr);
    clGetEventProfilingInfo(event, CL_PROFILING_COMMAND_END, sizeof end, &end, nullptr);
    clReleaseEvent(event);
    times.push_back((end - start) * 1e-6);
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "--patch") {  // --patch FILE: the patch alone, offline
    std::FILE* f = std::fopen(argv[2], "r");
    std::string ptx;
    for (int ch; f && (ch = std::fgetc(f)) != EOF;) ptx += static_cast<char>(ch);
    std::puts(mlprt::cl::patchPtx(ptx).c_str());
    return 0;
  }
  const int reps = argc > 1 ? std::atoi(argv[1]) : 20;
  cl_uint platforms = 0;
  cl_platform_id ids[8];
  clGetPlatformIDs(8, ids, &platforms);
  for (cl_uint i = 0; i < platforms && !device; ++i) {
    char name[256];
    clGetPlatformInfo(ids[i], CL_PLATFORM_NAME, sizeof name, name, nullptr);
    if (std::string(name).find("NVIDIA") != std::string::npos) clGetDeviceIDs(ids[i], CL_DEVICE_TYPE_GPU, 1, &device, nullptr);
  }
  if (!device) {
    std::printf("no NVIDIA OpenCL device: wgmma needs one\n");
    return 1;
  }
  char name[256];
  clGetDeviceInfo(device, CL_DEVICE_NAME, sizeof name, name, nullptr);
  cl_ulong localBytes = 0;
  clGetDeviceInfo(device, CL_DEVICE_LOCAL_MEM_SIZE, sizeof localBytes, &localBytes, nullptr);
  std::printf("%s, %llu bytes of local memory\n", name, static_cast<unsigned long long>(localBytes));
  cl_int status;
  context = clCreateContext(nullptr, 1, &device, nullptr, nullptr, &status);
  check(status, "clCreateContext");
  const cl_queue_properties properties[] = {CL_QUEUE_PROPERTIES, CL_QUEUE_PROFILING_ENABLE, 0};
  queue = clCreateCommandQueueWithProperties(context, device, properties, &status);
  check(status, "clCreateCommandQueue");

  // Issue 16 run 4 measured the plain tiles (the documented descriptor offsets right, exchanged
  // ones wrong, transposed b right; its exchanged form faulted the device, so it is not run again)
  // and found the cp.async ring of 128 x 128 tiles, K 16, 4 stages fastest. Kept as the baseline
  // beside the next questions: one tile's products in flight while the ring is refilled
  // (overlap), and rings beyond the 48 KiB the driver reports (beyond).
  const auto ring = [](int n, int groups, int bk, int stages, bool overlap, bool beyond = false) {
    Variant v{n, groups, bk, stages, false};
    v.overlap = overlap;
    v.beyond = beyond;
    return v;
  };
  // Run 5's best two (no swizzle: 8 x 8 core matrices of 128 contiguous bytes), then the same
  // ring with 128-byte swizzled tiles of K = 64 (the layout CUTLASS's Hopper kernels use), in local
  // memory beyond the 48 KiB reported.
  const auto swizzled = [&ring](int n, int stages, bool overlap) {
    Variant v = ring(n, 2, 64, stages, overlap, true);
    v.swizzle = true;
    return v;
  };
  const std::vector<Variant> variants = {
      ring(128, 2, 16, 4, false), ring(256, 2, 16, 3, false), swizzled(128, 2, false), swizzled(128, 3, false),
      swizzled(128, 4, false),    swizzled(256, 2, false),    swizzled(256, 3, false), swizzled(128, 3, true),
      swizzled(256, 3, true),
  };
  // Awkward shapes: rows and columns that fill no tile, K that fills no K tile; N a multiple of 8
  // (b K x N is read in 16-byte chunks of N).
  std::vector<Problem*> checks, checks_kn;
  for (bool kn : {false, true}) {
    for (const auto& [m, n, k] : std::vector<std::array<int, 3>>{{131, 72, 48}, {200, 264, 200}, {1, 296, 776}})
      (kn ? checks_kn : checks).push_back(new Problem(m, n, k, 1 + m, kn));
  }
  struct Shape { int m, n, k; const char* what; };
  const std::vector<Shape> shapes = {{4096, 2304, 768, "BERT-base b32 qkv"}, {4096, 768, 768, "BERT-base b32 out"},
                                     {4096, 3072, 768, "BERT-base b32 up"},  {4096, 768, 3072, "BERT-base b32 down"},
                                     {4096, 4096, 4096, "4096^3"}};
  std::vector<Problem*> timed, timed_kn;
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    timed.push_back(new Problem(shapes[i].m, shapes[i].n, shapes[i].k, 10 + i));
    timed_kn.push_back(new Problem(shapes[i].m, shapes[i].n, shapes[i].k, 10 + i, true));
  }
  for (const Variant& v : variants) {
    if (static_cast<cl_ulong>(v.localBytes()) > localBytes && !v.beyond) {
      std::printf("%-28s skipped: %d bytes of local memory\n", v.name().c_str(), v.localBytes());
      continue;
    }
    std::string why;
    const auto begin = std::chrono::steady_clock::now();
    cl_program program = buildVariant(v, why);
    const double buildMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - begin).count();
    if (!program) {
      std::printf("%-28s %s\n", v.name().c_str(), why.c_str());
      continue;
    }
    cl_kernel kernel = clCreateKernel(program, "wgmma_gemm", &status);
    check(status, "clCreateKernel");
    double worst = 0;
    std::string first;
    for (Problem* p : v.b_kn ? checks_kn : checks) worst = std::max(worst, verify(kernel, v, *p, first));
    std::printf("%-28s built in %.0f ms; checks %s (worst %.2e)%s%s\n", v.name().c_str(), buildMs,
                worst <= 1e-3 ? "ok" : "BAD", worst, first.empty() ? "" : ": ", first.c_str());
    if (worst <= 1e-3 && !v.swap) {
      for (std::size_t i = 0; i < shapes.size(); ++i) {
        std::string sampleFirst;
        Problem& problem = *(v.b_kn ? timed_kn : timed)[i];
        const double error = verify(kernel, v, problem, sampleFirst);
        const double ms = timeMs(kernel, v, problem, reps);
        const double flops = 2.0 * shapes[i].m * shapes[i].n * shapes[i].k;
        std::printf("    %-20s %5d x %5d x %5d: %8.3f ms  %6.1f TFLOP/s  %s\n", shapes[i].what, shapes[i].m, shapes[i].n,
                    shapes[i].k, ms, flops / ms * 1e-9, error <= 1e-3 ? "ok" : ("BAD " + sampleFirst).c_str());
      }
    }
    clReleaseKernel(kernel);
    clReleaseProgram(program);
  }
  for (auto* list : {&checks, &checks_kn, &timed, &timed_kn})
    for (Problem* p : *list) delete p;
  return 0;
}
