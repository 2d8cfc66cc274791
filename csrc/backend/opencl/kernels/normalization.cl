// (x - mean) / sqrt(var + epsilon) * scale + bias with mean and biased variance over the reduced
// axes. One work-group per kept index; the variance is taken around the mean in a second pass
// (more accurate than E[x^2] - mean^2). scale and bias are broadcast: their strides are 0 along
// the axes they do not have, split into kept and reduced parts like the input's. With -DRESIDUAL
// (and -DRESIDUAL2) x is in + res (+ res2): the Adds before a transformer's LayerNorm, summed in
// float. A residual has in's shape, or in's trailing axes only (BERT's position embeddings,
// (1, S, H) added to (B, S, H)): element i of in reads element i % period of it, the wrap taken
// only with -DRES_WRAP (-DRES2_WRAP). common.cl's RES operand, -DRES_HALF (-DRES2_HALF) stored half.

#ifdef RES2_HALF
#define RES2_PTR __global const half*
#define LOAD_RES2(p, i) vload_half((i), (p))
#else
#define RES2_PTR __global const float*
#define LOAD_RES2(p, i) ((p)[(i)])
#endif
#ifdef RES_WRAP
#define RES_AT(i) ((i) % res_period)
#else
#define RES_AT(i) (i)
#endif
#ifdef RES2_WRAP
#define RES2_AT(i) ((i) % res2_period)
#else
#define RES2_AT(i) (i)
#endif

#if defined(RESIDUAL2)
#define LOAD_X(i) (LOAD_IN(in, in_offset + (i)) + LOAD_RES(res, res_offset + RES_AT(i)) + \
                   LOAD_RES2(res2, res2_offset + RES2_AT(i)))
#elif defined(RESIDUAL)
#define LOAD_X(i) (LOAD_IN(in, in_offset + (i)) + LOAD_RES(res, res_offset + RES_AT(i)))
#else
#define LOAD_X(i) LOAD_IN(in, in_offset + (i))
#endif

__kernel __attribute__((reqd_work_group_size(GROUP, 1, 1)))
void normalization(IN_PTR in, long in_offset, SCALE_PTR scale, long scale_offset, BIAS_PTR bias,
                   long bias_offset, OUT_PTR out, long out_offset, RES_PTR res, long res_offset, long res_period,
                   RES2_PTR res2, long res2_offset, long res2_period, int kept_rank,
                   idx8_t kept_dims, idx8_t kept_in, idx8_t kept_scale, idx8_t kept_bias,
                   int reduced_rank, idx8_t reduced_dims, idx8_t reduced_in,
                   idx8_t reduced_scale, idx8_t reduced_bias, idx_t reduced_count,
                   float epsilon) {
  __local float scratch[GROUP];
  idx_t in_base, scale_base, bias_base;
  unravel3(get_group_id(0), kept_rank, kept_dims, kept_in, kept_scale, kept_bias, &in_base,
           &scale_base, &bias_base);
  const int lid = get_local_id(0);

  float sum = 0.0f;
  for (idx_t r = lid; r < reduced_count; r += GROUP) {
    sum += LOAD_X(in_base + unravel1(r, reduced_rank, reduced_dims, reduced_in));
  }
  const float mean = group_reduce(RED_SUM, sum, scratch) / (float)reduced_count;

  float squares = 0.0f;
  for (idx_t r = lid; r < reduced_count; r += GROUP) {
    const float deviation = LOAD_X(in_base + unravel1(r, reduced_rank, reduced_dims, reduced_in)) - mean;
    squares += deviation * deviation;
  }
  const float variance = group_reduce(RED_SUM, squares, scratch) / (float)reduced_count;
  const float inverse_deviation = rsqrt(variance + epsilon);

  for (idx_t r = lid; r < reduced_count; r += GROUP) {
    idx_t in_index, scale_index, bias_index;
    unravel3(r, reduced_rank, reduced_dims, reduced_in, reduced_scale, reduced_bias, &in_index,
             &scale_index, &bias_index);
    const float x = LOAD_X(in_base + in_index);
    const float y = (x - mean) * inverse_deviation * LOAD_SCALE(scale, scale_offset + scale_base + scale_index) +
                    LOAD_BIAS(bias, bias_offset + bias_base + bias_index);
    STORE_OUT(out, out_offset + in_base + in_index, y);
  }
}

#ifdef PER_ITEM
// The sum of x over the 32 items of one row's line (line_partial: that line's 33 floats of local
// memory), for every item of the line. Every item of the group calls it at the same point.
inline float line_sum(float x, __local float* line_partial, int lane) {
  line_partial[lane] = x;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int step = 16; step > 0; step >>= 1) {
    if (lane < step) line_partial[lane] += line_partial[lane + step];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  const float sum = line_partial[0];
  barrier(CLK_LOCAL_MEM_FENCE);  // every item has read the sum before the next call overwrites it
  return sum;
}
#endif

// Normalization of rows: the last axis only, n <= 32 x WIDTH x PER_ITEM, scale and bias one value
// per column (the transformers' LayerNorm). Each row is one warp-sized line of 32 items holding its
// values in registers: read once, its mean and variance reduced in local memory, written once
// (the kernel above reads each row three times through index arithmetic). ROWS rows per group.
// With -DWIDTH=8 each item reads 8 consecutive values per load (16 bytes of half, 32 of float: a
// warp's load covers 256 consecutive values, where WIDTH 1 reads one value per item per load); n,
// and each residual's period, must then be multiples of 8, so that no chunk straddles a row or a
// repetition.
//   -DPER_ITEM=<chunks of WIDTH values per item> -DROWS=<rows per group> [-DWIDTH=8]
#ifdef PER_ITEM
#ifndef WIDTH
#define WIDTH 1
#endif
#if WIDTH == 8
#define ROW_VALUE float8
#ifdef IN_HALF
#define LOAD_IN8(i) vload_half8(0, in + (i))
#else
#define LOAD_IN8(i) vload8(0, in + (i))
#endif
#ifdef RES_HALF
#define LOAD_RES8(i) vload_half8(0, res + (i))
#else
#define LOAD_RES8(i) vload8(0, res + (i))
#endif
#ifdef RES2_HALF
#define LOAD_RES2_8(i) vload_half8(0, res2 + (i))
#else
#define LOAD_RES2_8(i) vload8(0, res2 + (i))
#endif
#ifdef SCALE_HALF
#define LOAD_ROW_SCALE(i) vload_half8(0, scale + (i))
#else
#define LOAD_ROW_SCALE(i) vload8(0, scale + (i))
#endif
#ifdef BIAS_HALF
#define LOAD_ROW_BIAS(i) vload_half8(0, bias + (i))
#else
#define LOAD_ROW_BIAS(i) vload8(0, bias + (i))
#endif
#ifdef OUT_HALF
#define STORE_ROW_OUT(i, v) vstore_half8((v), 0, out + (i))
#else
#define STORE_ROW_OUT(i, v) vstore8((v), 0, out + (i))
#endif
#if defined(RESIDUAL2)
#define LOAD_ROW_X(i) (LOAD_IN8(in_offset + (i)) + LOAD_RES8(res_offset + RES_AT(i)) + LOAD_RES2_8(res2_offset + RES2_AT(i)))
#elif defined(RESIDUAL)
#define LOAD_ROW_X(i) (LOAD_IN8(in_offset + (i)) + LOAD_RES8(res_offset + RES_AT(i)))
#else
#define LOAD_ROW_X(i) LOAD_IN8(in_offset + (i))
#endif
inline float row_sum(float8 v) { return ((v.s0 + v.s1) + (v.s2 + v.s3)) + ((v.s4 + v.s5) + (v.s6 + v.s7)); }
#else
#define ROW_VALUE float
#define LOAD_ROW_X(i) LOAD_X(i)
#define LOAD_ROW_SCALE(i) LOAD_SCALE(scale, (i))
#define LOAD_ROW_BIAS(i) LOAD_BIAS(bias, (i))
#define STORE_ROW_OUT(i, v) STORE_OUT(out, (i), (v))
inline float row_sum(float v) { return v; }
#endif

__kernel __attribute__((reqd_work_group_size(32, ROWS, 1)))
void normalization_rows(IN_PTR in, long in_offset, SCALE_PTR scale, long scale_offset, BIAS_PTR bias,
                        long bias_offset, OUT_PTR out, long out_offset, RES_PTR res, long res_offset,
                        long res_period, RES2_PTR res2, long res2_offset, long res2_period, long rows,
                        int n, float epsilon) {
  __local float partial[ROWS][33];
  const int lane = get_local_id(0), line = get_local_id(1);
  const long row = get_global_id(1);
  const bool live = row < rows;
  const long base = row * n;
  ROW_VALUE values[PER_ITEM];
  float sum = 0.0f;
#pragma unroll
  for (int i = 0; i < PER_ITEM; ++i) {
    const int column = WIDTH * (lane + 32 * i);
    values[i] = live && column < n ? LOAD_ROW_X(base + column) : (ROW_VALUE)(0.0f);
    sum += row_sum(values[i]);
  }
  const float mean = line_sum(sum, partial[line], lane) / (float)n;
  float squares = 0.0f;
#pragma unroll
  for (int i = 0; i < PER_ITEM; ++i) {
    const ROW_VALUE deviation = WIDTH * (lane + 32 * i) < n ? values[i] - mean : (ROW_VALUE)(0.0f);
    squares += row_sum(deviation * deviation);
  }
  const float inverse_deviation = rsqrt(line_sum(squares, partial[line], lane) / (float)n + epsilon);
  if (!live) return;
#pragma unroll
  for (int i = 0; i < PER_ITEM; ++i) {
    const int column = WIDTH * (lane + 32 * i);
    if (column < n) {
      const ROW_VALUE y = (values[i] - mean) * inverse_deviation * LOAD_ROW_SCALE(scale_offset + column) +
                          LOAD_ROW_BIAS(bias_offset + column);
      STORE_ROW_OUT(out_offset + base + column, y);
    }
  }
}
#endif
