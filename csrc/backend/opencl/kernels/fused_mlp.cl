// A whole chain of dense layers in one kernel: y = f_S(... f_1(f_0(x W0 + b0) W1 + b1) ...).
// Small MLPs at small batches are bound by launches, not arithmetic: one launch instead of one
// per layer (plus reshapes and casts) is most of their latency.
//
// A work-group of THREADS items owns ROWS rows of x. Hidden activations of its rows stay in
// local memory (two buffers of ROWS x MAXW floats, swapped per stage); the first stage reads x
// from global memory and the last writes y there. Weights (K x N, row-major) and biases are read
// from global memory, where the whole model sits in cache.
//
// Per stage, the items cover `columns` = min(N, THREADS) output columns side by side (so
// neighbouring items read neighbouring weights) and split K THREADS / columns ways; the split
// parts add up in local memory.
//
// Build options: -DSTAGES=s, -DROWS, -DTHREADS, -DMAXW (widest hidden layer), and per stage i < s:
// -DK<i> -DN<i> -DBIAS<i> (0/1) -DACT<i> (activation code, -1 none) -DALPHA<i> -DBETA<i>;
// storage: -DIN_HALF (x), -DB_HALF (weights), -DBIAS_HALF, -DOUT_HALF (y).
// -DIN_BY_ADDRESS / -DOUT_BY_ADDRESS: x / y are in pinned host memory, passed as 64-bit addresses
// (see host_access.h); each element of x is read once and each of y written once, so the kernel
// reads and writes the host's memory over the bus without a separate copy.
// -DSTAGE_X: the group first copies its rows of x into local memory with independent loads, so
// reading x costs one round trip of the bus instead of one per unrolled step of stage 0 (the
// launcher sets it for inputs in pinned host memory when local memory allows).

#ifdef IN_BY_ADDRESS
#define IN_PARAMETER ulong x_address
#define BIND_IN IN_PTR x = (IN_PTR)x_address;
#else
#define IN_PARAMETER IN_PTR x
#define BIND_IN
#endif
#ifdef OUT_BY_ADDRESS
#define OUT_PARAMETER ulong y_address
#define BIND_OUT OUT_PTR y = (OUT_PTR)y_address;
#else
#define OUT_PARAMETER OUT_PTR y
#define BIND_OUT
#endif

#ifndef THREADS
#define THREADS 256
#endif

// The source of stage inputs: x in global memory for stage 0, else the local buffer.
#define FROM_GLOBAL 1
#define FROM_LOCAL 0

// Row r's input k of the current stage, 0 for rows past the end of the batch.
#define MLP_INPUT(r, k)                                                                      \
  (source == FROM_GLOBAL ? ((r) < rows ? LOAD_IN(x, x_offset + (long)(row0 + (r)) * K + (k)) : 0.0f) \
                         : src[(r) * src_stride + (k)])

inline void mlp_stage(const int source, IN_PTR x, long x_offset, __local const float* src,
                      const int src_stride, __local float* dst, __local float* partial, B_PTR weights, long w_offset,
                      BIAS_PTR bias, long b_offset, const int K, const int N, const int has_bias,
                      const int act, const float alpha, const float beta, const int last, OUT_PTR y,
                      long y_offset, const int row0, const int rows) {
  const int lid = get_local_id(0);
  const int columns = N < THREADS ? N : THREADS;
  const int split = THREADS / columns;
  const int column = lid % columns;
  const int part = lid / columns;
  for (int n0 = 0; n0 < N; n0 += columns) {
    const int n = n0 + column;
    float sums[ROWS];
    for (int r = 0; r < ROWS; ++r) sums[r] = 0.0f;
    if (part < split && n < N) {
      // Eight weights loaded before they are used, so that many loads are in flight at once: at
      // batch 1 the kernel waits on memory latency, not arithmetic. Unrolled by hand: PoCL's
      // compiler cannot apply `#pragma unroll 8` to this loop and warns on every build.
      int k = part;
      for (; k + 7 * split < K; k += 8 * split) {
        float w[8];
        for (int u = 0; u < 8; ++u) w[u] = LOAD_B(weights, w_offset + (long)(k + u * split) * N + n);
        for (int u = 0; u < 8; ++u) {
          for (int r = 0; r < ROWS; ++r) sums[r] = fma(MLP_INPUT(r, k + u * split), w[u], sums[r]);
        }
      }
      for (; k < K; k += split) {
        const float w = LOAD_B(weights, w_offset + (long)k * N + n);
        for (int r = 0; r < ROWS; ++r) sums[r] = fma(MLP_INPUT(r, k), w, sums[r]);
      }
    }
    if (split > 1) {
      for (int r = 0; r < ROWS; ++r) partial[r * THREADS + lid] = sums[r];
      barrier(CLK_LOCAL_MEM_FENCE);
      if (part == 0) {
        for (int r = 0; r < ROWS; ++r) {
          float total = 0.0f;
          for (int p = 0; p < split; ++p) total += partial[r * THREADS + p * columns + column];
          sums[r] = total;
        }
      }
      barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (part == 0 && n < N) {
      const float b = has_bias ? LOAD_BIAS(bias, b_offset + n) : 0.0f;
      for (int r = 0; r < ROWS; ++r) {
        float value = sums[r] + b;
        if (act >= 0) value = activate(act, value, alpha, beta);
        if (last) {
          if (r < rows) STORE_OUT(y, y_offset + (long)(row0 + r) * N + n, value);
        } else {
          dst[r * MAXW + n] = value;
        }
      }
    }
  }
  barrier(CLK_LOCAL_MEM_FENCE);  // dst complete before the next stage reads it
}

// Stage i from `from` (rows `stride` floats apart) into `to`.
#define STAGE_FROM(i, source, from, stride, to)                                                  \
  mlp_stage(source, x, x_offset, from, stride, to, partial, weights, w##i, weights_bias, b##i,   \
            K##i, N##i, BIAS##i, ACT##i, ALPHA##i, BETA##i, (i) == STAGES - 1, y, y_offset, row0, \
            rows)
#define STAGE(i, source, from, to) STAGE_FROM(i, source, from, MAXW, to)

__kernel __attribute__((reqd_work_group_size(THREADS, 1, 1)))
void fused_mlp(IN_PARAMETER, long x_offset, OUT_PARAMETER, long y_offset, B_PTR weights,
               BIAS_PTR weights_bias, long w0, long b0, long w1, long b1, long w2, long b2, long w3,
               long b3, long w4, long b4, long w5, long b5, long w6, long b6, long w7, long b7,
               int total_rows) {
  BIND_IN
  BIND_OUT
  __local float hidden[2][ROWS * MAXW];
  __local float partial[ROWS * THREADS];
  const int row0 = get_group_id(0) * ROWS;
  const int rows = min(ROWS, total_rows - row0);
#ifdef STAGE_X
  __local float x_rows[ROWS * K0];
  {
    const long first = x_offset + (long)row0 * K0;
    const int count = rows * K0;
    // Eight loads in flight per item, unrolled by hand as in mlp_stage.
    int i = get_local_id(0);
    for (; i + 7 * THREADS < count; i += 8 * THREADS) {
      float v[8];
      for (int u = 0; u < 8; ++u) v[u] = LOAD_IN(x, first + i + u * THREADS);
      for (int u = 0; u < 8; ++u) x_rows[i + u * THREADS] = v[u];
    }
    for (; i < count; i += THREADS) x_rows[i] = LOAD_IN(x, first + i);
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  STAGE_FROM(0, FROM_LOCAL, x_rows, K0, hidden[0]);
#else
  STAGE(0, FROM_GLOBAL, hidden[1], hidden[0]);
#endif
#if STAGES > 1
  STAGE(1, FROM_LOCAL, hidden[0], hidden[1]);
#endif
#if STAGES > 2
  STAGE(2, FROM_LOCAL, hidden[1], hidden[0]);
#endif
#if STAGES > 3
  STAGE(3, FROM_LOCAL, hidden[0], hidden[1]);
#endif
#if STAGES > 4
  STAGE(4, FROM_LOCAL, hidden[1], hidden[0]);
#endif
#if STAGES > 5
  STAGE(5, FROM_LOCAL, hidden[0], hidden[1]);
#endif
#if STAGES > 6
  STAGE(6, FROM_LOCAL, hidden[1], hidden[0]);
#endif
#if STAGES > 7
  STAGE(7, FROM_LOCAL, hidden[0], hidden[1]);
#endif
}
