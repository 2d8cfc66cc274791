// Tensor-core matrix products through inline PTX mma.sync: NVIDIA's OpenCL compiler accepts
// `asm volatile` and passes it to ptxas. Other compilers reject the PTX, which is why the host
// offers these kernels only where a probe (-DPROBE below) compiles and gives exact results.
//
// Same product and argument list as gemm.cl: c = epilogue(op(a) x op(b)) over a batch.
//   half (A_HALF ...): operands stored half, moved around as raw 16-bit patterns (NVIDIA has no
//     cl_khr_fp16), multiplied by mma.m16n8k16 f16 with float accumulation.
//   -DTF32: operands stored float, rounded to TF32 (cvt.rna.tf32.f32) when they enter local
//     memory, multiplied by mma.m16n8k8 tf32 with float accumulation.
// Build options of the product kernel: -DBM -DBN (block tile), -DWARPS_M -DWARPS_N (warp grid;
// each warp computes a (BM / WARPS_M) x (BN / WARPS_N) sub-tile as m16 x n8 mma tiles), and how
// tiles are read from global memory:
//   -DA_VEC   a row-major (not transposed), 16-byte chunks along K (K, offset aligned)
//   -DB_VECT  b stored N x K (b_trans), 16-byte chunks along K
//   -DB_VECN  b stored K x N, 16-byte chunks along N, scattered into the K-contiguous tile
//   neither   element by element with the transposes as arguments (any shape and alignment)
//
// Both element types share one local-memory geometry: a tile row holds 16 32-bit words
// (32 halves, or 16 TF32 values) along K, padded to 20 words so that the fragment reads
// (8 rows x 4 words per warp) hit 32 distinct banks. a's tile is BM rows (M) and b's tile BN
// rows (N), both K-contiguous, which is the mma "row" layout of A and "col" layout of B.

#define GEMM_ARGUMENTS                                                                        \
  A_PTR a, long a_offset, long a_batch_stride, B_PTR b, long b_offset, long b_batch_stride,   \
      BIAS_PTR bias, long bias_offset, OUT_PTR c, long c_offset, int M, int N, int K,         \
      int a_trans, int b_trans, int has_bias, int activation, float alpha, float beta

// ---- The instructions ----------------------------------------------------------------------

// d += a x b for one m16 x n8 tile; d is float[4], a uint[4], b uint[2] (PTX ISA fragment
// layouts: groupID = lane / 4, threadID_in_group = lane % 4).
#define MMA_F16(d, a, b)                                                                       \
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 "                          \
               "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%10,%11,%12,%13};"                   \
               : "=f"((d)[0]), "=f"((d)[1]), "=f"((d)[2]), "=f"((d)[3])                      \
               : "r"((a)[0]), "r"((a)[1]), "r"((a)[2]), "r"((a)[3]), "r"((b)[0]), "r"((b)[1]), \
                 "f"((d)[0]), "f"((d)[1]), "f"((d)[2]), "f"((d)[3]))

#define MMA_TF32(d, a, b)                                                                      \
  asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 "                         \
               "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%10,%11,%12,%13};"                   \
               : "=f"((d)[0]), "=f"((d)[1]), "=f"((d)[2]), "=f"((d)[3])                      \
               : "r"((a)[0]), "r"((a)[1]), "r"((a)[2]), "r"((a)[3]), "r"((b)[0]), "r"((b)[1]), \
                 "f"((d)[0]), "f"((d)[1]), "f"((d)[2]), "f"((d)[3]))

// The TF32 bit pattern nearest to x (ties away from zero), low 13 bits cleared.
#ifdef MMA_EMULATE
inline uint to_tf32(float x) { return (as_uint(x) + 0x1000u) & 0xffffe000u; }
#else
inline uint to_tf32(float x) {
  uint result;
  asm volatile("cvt.rna.tf32.f32 %0, %1;" : "=r"(result) : "f"(x));
  return result;
}
#endif

#if defined(PROBE)
// One mma of each kind on known data, every fragment register read from and written to global
// memory by the documented layout, so that a wrong layout shows up as a wrong result too.
// f16: a 16 x 16 row-major, b 8 x 16 (N x K), d 16 x 8, as raw halves / floats.
// tf32: a 16 x 8 row-major floats, b 8 x 8 (N x K), d 16 x 8.
__kernel __attribute__((reqd_work_group_size(32, 1, 1)))
void mma_probe(__global const ushort* a16, __global const ushort* b16, __global float* d16,
               __global const float* a32, __global const float* b32, __global float* d32) {
  const int lane = get_local_id(0);
  const int group = lane >> 2, member = lane & 3;
  {
    uint fa[4], fb[2];
    float d[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (int r = 0; r < 4; ++r) {
      const int row = group + (r & 1) * 8, col = member * 2 + (r >> 1) * 8;
      fa[r] = (uint)a16[row * 16 + col] | ((uint)a16[row * 16 + col + 1] << 16);
    }
    for (int r = 0; r < 2; ++r) {
      const int k = member * 2 + r * 8;
      fb[r] = (uint)b16[group * 16 + k] | ((uint)b16[group * 16 + k + 1] << 16);
    }
    MMA_F16(d, fa, fb);
    for (int r = 0; r < 4; ++r) d16[(group + (r >> 1) * 8) * 8 + member * 2 + (r & 1)] = d[r];
  }
  {
    uint fa[4], fb[2];
    float d[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (int r = 0; r < 4; ++r) {
      const int row = group + (r & 1) * 8, col = member + (r >> 1) * 4;
      fa[r] = to_tf32(a32[row * 8 + col]);
    }
    for (int r = 0; r < 2; ++r) fb[r] = to_tf32(b32[group * 8 + member + r * 4]);
    MMA_TF32(d, fa, fb);
    for (int r = 0; r < 4; ++r) d32[(group + (r >> 1) * 8) * 8 + member * 2 + (r & 1)] = d[r];
  }
}

#elif defined(BM)

#define THREADS (32 * WARPS_M * WARPS_N)
#define WM (BM / WARPS_M)  // warp sub-tile
#define WN (BN / WARPS_N)
#define MT (WM / 16)  // mma tiles per warp
#define NT (WN / 8)
#define KW 16         // 32-bit words of a tile row
#define SW (KW + 4)   // padded row stride in words
#define CHUNKS_PER_ROW (KW / 4)
#define A_CHUNKS (BM * CHUNKS_PER_ROW / THREADS)  // 16-byte chunks each item moves per tile
#define B_CHUNKS (BN * CHUNKS_PER_ROW / THREADS)

#ifdef TF32
#define BK 16     // K per tile
#define CHUNK 4   // elements per 16-byte chunk
#define RAW_T float
#define MMA MMA_TF32
#define MMA_K 8
#else
#define BK 32
#define CHUNK 8
#define RAW_T ushort
#define MMA MMA_F16
#define MMA_K 16
#endif
#define RAW_PTR __global const RAW_T*

#ifdef MMA_EMULATE
// Tests only: the warp's mma computed in software through local memory, following the same
// PTX fragment layouts, so that the kernel's tiling, loads and epilogue can be checked on
// devices without tensor cores. Called by every item of the group at the same points.
inline float fragment_value(__local const uint* words, int lane, int reg, int index) {
#ifdef TF32
  return as_float(words[lane * 4 + reg]);
#else
  return vload_half((lane * 4 + reg) * 2 + index, (__local const half*)words);
#endif
}

inline void mma_emulate(float* d, const uint* a, const uint* b, __local uint* a_words,
                        __local uint* b_words, int lane) {
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int r = 0; r < 4; ++r) a_words[lane * 4 + r] = a[r];
  for (int r = 0; r < 2; ++r) b_words[lane * 4 + r] = b[r];
  barrier(CLK_LOCAL_MEM_FENCE);
  const int group = lane >> 2, member = lane & 3;
  for (int r = 0; r < 4; ++r) {
    const int row = group + (r >> 1) * 8, col = member * 2 + (r & 1);
    float sum = d[r];
    for (int k = 0; k < MMA_K; ++k) {
#ifdef TF32
      const float x = fragment_value(a_words, (row % 8) * 4 + k % 4, row / 8 + 2 * (k / 4), 0);
      const float y = fragment_value(b_words, col * 4 + k % 4, k / 4, 0);
#else
      const float x = fragment_value(a_words, (row % 8) * 4 + (k % 8) / 2, row / 8 + 2 * (k / 8), k % 2);
      const float y = fragment_value(b_words, col * 4 + (k % 8) / 2, k / 8, k % 2);
#endif
      sum = fma(x, y, sum);
    }
    d[r] = sum;
  }
}
#undef MMA
#define MMA(d, a, b) mma_emulate((d), (a), (b), emulate_a + warp * 128, emulate_b + warp * 128, lane)
#endif

inline float epilogue(float value, int n, BIAS_PTR bias, long bias_offset, int has_bias,
                      int activation, float alpha, float beta) {
  if (has_bias) value += LOAD_BIAS(bias, bias_offset + n);
  return activation < 0 ? value : activate(activation, value, alpha, beta);
}

// Element (r, k) of a matrix of `rows` x K stored row-major, or K x rows when `trans`; zero
// outside. The raw value: a 16-bit pattern, or a TF32 pattern.
inline uint element(RAW_PTR p, long offset, int rows, int K, int trans, int r, int k) {
  if (r >= rows || k >= K) return 0u;
  const long at = offset + (trans ? (long)k * rows + r : (long)r * K + k);
#ifdef TF32
  return to_tf32(p[at]);
#else
  return (uint)p[at];
#endif
}

// The 16-byte chunk of row r, elements k .. k + CHUNK - 1, as 4 words (general layout).
inline uint4 chunk_any(RAW_PTR p, long offset, int rows, int K, int trans, int r, int k) {
  uint w[4];
#pragma unroll
  for (int i = 0; i < 4; ++i) {
#ifdef TF32
    w[i] = element(p, offset, rows, K, trans, r, k + i);
#else
    w[i] = element(p, offset, rows, K, trans, r, k + 2 * i) |
           (element(p, offset, rows, K, trans, r, k + 2 * i + 1) << 16);
#endif
  }
  return (uint4)(w[0], w[1], w[2], w[3]);
}

// The same from a contiguous, 16-byte aligned run (zero when the row or the run is outside;
// the run is all inside or all outside because the contiguous extent is a multiple of CHUNK).
inline uint4 chunk_vec(RAW_PTR p, long at, bool inside) {
  if (!inside) return (uint4)(0u);
#ifdef TF32
  const float4 v = *(__global const float4*)(p + at);
  return (uint4)(to_tf32(v.x), to_tf32(v.y), to_tf32(v.z), to_tf32(v.w));
#else
  return *(__global const uint4*)(p + at);
#endif
}

__kernel __attribute__((reqd_work_group_size(THREADS, 1, 1)))
void gemm_mma(GEMM_ARGUMENTS) {
  __local uint a_tile[2][BM * SW] __attribute__((aligned(16)));
  __local uint b_tile[2][BN * SW] __attribute__((aligned(16)));
#ifdef MMA_EMULATE
  __local uint emulate_a[WARPS_M * WARPS_N * 128], emulate_b[WARPS_M * WARPS_N * 128];
#endif
  const int tid = get_local_id(0);
  const int lane = tid & 31, warp = tid >> 5;
  const int group = lane >> 2, member = lane & 3;
  const int warp_m = (warp / WARPS_N) * WM;
  const int warp_n = (warp % WARPS_N) * WN;
  const int m0 = get_group_id(1) * BM;
  const int n0 = get_group_id(0) * BN;
  const long batch = get_group_id(2);
  a_offset += batch * a_batch_stride;
  b_offset += batch * b_batch_stride;
  c_offset += batch * (long)M * N;
  RAW_PTR a_raw = (RAW_PTR)a;
  RAW_PTR b_raw = (RAW_PTR)b;

  float acc[MT][NT][4];
#pragma unroll
  for (int i = 0; i < MT; ++i)
#pragma unroll
    for (int j = 0; j < NT; ++j)
#pragma unroll
      for (int r = 0; r < 4; ++r) acc[i][j][r] = 0.0f;

  uint4 a_next[A_CHUNKS], b_next[B_CHUNKS];

// Global -> registers for the tile starting at k0.
#ifdef A_VEC
#define LOAD_A_TILE(k0)                                                                    \
  for (int q = 0; q < A_CHUNKS; ++q) {                                  \
    const int e = tid + q * THREADS, r = e / CHUNKS_PER_ROW;                              \
    const int k = (k0) + (e % CHUNKS_PER_ROW) * CHUNK;                                    \
    a_next[q] = chunk_vec(a_raw, a_offset + (long)(m0 + r) * K + k, m0 + r < M && k < K);  \
  }
#else
#define LOAD_A_TILE(k0)                                                                    \
  for (int q = 0; q < A_CHUNKS; ++q) {                                                    \
    const int e = tid + q * THREADS;                                                      \
    a_next[q] = chunk_any(a_raw, a_offset, M, K, a_trans, m0 + e / CHUNKS_PER_ROW,        \
                          (k0) + (e % CHUNKS_PER_ROW) * CHUNK);                           \
  }
#endif
#if defined(B_VECT)
#define LOAD_B_TILE(k0)                                                                    \
  for (int q = 0; q < B_CHUNKS; ++q) {                                  \
    const int e = tid + q * THREADS, r = e / CHUNKS_PER_ROW;                              \
    const int k = (k0) + (e % CHUNKS_PER_ROW) * CHUNK;                                    \
    b_next[q] = chunk_vec(b_raw, b_offset + (long)(n0 + r) * K + k, n0 + r < N && k < K);  \
  }
#elif defined(B_VECN)
#define B_CHUNKS_PER_K (BN / CHUNK)
#define LOAD_B_TILE(k0)                                                                    \
  for (int q = 0; q < B_CHUNKS; ++q) {                                  \
    const int e = tid + q * THREADS, k = (k0) + e / B_CHUNKS_PER_K;                       \
    const int n = n0 + (e % B_CHUNKS_PER_K) * CHUNK;                                      \
    b_next[q] = chunk_vec(b_raw, b_offset + (long)k * N + n, k < K && n < N);             \
  }
#else
#define LOAD_B_TILE(k0)                                                                    \
  for (int q = 0; q < B_CHUNKS; ++q) {                                                    \
    const int e = tid + q * THREADS;                                                      \
    b_next[q] = chunk_any(b_raw, b_offset, N, K, !b_trans, n0 + e / CHUNKS_PER_ROW,       \
                          (k0) + (e % CHUNKS_PER_ROW) * CHUNK);                           \
  }
#endif

// Registers -> local tile `buffer`.
#define STORE_A_TILE(buffer)                                                               \
  for (int q = 0; q < A_CHUNKS; ++q) {                                  \
    const int e = tid + q * THREADS;                                                      \
    *(__local uint4*)(&a_tile[buffer][(e / CHUNKS_PER_ROW) * SW + (e % CHUNKS_PER_ROW) * 4]) = \
        a_next[q];                                                                        \
  }
#ifdef B_VECN
// A chunk along N is one K position of CHUNK consecutive rows of b's tile.
#ifdef TF32
#define STORE_B_TILE(buffer)                                                               \
  for (int q = 0; q < B_CHUNKS; ++q) {                                  \
    const int e = tid + q * THREADS, k = e / B_CHUNKS_PER_K;                              \
    __local uint* at = &b_tile[buffer][(e % B_CHUNKS_PER_K) * CHUNK * SW + k];            \
    at[0] = b_next[q].x; at[SW] = b_next[q].y; at[2 * SW] = b_next[q].z; at[3 * SW] = b_next[q].w; \
  }
#else
#define STORE_B_TILE(buffer)                                                               \
  for (int q = 0; q < B_CHUNKS; ++q) {                                  \
    const int e = tid + q * THREADS, k = e / B_CHUNKS_PER_K;                              \
    __local ushort* at =                                                                  \
        (__local ushort*)&b_tile[buffer][(e % B_CHUNKS_PER_K) * CHUNK * SW] + k;          \
    const uint4 v = b_next[q];                                                            \
    at[0] = (ushort)v.x; at[2 * SW] = (ushort)(v.x >> 16);                                \
    at[4 * SW] = (ushort)v.y; at[6 * SW] = (ushort)(v.y >> 16);                           \
    at[8 * SW] = (ushort)v.z; at[10 * SW] = (ushort)(v.z >> 16);                          \
    at[12 * SW] = (ushort)v.w; at[14 * SW] = (ushort)(v.w >> 16);                         \
  }
#endif
#else
#define STORE_B_TILE(buffer)                                                               \
  for (int q = 0; q < B_CHUNKS; ++q) {                                  \
    const int e = tid + q * THREADS;                                                      \
    *(__local uint4*)(&b_tile[buffer][(e / CHUNKS_PER_ROW) * SW + (e % CHUNKS_PER_ROW) * 4]) = \
        b_next[q];                                                                        \
  }
#endif

  const int tiles = (K + BK - 1) / BK;
  if (tiles > 0) {
    LOAD_A_TILE(0)
    LOAD_B_TILE(0)
    STORE_A_TILE(0)
    STORE_B_TILE(0)
  }
  barrier(CLK_LOCAL_MEM_FENCE);

  for (int t = 0; t < tiles; ++t) {
    const int current = t & 1;
    const bool more = t + 1 < tiles;
    if (more) {
      LOAD_A_TILE((t + 1) * BK)
      LOAD_B_TILE((t + 1) * BK)
    }
    __local const uint* as = a_tile[current];
    __local const uint* bs = b_tile[current];
#pragma unroll
    for (int step = 0; step < 2; ++step) {  // two mma K steps per tile (16 halves / 8 TF32)
      uint fa[MT][4], fb[NT][2];
#pragma unroll
      for (int i = 0; i < MT; ++i) {
        const int at = (warp_m + i * 16 + group) * SW + step * 8 + member;
        fa[i][0] = as[at];
        fa[i][1] = as[at + 8 * SW];
        fa[i][2] = as[at + 4];
        fa[i][3] = as[at + 8 * SW + 4];
      }
#pragma unroll
      for (int j = 0; j < NT; ++j) {
        const int at = (warp_n + j * 8 + group) * SW + step * 8 + member;
        fb[j][0] = bs[at];
        fb[j][1] = bs[at + 4];
      }
#pragma unroll
      for (int i = 0; i < MT; ++i)
#pragma unroll
        for (int j = 0; j < NT; ++j) MMA(acc[i][j], fa[i], fb[j]);
    }
    if (more) {
      STORE_A_TILE(current ^ 1)
      STORE_B_TILE(current ^ 1)
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }

  // Epilogue: each item holds columns (2 * member, 2 * member + 1) of rows group and group + 8
  // of every mma tile; pairs are stored as one 32-bit (half) or 64-bit (float) word when the
  // output's rows keep them aligned.
  const bool pairs = (c_offset % 2 == 0) && (N % 2 == 0);
#pragma unroll
  for (int i = 0; i < MT; ++i) {
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int row = m0 + warp_m + i * 16 + group + h * 8;
      if (row >= M) continue;
#pragma unroll
      for (int j = 0; j < NT; ++j) {
        const int col = n0 + warp_n + j * 8 + member * 2;
        if (col >= N) continue;
        const long at = c_offset + (long)row * N + col;
        const float v0 = epilogue(acc[i][j][2 * h], col, bias, bias_offset, has_bias, activation, alpha, beta);
        if (col + 1 < N) {
          const float v1 =
              epilogue(acc[i][j][2 * h + 1], col + 1, bias, bias_offset, has_bias, activation, alpha, beta);
          if (pairs) {
#ifdef OUT_HALF
            vstorea_half2((float2)(v0, v1), at >> 1, c);
#else
            *(__global float2*)(c + at) = (float2)(v0, v1);
#endif
          } else {
            STORE_OUT(c, at, v0);
            STORE_OUT(c, at + 1, v1);
          }
        } else {
          STORE_OUT(c, at, v0);
        }
      }
    }
  }
}

#endif
