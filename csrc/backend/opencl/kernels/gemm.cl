// Matrix products c = epilogue(op(a) x op(b)) over a batch, with the epilogue (bias per output
// column, then an activation) fused into the store. Row-major: a is M x K (K x M when a_trans),
// b is K x N (N x K when b_trans), c is M x N; each operand's batch stride may be 0 (one matrix
// shared by the whole batch). Transposes, bias and activation are uniform kernel arguments, not
// build options: each option set is a compile, and the branches they control sit outside the
// inner loop. The build options select the kernel and its tile sizes:
//   -DWPT_M -DWPT_N -DTILE_K    gemm_tiled: register-tiled, local-memory blocked
//   -DSMALL_ROWS                gemm_small: few rows (M <= SMALL_ROWS per pass), split K
//   -DSMALL_VEC4                with SMALL_ROWS: 4 neighbouring columns of a K x N b per item
//   -DSMALL_VEC8                with SMALL_ROWS and B_HALF: 8 of them (16 bytes of half weights)
//   -DSMALL_KVEC=4|8            with SMALL_ROWS, b N x K: 4 (float) or 8 (half) neighbouring values
//                               of K of b's row (and of a's rows) per load
//   -DSMALL_THREADS=N           with SMALL_ROWS: items per work-group (256 unless set)
//   -DEPILOGUE_ONLY             gemm_epilogue: bias + activation in place (after CLBlast)

#define GEMM_ARGUMENTS                                                                        \
  A_PTR a, long a_offset, long a_batch_stride, B_PTR b, long b_offset, long b_batch_stride,   \
      BIAS_PTR bias, long bias_offset, OUT_PTR c, long c_offset, int M, int N, int K,         \
      int a_trans, int b_trans, int has_bias, int activation, float alpha, float beta

inline long a_index(int m, int k, int M, int K, int a_trans) {
  return a_trans ? (long)k * M + m : (long)m * K + k;
}

inline long b_index(int k, int n, int N, int K, int b_trans) {
  return b_trans ? (long)n * K + k : (long)k * N + n;
}

inline float epilogue(float value, int n, BIAS_PTR bias, long bias_offset, int has_bias,
                      int activation, float alpha, float beta) {
  if (has_bias) value += LOAD_BIAS(bias, bias_offset + n);
  return activation < 0 ? value : activate(activation, value, alpha, beta);
}

#if defined(WPT_M)
// Work-group of GROUP_N x GROUP_M items computes a TILE_M x TILE_N block of c; each item keeps
// WPT_M x WPT_N accumulators in registers, for rows ty + i * GROUP_M and columns tx + j * GROUP_N
// (strided so that stores coalesce and local-memory reads do not conflict). Tiles of a and b go
// through local memory TILE_K deep, loaded along whichever axis is contiguous in global memory.
#ifndef GROUP_M
#define GROUP_M 16
#endif
#ifndef GROUP_N
#define GROUP_N 16
#endif
#define TILE_M (GROUP_M * WPT_M)
#define TILE_N (GROUP_N * WPT_N)
#define THREADS (GROUP_M * GROUP_N)

__kernel __attribute__((reqd_work_group_size(GROUP_N, GROUP_M, 1)))
void gemm_tiled(GEMM_ARGUMENTS) {
  __local float a_tile[TILE_K][TILE_M];
  __local float b_tile[TILE_K][TILE_N];
  const int tx = get_local_id(0);
  const int ty = get_local_id(1);
  const int thread = ty * GROUP_N + tx;
  const int m0 = get_group_id(1) * TILE_M;
  const int n0 = get_group_id(0) * TILE_N;
  const long batch = get_group_id(2);
  a_offset += batch * a_batch_stride;
  b_offset += batch * b_batch_stride;
  c_offset += batch * (long)M * N;

  float accumulators[WPT_M][WPT_N];
  for (int i = 0; i < WPT_M; ++i)
    for (int j = 0; j < WPT_N; ++j) accumulators[i][j] = 0.0f;

  for (int k0 = 0; k0 < K; k0 += TILE_K) {
    for (int e = thread; e < TILE_M * TILE_K; e += THREADS) {
      const int mm = a_trans ? e % TILE_M : e / TILE_K;
      const int kk = a_trans ? e / TILE_M : e % TILE_K;
      const int m = m0 + mm, k = k0 + kk;
      a_tile[kk][mm] = (m < M && k < K) ? LOAD_A(a, a_offset + a_index(m, k, M, K, a_trans)) : 0.0f;
    }
    for (int e = thread; e < TILE_N * TILE_K; e += THREADS) {
      const int nn = b_trans ? e / TILE_K : e % TILE_N;
      const int kk = b_trans ? e % TILE_K : e / TILE_N;
      const int n = n0 + nn, k = k0 + kk;
      b_tile[kk][nn] = (n < N && k < K) ? LOAD_B(b, b_offset + b_index(k, n, N, K, b_trans)) : 0.0f;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int kk = 0; kk < TILE_K; ++kk) {
      float a_values[WPT_M], b_values[WPT_N];
      for (int i = 0; i < WPT_M; ++i) a_values[i] = a_tile[kk][ty + i * GROUP_M];
      for (int j = 0; j < WPT_N; ++j) b_values[j] = b_tile[kk][tx + j * GROUP_N];
      for (int i = 0; i < WPT_M; ++i)
        for (int j = 0; j < WPT_N; ++j)
          accumulators[i][j] = fma(a_values[i], b_values[j], accumulators[i][j]);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }

  for (int i = 0; i < WPT_M; ++i) {
    const int m = m0 + ty + i * GROUP_M;
    if (m >= M) continue;
    for (int j = 0; j < WPT_N; ++j) {
      const int n = n0 + tx + j * GROUP_N;
      if (n >= N) continue;
      const float value =
          epilogue(accumulators[i][j], n, bias, bias_offset, has_bias, activation, alpha, beta);
      STORE_OUT(c, c_offset + (long)m * N + n, value);
    }
  }
}

#elif defined(SMALL_ROWS)
// For a handful of rows (MLP layers at batch 1..8), where tiles would sit mostly empty and the
// product is bound by reading b once. A work-group of SMALL_THREADS items covers
// SMALL_THREADS / split columns for SMALL_ROWS rows; the `split` items of a column share its K
// range and add their partial sums in local memory. The host picks split so that neighbouring
// items read neighbouring addresses of b: along K when b_trans (b is N x K), else along N.
#ifndef SMALL_THREADS
#define SMALL_THREADS 256
#endif

// -DSMALL_VEC4 (b K x N, not transposed; N, b's offset and batch stride multiples of 4, which the
// host checks): each item reads 4 neighbouring columns of b's row in one load, so a warp streams 512
// bytes of weights per step instead of 128 (a batch-1 layer is bound by those bytes in flight).
inline float lane_of4(float4 v, int w) { return w == 0 ? v.s0 : w == 1 ? v.s1 : w == 2 ? v.s2 : v.s3; }
// -DSMALL_VEC8 (half b, as SMALL_VEC4 with multiples of 8): 16 bytes of weights per load, as
// SMALL_VEC4 reads of float ones; with 4 half columns a batch-1 FP16 layer streamed its weights at
// half the rate of an FP32 one (bench/RESULTS.md, issue 16 run 2).
#if defined(SMALL_VEC8)
#define SMALL_WIDTH 8
typedef float8 small_t;
#define LOAD_SMALL_B(k, n) vloada_half8((b_offset + (long)(k) * N + (n)) >> 3, b)
inline float small_lane(float8 v, int w) { return w < 4 ? lane_of4(v.lo, w) : lane_of4(v.hi, w - 4); }
#elif defined(SMALL_VEC4)
#define SMALL_WIDTH 4
typedef float4 small_t;
#ifdef B_HALF
#define LOAD_SMALL_B(k, n) vloada_half4((b_offset + (long)(k) * N + (n)) >> 2, b)
#else
#define LOAD_SMALL_B(k, n) (((__global const float4*)b)[(b_offset + (long)(k) * N + (n)) >> 2])
#endif
inline float small_lane(float4 v, int w) { return lane_of4(v, w); }
#else
#define SMALL_WIDTH 1
typedef float small_t;
#define LOAD_SMALL_B(k, n) LOAD_B(b, b_offset + b_index(k, n, N, K, b_trans))
inline float small_lane(float v, int w) { return v; }
#endif

// -DSMALL_KVEC (b N x K, as PyTorch's Linear weights stay in FP16 engines; a not transposed; K, b's
// offset and batch stride multiples of SMALL_KVEC, which the host checks): items read b's row along
// K, SMALL_KVEC values (16 bytes) per load instead of one, and a's rows as many at once.
#if SMALL_KVEC == 8  // half b only (16 bytes); float b reads 4
typedef float8 kvec_t;
#define LOAD_KVEC_B(i) vloada_half8((i) >> 3, b)
#ifdef A_HALF
#define LOAD_KVEC_A(i) vload_half8(0, a + (i))
#else
#define LOAD_KVEC_A(i) vload8(0, a + (i))
#endif
inline float kvec_dot(float8 x, float8 y) { return dot(x.lo, y.lo) + dot(x.hi, y.hi); }
#elif SMALL_KVEC == 4
typedef float4 kvec_t;
#ifdef B_HALF
#define LOAD_KVEC_B(i) vloada_half4((i) >> 2, b)
#else
#define LOAD_KVEC_B(i) (((__global const float4*)b)[(i) >> 2])
#endif
#ifdef A_HALF
#define LOAD_KVEC_A(i) vload_half4(0, a + (i))
#else
#define LOAD_KVEC_A(i) vload4(0, a + (i))
#endif
inline float kvec_dot(float4 x, float4 y) { return dot(x, y); }
#endif

// -DSMALL_SPLIT: the third range axis also splits K into `slices` chunks of k_chunk across
// work-groups (a batch-1 layer of few columns is too few work-groups to stream its weights at the
// memory's speed); each stores its raw partial sums as floats, slice after slice, in `slice_partials`,
// and gemm_small_finish adds them in slice order and applies the epilogue.
__kernel __attribute__((reqd_work_group_size(SMALL_THREADS, 1, 1)))
void gemm_small(GEMM_ARGUMENTS, int split
#ifdef SMALL_SPLIT
                , int slices, int k_chunk, __global float* slice_partials, long partials_offset
#endif
) {
  __local small_t partials[SMALL_ROWS][SMALL_THREADS];
  const int lid = get_local_id(0);
  const int columns = SMALL_THREADS / split;
  const int column = b_trans ? lid / split : lid % columns;
  const int part = b_trans ? lid % split : lid / columns;
  const int n = (get_group_id(0) * columns + column) * SMALL_WIDTH;
  const int m0 = get_group_id(1) * SMALL_ROWS;
#ifdef SMALL_SPLIT
  const long batch = get_group_id(2) / slices;
  const int slice = get_group_id(2) % slices;
  const int k_begin = slice * k_chunk, k_end = min(K, k_begin + k_chunk);
#else
  const long batch = get_group_id(2);
  const int k_begin = 0, k_end = K;
#endif
  a_offset += batch * a_batch_stride;
  b_offset += batch * b_batch_stride;
  c_offset += batch * (long)M * N;
  const int rows = min(SMALL_ROWS, M - m0);

  small_t accumulators[SMALL_ROWS];
  for (int i = 0; i < SMALL_ROWS; ++i) accumulators[i] = (small_t)(0.0f);
  if (n < N) {
#ifdef SMALL_KVEC
    // The `split` items of column n read its row of b along K, SMALL_KVEC values each, side by side;
    // k_begin and k_end are multiples of SMALL_KVEC, so every vector lies inside the range.
    const int step = split * SMALL_KVEC;
    const long b_row = b_offset + (long)n * K;
    int k = k_begin + part * SMALL_KVEC;
    for (; k + 3 * step < k_end; k += 4 * step) {
      const kvec_t b0 = LOAD_KVEC_B(b_row + k), b1 = LOAD_KVEC_B(b_row + k + step);
      const kvec_t b2 = LOAD_KVEC_B(b_row + k + 2 * step), b3 = LOAD_KVEC_B(b_row + k + 3 * step);
      for (int i = 0; i < SMALL_ROWS; ++i) {
        if (i < rows) {
          const long a_row = a_offset + (long)(m0 + i) * K + k;
          accumulators[i] += kvec_dot(LOAD_KVEC_A(a_row), b0) + kvec_dot(LOAD_KVEC_A(a_row + step), b1) +
                             kvec_dot(LOAD_KVEC_A(a_row + 2 * step), b2) +
                             kvec_dot(LOAD_KVEC_A(a_row + 3 * step), b3);
        }
      }
    }
    for (; k < k_end; k += step) {
      const kvec_t b_value = LOAD_KVEC_B(b_row + k);
      for (int i = 0; i < SMALL_ROWS; ++i) {
        if (i < rows) accumulators[i] += kvec_dot(LOAD_KVEC_A(a_offset + (long)(m0 + i) * K + k), b_value);
      }
    }
#else
    int k = k_begin + part;
    // Four loads of b issued before their products: four times the bytes in flight per item, which
    // is what bounds a batch-1 layer (its weights are read once). Then the remainder one by one.
    for (; k + 3 * split < k_end; k += 4 * split) {
      const small_t b0 = LOAD_SMALL_B(k, n), b1 = LOAD_SMALL_B(k + split, n);
      const small_t b2 = LOAD_SMALL_B(k + 2 * split, n), b3 = LOAD_SMALL_B(k + 3 * split, n);
      for (int i = 0; i < SMALL_ROWS; ++i) {
        if (i < rows) {
          small_t sum = accumulators[i];
          sum = fma((small_t)(LOAD_A(a, a_offset + a_index(m0 + i, k, M, K, a_trans))), b0, sum);
          sum = fma((small_t)(LOAD_A(a, a_offset + a_index(m0 + i, k + split, M, K, a_trans))), b1, sum);
          sum = fma((small_t)(LOAD_A(a, a_offset + a_index(m0 + i, k + 2 * split, M, K, a_trans))), b2, sum);
          accumulators[i] = fma((small_t)(LOAD_A(a, a_offset + a_index(m0 + i, k + 3 * split, M, K, a_trans))), b3, sum);
        }
      }
    }
    for (; k < k_end; k += split) {
      const small_t b_value = LOAD_SMALL_B(k, n);
      for (int i = 0; i < SMALL_ROWS; ++i) {
        if (i < rows) {
          accumulators[i] = fma((small_t)(LOAD_A(a, a_offset + a_index(m0 + i, k, M, K, a_trans))), b_value,
                                accumulators[i]);
        }
      }
    }
#endif
  }
  for (int i = 0; i < SMALL_ROWS; ++i) partials[i][lid] = accumulators[i];
  barrier(CLK_LOCAL_MEM_FENCE);
  // Halve the parts in local memory down to 8 (split is a power of two, the same for every item),
  // then part 0 adds those: 128 parts added one by one would be 128 dependent local loads.
  int live = split;
  const int part_stride = b_trans ? 1 : columns;  // between neighbouring parts of a column
  for (; live > 8; live >>= 1) {
    const int half_live = live >> 1;
    if (part < half_live) {
      for (int i = 0; i < rows; ++i) partials[i][lid] += partials[i][lid + half_live * part_stride];
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  if (part != 0 || n >= N) return;
  for (int i = 0; i < rows; ++i) {
    small_t sum = (small_t)(0.0f);
    for (int p = 0; p < live; ++p) sum += partials[i][b_trans ? column * split + p : p * columns + column];
    for (int w = 0; w < SMALL_WIDTH; ++w) {
#ifdef SMALL_SPLIT
      if (slices > 1) {  // unsplit (one slice), the group writes its output itself
        const long count = (long)(get_num_groups(2) / slices) * M * N;  // the outputs of every batch entry
        slice_partials[partials_offset + slice * count + (batch * M + m0 + i) * N + n + w] = small_lane(sum, w);
        continue;
      }
#endif
      const float value = epilogue(small_lane(sum, w), n + w, bias, bias_offset, has_bias, activation, alpha, beta);
      STORE_OUT(c, c_offset + (long)(m0 + i) * N + n + w, value);
    }
  }
}

#ifdef SMALL_SPLIT
// c[i] = epilogue(sum of the slices' partial sums of output i, in slice order), i < count.
__kernel void gemm_small_finish(OUT_PTR c, long c_offset, __global const float* partials, long partials_offset,
                                BIAS_PTR bias, long bias_offset, long count, int N, int slices, int has_bias,
                                int activation, float alpha, float beta) {
  const long i = get_global_id(0);
  if (i >= count) return;
  float sum = 0.0f;
  for (int s = 0; s < slices; ++s) sum += partials[partials_offset + s * count + i];
  STORE_OUT(c, c_offset + i, epilogue(sum, (int)(i % N), bias, bias_offset, has_bias, activation, alpha, beta));
}
#endif

#elif defined(EPILOGUE_ONLY)
// c = activation(c + bias[column]) in place, for products computed elsewhere (CLBlast).
__kernel void gemm_epilogue(OUT_PTR c, long c_offset, BIAS_PTR bias, long bias_offset, long count,
                            int N, int has_bias, int activation, float alpha, float beta) {
  const long index = get_global_id(0);
  if (index >= count) return;
  const float value = epilogue(LOAD_OUT(c, c_offset + index), (int)(index % N), bias, bias_offset,
                               has_bias, activation, alpha, beta);
  STORE_OUT(c, c_offset + index, value);
}
#endif
