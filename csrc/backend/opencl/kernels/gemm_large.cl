// Large register-blocked GEMM for big products: c = epilogue(op(a) x op(b)), row-major, batched,
// the same contract and argument order as gemm_tiled in gemm.cl (GEMM_ARGUMENTS), with bias and
// activation fused into the store. The design, and why:
//   - A work-group of THREADS items computes a BM x BN block of c; each item keeps TM x TN
//     accumulators in registers, so every value read from local memory feeds TN (or TM) FMAs.
//   - op(a) and op(b) go through local memory BK deep, stored k-major (a_tile[k][m],
//     b_tile[k][n]) so the inner product reads them as float4: 4 values per local load.
//   - An item's TM rows are TM / 4 runs of 4 consecutive rows, the runs THREADS_M * 4 apart (the
//     same for columns): the float4 reads of neighbouring items are then consecutive (no bank
//     conflicts) and the stores of a warp cover contiguous columns of c.
//   - The 32 items of a warp cover a LANES_M x LANES_N block of the item grid (-DLANES_N; by
//     default a row of up to 32 items): the squarer the block, the fewer distinct local
//     addresses a warp's float4 reads touch per k (LANES_M of a plus LANES_N of b).
//   - Tiles are double-buffered: the next tile is fetched from global memory into registers
//     before the current one is multiplied, and written to the other local buffer afterwards, so
//     the global latency hides behind the FMAs and one barrier per tile suffices.
//   - Global loads read 4 consecutive elements along the operand's contiguous axis; with
//     -DVEC_A / -DVEC_B (the host checked the alignment) they are single 16-byte loads.
//   - Rows of a beyond M and columns of b beyond N are clamped to the last one instead of
//     tested: they only feed outputs that are never stored. Only k beyond K reads as zero.
// Build options: -DBM -DBN -DBK -DTM -DTN (tile sizes), -DLANES_N (warp shape), -DA_TRANS=0|1 -DB_TRANS=0|1 (compile-time
// transposes: the loaders differ, and a runtime branch would sit in the main loop), -DVEC_A
// -DVEC_B -DVEC_OUT (aligned 4-wide access), the storage options of common.cl, -DINDEX64.

#define THREADS_M (BM / TM)
#define THREADS_N (BN / TN)
#define THREADS (THREADS_M * THREADS_N)
#ifndef LANES_N
#define LANES_N (THREADS_N < 32 ? THREADS_N : 32)
#endif
#define LANES_M (32 / LANES_N)
// Local rows are padded by 4 floats: the transposing stores of a K-contiguous operand then
// land in different banks, and rows stay float4-aligned.
#define A_ROW4 ((BM + 4) / 4)
#define B_ROW4 ((BN + 4) / 4)
// float4 loads per item and per tile for each operand.
#define LOADS_A (BM * BK / 4 / THREADS)
#define LOADS_B (BN * BK / 4 / THREADS)

#if TM % 4 || TN % 4 || BK % 4 || BM % TM || BN % TN || (BM * BK / 4) % THREADS || \
    (BN * BK / 4) % THREADS || THREADS % 32 || THREADS_N % LANES_N || THREADS_M % LANES_M
#error "gemm_large: unsupported tile sizes"
#endif

// 4 elements at p[i..i+3], i a multiple of 4 (host-checked, as is the buffer's alignment). Half
// pointers are only ever indexed, never moved: core OpenCL allows no more without cl_khr_fp16.
#ifdef A_HALF
#define VLOAD4_A(p, i) vloada_half4((i) >> 2, (p))
#else
#define VLOAD4_A(p, i) (((__global const float4*)(p))[(i) >> 2])
#endif
#ifdef B_HALF
#define VLOAD4_B(p, i) vloada_half4((i) >> 2, (p))
#else
#define VLOAD4_B(p, i) (((__global const float4*)(p))[(i) >> 2])
#endif
#ifdef OUT_HALF
#define VSTORE4_OUT(p, i, v) vstorea_half4((v), (i) >> 2, (p))
#else
#define VSTORE4_OUT(p, i, v) (((__global float4*)(p))[(i) >> 2] = (v))
#endif

// Loaders of 4 consecutive elements along an operand's contiguous axis. An operand is an R x K
// matrix (R = M for a, N for b) stored either K-contiguous (x[r * K + k]) or R-contiguous
// (x[k * R + r]), starting at element `base`. r is clamped into the matrix; k >= K reads as 0.
#define DEFINE_LOADERS(X, PTR, LOAD, VLOAD4)                                                  \
  inline float4 load_k_contiguous_##X(PTR x, long base, int r, int k, int R, int K) {       \
    const long row = base + (idx_t)min(r, R - 1) * K;                                         \
    LOADERS_K_BODY_##X(x, row, k, K, LOAD, VLOAD4)                                            \
  }                                                                                           \
  inline float4 load_r_contiguous_##X(PTR x, long base, int r, int k, int R, int K) {       \
    if (k >= K) return (float4)(0.0f);                                                        \
    const long row = base + (idx_t)k * R;                                                     \
    LOADERS_R_BODY_##X(x, row, r, R, LOAD, VLOAD4)                                            \
  }

#define K_BODY_VEC(x, row, k, K, LOAD, VLOAD4) return k < K ? VLOAD4(x, row + k) : (float4)(0.0f);
#define K_BODY_SCALAR(x, row, k, K, LOAD, VLOAD4)                                    \
  return (float4)(k < K ? LOAD(x, row + k) : 0.0f, k + 1 < K ? LOAD(x, row + k + 1) : 0.0f,  \
                  k + 2 < K ? LOAD(x, row + k + 2) : 0.0f, k + 3 < K ? LOAD(x, row + k + 3) : 0.0f);
// Vector: R % 4 == 0, so a run of 4 is wholly inside or wholly clamped onto the last run.
#define R_BODY_VEC(x, row, r, R, LOAD, VLOAD4) return VLOAD4(x, row + min(r, R - 4));
#define R_BODY_SCALAR(x, row, r, R, LOAD, VLOAD4)                                      \
  return (float4)(LOAD(x, row + min(r, R - 1)), LOAD(x, row + min(r + 1, R - 1)),     \
                  LOAD(x, row + min(r + 2, R - 1)), LOAD(x, row + min(r + 3, R - 1)));

#ifdef VEC_A
#define LOADERS_K_BODY_A K_BODY_VEC
#define LOADERS_R_BODY_A R_BODY_VEC
#else
#define LOADERS_K_BODY_A K_BODY_SCALAR
#define LOADERS_R_BODY_A R_BODY_SCALAR
#endif
#ifdef VEC_B
#define LOADERS_K_BODY_B K_BODY_VEC
#define LOADERS_R_BODY_B R_BODY_VEC
#else
#define LOADERS_K_BODY_B K_BODY_SCALAR
#define LOADERS_R_BODY_B R_BODY_SCALAR
#endif

DEFINE_LOADERS(A, A_PTR, LOAD_A, VLOAD4_A)
DEFINE_LOADERS(B, B_PTR, LOAD_B, VLOAD4_B)

// a is K-contiguous unless transposed, b only when transposed (PyTorch's Linear weights).
#if A_TRANS
#define A_K_CONTIGUOUS 0
#else
#define A_K_CONTIGUOUS 1
#endif
#if B_TRANS
#define B_K_CONTIGUOUS 1
#else
#define B_K_CONTIGUOUS 0
#endif

// Which 4 elements load slot `slot` of item `lid` fetches from an R_TILE x BK tile: K-contiguous
// operands are read as rows of BK / 4 runs (a warp covers whole 32-byte sectors), R-contiguous
// ones as k-rows of R_TILE / 4 runs.
inline int2 slot_position(int slot, int lid, int r_tile, int k_contiguous) {
  const int e = slot * THREADS + lid;
  return k_contiguous ? (int2)(e / (BK / 4), e % (BK / 4) * 4)   // (r, k)
                      : (int2)(e % (r_tile / 4) * 4, e / (r_tile / 4));
}

// Stores 4 fetched elements into a k-major local tile: one float4 when they run along r, four
// scalars (the transpose) when they run along k.
inline void store_slot(__local float4* tile, int row4, int2 rk, int k_contiguous, float4 v) {
  if (k_contiguous) {
    __local float* t = (__local float*)tile;
    t[(rk.y + 0) * row4 * 4 + rk.x] = v.x;
    t[(rk.y + 1) * row4 * 4 + rk.x] = v.y;
    t[(rk.y + 2) * row4 * 4 + rk.x] = v.z;
    t[(rk.y + 3) * row4 * 4 + rk.x] = v.w;
  } else {
    tile[rk.y * row4 + rk.x / 4] = v;
  }
}

#define SPLIT4(dst, at, v) \
  dst[(at)] = (v).x; dst[(at) + 1] = (v).y; dst[(at) + 2] = (v).z; dst[(at) + 3] = (v).w;

__kernel __attribute__((reqd_work_group_size(THREADS, 1, 1)))
void gemm_large(A_PTR a, long a_offset, long a_batch_stride, B_PTR b, long b_offset,
                long b_batch_stride, BIAS_PTR bias, long bias_offset, OUT_PTR c, long c_offset,
                int M, int N, int K, int a_trans, int b_trans, int has_bias, int activation,
                float alpha, float beta) {
  (void)a_trans;  // compiled in as A_TRANS / B_TRANS; kept for the shared argument order
  (void)b_trans;
  __local float4 a_tile[2][BK * A_ROW4];
  __local float4 b_tile[2][BK * B_ROW4];
  const int lid = get_local_id(0);
  const int lane = lid % 32, warp = lid / 32;
  const int tx = warp % (THREADS_N / LANES_N) * LANES_N + lane % LANES_N;
  const int ty = warp / (THREADS_N / LANES_N) * LANES_M + lane / LANES_N;
  const int m0 = get_group_id(1) * BM;
  const int n0 = get_group_id(0) * BN;
  const long batch = get_group_id(2);
  // Where this batch entry's matrices start; inside a matrix, index arithmetic is idx_t.
  const long a_base = a_offset + batch * a_batch_stride;
  const long b_base = b_offset + batch * b_batch_stride;
  const long c_base = c_offset + batch * (long)M * N;

  int2 a_pos[LOADS_A], b_pos[LOADS_B];
  for (int s = 0; s < LOADS_A; ++s) a_pos[s] = slot_position(s, lid, BM, A_K_CONTIGUOUS);
  for (int s = 0; s < LOADS_B; ++s) b_pos[s] = slot_position(s, lid, BN, B_K_CONTIGUOUS);
  float4 a_next[LOADS_A], b_next[LOADS_B];

#define FETCH(k0)                                                                                   \
  for (int s = 0; s < LOADS_A; ++s) {                                                               \
    a_next[s] = A_K_CONTIGUOUS ? load_k_contiguous_A(a, a_base, m0 + a_pos[s].x, (k0) + a_pos[s].y, M, K)   \
                               : load_r_contiguous_A(a, a_base, m0 + a_pos[s].x, (k0) + a_pos[s].y, M, K);  \
  }                                                                                                 \
  for (int s = 0; s < LOADS_B; ++s) {                                                               \
    b_next[s] = B_K_CONTIGUOUS ? load_k_contiguous_B(b, b_base, n0 + b_pos[s].x, (k0) + b_pos[s].y, N, K)   \
                               : load_r_contiguous_B(b, b_base, n0 + b_pos[s].x, (k0) + b_pos[s].y, N, K);  \
  }
#define STORE(buffer)                                                                             \
  for (int s = 0; s < LOADS_A; ++s) store_slot(a_tile[buffer], A_ROW4, a_pos[s], A_K_CONTIGUOUS, a_next[s]); \
  for (int s = 0; s < LOADS_B; ++s) store_slot(b_tile[buffer], B_ROW4, b_pos[s], B_K_CONTIGUOUS, b_next[s]);

  float acc[TM][TN];
#pragma unroll
  for (int i = 0; i < TM; ++i)
#pragma unroll
    for (int j = 0; j < TN; ++j) acc[i][j] = 0.0f;

  const int tiles = (K + BK - 1) / BK;
  if (tiles > 0) {
    FETCH(0)
    STORE(0)
  }
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int t = 0; t < tiles; ++t) {
    const int buffer = t & 1;
    const bool more = t + 1 < tiles;
    if (more) {
      FETCH((t + 1) * BK)
    }
    __local const float4* at = a_tile[buffer];
    __local const float4* bt = b_tile[buffer];
#pragma unroll
    for (int kk = 0; kk < BK; ++kk) {
      float av[TM], bv[TN];
#pragma unroll
      for (int g = 0; g < TM / 4; ++g) {
        const float4 v = at[kk * A_ROW4 + g * THREADS_M + ty];
        SPLIT4(av, g * 4, v)
      }
#pragma unroll
      for (int g = 0; g < TN / 4; ++g) {
        const float4 v = bt[kk * B_ROW4 + g * THREADS_N + tx];
        SPLIT4(bv, g * 4, v)
      }
#pragma unroll
      for (int i = 0; i < TM; ++i)
#pragma unroll
        for (int j = 0; j < TN; ++j) acc[i][j] = fma(av[i], bv[j], acc[i][j]);
    }
    if (more) {
      STORE(buffer ^ 1)
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }
#undef FETCH
#undef STORE

  // Epilogue: bias + activation, then the store (4-wide where aligned and inside).
  float bias_values[TN];
#pragma unroll
  for (int j = 0; j < TN; ++j) {
    const int n = n0 + (j / 4) * THREADS_N * 4 + tx * 4 + j % 4;
    bias_values[j] = has_bias && n < N ? LOAD_BIAS(bias, bias_offset + n) : 0.0f;
  }
#pragma unroll
  for (int i = 0; i < TM; ++i) {
    const int m = m0 + (i / 4) * THREADS_M * 4 + ty * 4 + i % 4;
    if (m >= M) continue;
#pragma unroll
    for (int g = 0; g < TN / 4; ++g) {
      const int n = n0 + g * THREADS_N * 4 + tx * 4;
      float v[4];
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const float x = acc[i][g * 4 + j] + bias_values[g * 4 + j];
        v[j] = activation < 0 ? x : activate(activation, x, alpha, beta);
      }
      const long row = c_base + (idx_t)m * N;
#ifdef VEC_OUT
      // N % 4 == 0: the run is wholly inside or wholly outside. No scalar path: each store
      // written out costs compile time (a half store is a long conversion, unrolled TM x TN times).
      if (n < N) VSTORE4_OUT(c, row + n, ((float4)(v[0], v[1], v[2], v[3])));
#else
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        if (n + j < N) STORE_OUT(c, row + n + j, v[j]);
      }
#endif
    }
  }
}
