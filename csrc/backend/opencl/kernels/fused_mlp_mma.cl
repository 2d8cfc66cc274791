// A whole chain of dense layers in one kernel on tensor cores (HALF engines on NVIDIA, where the
// tensor-core probe of gemm_mma.cpp passes): y = f_S(... f_0(x W0^T + b0) ...).
//
// A work-group of WARPS warps owns ROWS rows. Their activations stay in local memory as half,
// one buffer of ROWS rows, rewritten in place by each layer (a barrier between the last read
// and the first write). Per layer, warp w computes all ROWS rows of its column slice (NT tiles
// of 8 columns) with mma.m16n8k16 (f16 inputs, float accumulation); each weight is read by one
// warp of the group only, so the weights (N x K, the mma "col" operand) go straight from
// global memory (L2 holds them) into registers, DEPTH K chunks ahead of their use and across
// layer boundaries (the next layer's first chunks load during this one's epilogue). Bias,
// activation and the conversion to half happen in registers; the last layer writes y.
//
// The first layer's input x (float or half, any width K0) is staged into the same buffer in
// chunks of CW0 columns (stride LS0 words); hidden layers use stride LS words. Strides are
// 16 (mod 32) words so that the 16-byte fragment reads of a quarter warp (2 rows x 64 bytes)
// hit distinct banks.
//
// K order: within each 32-wide K chunk, lane `member` reads halves 8 member .. 8 member + 7 of
// its row as one 16-byte load, and the two mma K steps of the chunk take words (0, 1) and
// (2, 3) of it. That permutes K identically for activations and weights, so the sums are
// unchanged and every load is 16 bytes.
//
// Build options: -DSTAGES, -DROWS (multiple of 16), -DWARPS, -DNT (column tiles per warp and
// pass), -DDEPTH (weight chunks in flight per warp), -DLS / -DLS0 / -DCW0 (see above), -DLW
// (columns of hidden activations kept), and per
// stage i: -DK<i> -DN<i> -DBIAS<i> -DACT<i> -DALPHA<i> -DBETA<i> -DWVEC<i> (16-byte weight
// loads: K multiple of 8 and offset aligned); -DIN_HALF, -DOUT_HALF, -DBIAS_HALF;
// -DMMA_EMULATE (tests: the mma in software, same fragment layouts, on any device).

#define THREADS (32 * WARPS)
#define MT (ROWS / 16)
#define PASS_COLS (WARPS * NT * 8)
#define W_PTR __global const ushort*

#ifdef MMA_EMULATE
#define UNROLL
#else
#define UNROLL _Pragma("unroll")
#endif

#ifdef MMA_EMULATE
// The warp's m16n8k16 product in software: fragments through local memory (each warp its own
// 128-word slots for a and b), then every lane sums its four results by the PTX ISA layouts
// (groupID = lane / 4, threadID_in_group = lane % 4). Every item of the group calls it at the
// same points.
inline float emulated_half(__local const uint* words, int lane, int reg, int high) {
  return vload_half((lane * 4 + reg) * 2 + high, (__local const half*)words);
}

inline void mma_emulate(float* d, const uint* a, const uint* b, __local uint* a_words, __local uint* b_words,
                        int lane) {
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int r = 0; r < 4; ++r) a_words[lane * 4 + r] = a[r];
  for (int r = 0; r < 2; ++r) b_words[lane * 4 + r] = b[r];
  barrier(CLK_LOCAL_MEM_FENCE);
  const int group = lane >> 2, member = lane & 3;
  for (int r = 0; r < 4; ++r) {
    const int row = group + (r >> 1) * 8, col = member * 2 + (r & 1);
    float sum = d[r];
    for (int k = 0; k < 16; ++k) {
      // a: register (row / 8) + 2 (k / 8) of lane 4 (row % 8) + (k % 8) / 2, half k % 2.
      const float x = emulated_half(a_words, (row % 8) * 4 + (k % 8) / 2, row / 8 + 2 * (k / 8), k % 2);
      // b: register k / 8 of lane 4 col + (k % 8) / 2, half k % 2.
      const float y = emulated_half(b_words, col * 4 + (k % 8) / 2, k / 8, k % 2);
      sum = fma(x, y, sum);
    }
    d[r] = sum;
  }
}
#define MMA(d, a, b) mma_emulate((d), (a), (b), emulate_a + warp * 128, emulate_b + warp * 128, lane)
#else
// The instruction the probe in gemm_mma.cl checks (MMA_F16 there).
#define MMA(d, a, b)                                                                           \
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 "                          \
               "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%10,%11,%12,%13};"                   \
               : "=f"((d)[0]), "=f"((d)[1]), "=f"((d)[2]), "=f"((d)[3])                      \
               : "r"((a)[0]), "r"((a)[1]), "r"((a)[2]), "r"((a)[3]), "r"((b)[0]), "r"((b)[1]), \
                 "f"((d)[0]), "f"((d)[1]), "f"((d)[2]), "f"((d)[3]))
#endif

// Halves k .. k + 7 of weight row n (N x K at w + w_offset), zero outside the matrix or past
// k_end; raw 16-bit patterns, two to a word.
inline uint4 weight_chunk(W_PTR w, long w_offset, int N, int K, int vec, int n, int k, int k_end) {
  if (n >= N || k >= k_end || k >= K) return (uint4)(0u);
  const long at = w_offset + (long)n * K + k;
  if (vec) return *(__global const uint4*)(w + at);
  uint word[4];
  for (int i = 0; i < 4; ++i) {
    const uint lo = k + 2 * i < K ? (uint)w[at + 2 * i] : 0u;
    const uint hi = k + 2 * i + 1 < K ? (uint)w[at + 2 * i + 1] : 0u;
    word[i] = lo | (hi << 16);
  }
  return (uint4)(word[0], word[1], word[2], word[3]);
}

// Copies x[row0 .., k0 .. k0 + CW0) into the buffer as half (stride LS0), zero past the
// group's rows and past K.
inline void stage_input(IN_PTR x, long x_offset, int K, int k0, int row0, int rows, __local uint* buffer) {
  const int tid = get_local_id(0);
  for (int e = tid; e < ROWS * (CW0 / 8); e += THREADS) {
    const int r = e / (CW0 / 8), c = e % (CW0 / 8);
    const int k = k0 + c * 8;
    float8 v = (float8)(0.0f);
    if (r < rows) {
      const long at = x_offset + (long)(row0 + r) * K + k;
      if (k + 8 <= K) {
#ifdef IN_HALF
        v = vload_half8(0, x + at);
#else
        v = vload8(0, x + at);
#endif
      } else {
        float f[8];
        for (int i = 0; i < 8; ++i) f[i] = k + i < K ? LOAD_IN(x, at + i) : 0.0f;
        v = (float8)(f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7]);
      }
    }
    vstore_half8(v, (r * LS0) / 4 + c, (__local half*)buffer);
  }
}

// Adds one 32-wide K chunk to the accumulators: activations from the buffer at word column
// `col` (stride `stride`), weights `b` as loaded by weight_chunk for this warp's tiles.
#define MMA_CHUNK(col, stride, b)                                                              \
  UNROLL for (int i = 0; i < MT; ++i) {                                                        \
    const int at = (i * 16 + group) * (stride) + (col) + member * 4;                          \
    const uint4 lo = *(__local const uint4*)(buffer + at);                                    \
    const uint4 hi = *(__local const uint4*)(buffer + at + 8 * (stride));                     \
    const uint a0[4] = {lo.x, hi.x, lo.y, hi.y};                                              \
    const uint a1[4] = {lo.z, hi.z, lo.w, hi.w};                                              \
    UNROLL for (int j = 0; j < NT; ++j) {                                                     \
      if (TILE_LIVE(j)) {                                                                     \
        const uint b0[2] = {b[j].x, b[j].y};                                                  \
        const uint b1[2] = {b[j].z, b[j].w};                                                  \
        MMA(acc[i][j], a0, b0);                                                               \
        MMA(acc[i][j], a1, b1);                                                               \
      }                                                                                       \
    }                                                                                         \
  }

#ifdef MMA_EMULATE
#define TILE_LIVE(j) 1  // every item must reach every emulated mma (barriers inside)
#else
#define TILE_LIVE(j) (n_warp + (j) * 8 < N)
#endif

// The weights of one stage as the loads see them.
typedef struct {
  long offset;
  int N, K, vec;
} weight_source;

inline weight_source source_of(long offset, int N, int K, int vec) {
  weight_source source;
  source.offset = offset;
  source.N = N;
  source.K = K;
  source.vec = vec;
  return source;
}

// Ring slot `slot` <- this warp's tiles of K chunk k (columns from n_warp) of `source`.
#define LOAD_SLOT(slot, source, n_first, k, k_end)                                              \
  UNROLL for (int j = 0; j < NT; ++j) {                                                         \
    ring[slot][j] = weight_chunk(w, (source).offset, (source).N, (source).K, (source).vec,      \
                                 (n_first) + j * 8 + group, (k) + member * 8, k_end);           \
  }

// One layer. `first`: the input is x (staged chunk by chunk); `last`: the output goes to y.
// Weights stream through `ring`, DEPTH register sets of one 32-wide K chunk each, every chunk
// loaded DEPTH chunks before its use. `ready`: the ring already holds this layer's first DEPTH
// chunks. When the layer's chunk count is a multiple of DEPTH, the loads past its end fetch the
// next layer's first chunks (`next`) instead, so that they fly during the epilogue and the
// barriers; returns whether it did.
inline int mlp_mma_stage(const int K, const int N, const int first, const int last, W_PTR w, weight_source self,
                         weight_source next, const int ready, uint4 ring[DEPTH][NT], BIAS_PTR bias,
                         long b_offset, const int has_bias, const int act, const float alpha, const float beta,
                         IN_PTR x, long x_offset, OUT_PTR y, long y_offset, const int row0, const int rows,
                         __local uint* buffer
#ifdef MMA_EMULATE
                         , __local uint* emulate_a, __local uint* emulate_b
#endif
) {
  const int tid = get_local_id(0);
  const int lane = tid & 31, warp = tid >> 5;
  const int group = lane >> 2, member = lane & 3;
  const int padded_k = (K + 31) / 32 * 32;
  const int chunk = first ? CW0 : padded_k;
  const int stride = first ? LS0 : LS;
  int chained = 0;
  for (int pass = 0; pass < N; pass += PASS_COLS) {
    const int n_warp = pass + warp * NT * 8;
    float acc[MT][NT][4];
    UNROLL for (int i = 0; i < MT; ++i) UNROLL for (int j = 0; j < NT; ++j) UNROLL for (int r = 0; r < 4; ++r)
        acc[i][j][r] = 0.0f;
    for (int k0 = 0; k0 < padded_k; k0 += chunk) {
      const int k_end = min(k0 + chunk, padded_k);
      const int chunks = (k_end - k0) / 32;
      // The last K range of the last pass, chunk count a multiple of DEPTH: chain into `next`.
      const int chain = !last && pass + PASS_COLS >= N && k_end == padded_k && chunks % DEPTH == 0;
      if (first) {
        barrier(CLK_LOCAL_MEM_FENCE);  // the previous chunk (or pass) is read
        stage_input(x, x_offset, K, k0, row0, rows, buffer);
        barrier(CLK_LOCAL_MEM_FENCE);
      }
      if (!(ready && pass == 0 && k0 == 0)) {
        UNROLL for (int slot = 0; slot < DEPTH; ++slot) LOAD_SLOT(slot, self, n_warp, k0 + 32 * slot, k_end)
      }
      for (int c = 0; c < chunks; c += DEPTH) {
        UNROLL for (int slot = 0; slot < DEPTH; ++slot) {
          if (c + slot < chunks) {
            MMA_CHUNK((c + slot) * 16, stride, ring[slot])
            const int ahead = c + slot + DEPTH;
            if (ahead < chunks) {
              LOAD_SLOT(slot, self, n_warp, k0 + 32 * ahead, k_end)
            } else if (chain) {
              const int next_k = (ahead - chunks) * 32;
              LOAD_SLOT(slot, next, warp * NT * 8, next_k, (next.K + 31) / 32 * 32)
            }
          }
        }
      }
      chained = chain;
    }
    if (!last) barrier(CLK_LOCAL_MEM_FENCE);  // every warp has read the layer's input
    // Each item holds columns (2 member, 2 member + 1) of rows group and group + 8 of each tile.
    UNROLL for (int j = 0; j < NT; ++j) {
      const int col = n_warp + j * 8 + member * 2;
      const float bias0 = has_bias && col < N ? LOAD_BIAS(bias, b_offset + col) : 0.0f;
      const float bias1 = has_bias && col + 1 < N ? LOAD_BIAS(bias, b_offset + col + 1) : 0.0f;
      UNROLL for (int i = 0; i < MT; ++i) {
        UNROLL for (int h = 0; h < 2; ++h) {
          const int row = i * 16 + group + h * 8;
          float v0 = acc[i][j][2 * h] + bias0, v1 = acc[i][j][2 * h + 1] + bias1;
          if (act >= 0) {
            v0 = activate(act, v0, alpha, beta);
            v1 = activate(act, v1, alpha, beta);
          }
          if (last) {
            if (row < rows) {
              const long at = y_offset + (long)(row0 + row) * N + col;
              if (col < N) STORE_OUT(y, at, v0);
              if (col + 1 < N) STORE_OUT(y, at + 1, v1);
            }
          } else if (col < LW) {
            // Columns past N (up to the next layer's padded K) get finite values its zero weights cancel.
            vstore_half2((float2)(v0, v1), row * LS + col / 2, (__local half*)buffer);
          }
        }
      }
    }
    if (!last) barrier(CLK_LOCAL_MEM_FENCE);  // the next layer reads the whole output
  }
  return chained;
}

#ifdef MMA_EMULATE
#define EMULATE_ARGUMENTS , emulate_a, emulate_b
#else
#define EMULATE_ARGUMENTS
#endif

// Stage i's weights; stage i + 1's (or none) for the chained loads.
#define SOURCE(i) source_of(w##i, N##i, K##i, WVEC##i)
#define STAGE(i, next)                                                                          \
  ready = mlp_mma_stage(K##i, N##i, (i) == 0, (i) == STAGES - 1, weights, SOURCE(i), next, ready, ring,   \
                        weights_bias, b##i, BIAS##i, ACT##i, ALPHA##i, BETA##i, x, x_offset, y, y_offset, row0, \
                        rows, buffer EMULATE_ARGUMENTS)
#define NO_SOURCE source_of(0, 0, 0, 0)

__kernel __attribute__((reqd_work_group_size(THREADS, 1, 1)))
void fused_mlp_mma(IN_PTR x, long x_offset, OUT_PTR y, long y_offset, W_PTR weights, BIAS_PTR weights_bias,
                   long w0, long b0, long w1, long b1, long w2, long b2, long w3, long b3, long w4, long b4,
                   long w5, long b5, long w6, long b6, long w7, long b7, int total_rows) {
  __local uint buffer[ROWS * (LS > LS0 ? LS : LS0)] __attribute__((aligned(16)));
#ifdef MMA_EMULATE
  __local uint emulate_a[WARPS * 128], emulate_b[WARPS * 128];
#endif
  const int row0 = get_group_id(0) * ROWS;
  const int rows = min(ROWS, total_rows - row0);
  uint4 ring[DEPTH][NT];
  int ready = 0;
#if STAGES > 1
  STAGE(0, SOURCE(1));
#else
  STAGE(0, NO_SOURCE);
#endif
#if STAGES > 2
  STAGE(1, SOURCE(2));
#elif STAGES > 1
  STAGE(1, NO_SOURCE);
#endif
#if STAGES > 3
  STAGE(2, SOURCE(3));
#elif STAGES > 2
  STAGE(2, NO_SOURCE);
#endif
#if STAGES > 4
  STAGE(3, SOURCE(4));
#elif STAGES > 3
  STAGE(3, NO_SOURCE);
#endif
#if STAGES > 5
  STAGE(4, SOURCE(5));
#elif STAGES > 4
  STAGE(4, NO_SOURCE);
#endif
#if STAGES > 6
  STAGE(5, SOURCE(6));
#elif STAGES > 5
  STAGE(5, NO_SOURCE);
#endif
#if STAGES > 7
  STAGE(6, SOURCE(7));
#elif STAGES > 6
  STAGE(6, NO_SOURCE);
#endif
#if STAGES > 7
  STAGE(7, NO_SOURCE);
#endif
  (void)ready;
}
