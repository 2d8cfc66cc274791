// Reductions over any set of axes. The host splits the (merged) axes into kept ones, one output
// element per kept index, and reduced ones, folded into each output; each has its own dims and
// strides vectors (innermost first).

// Integer inputs (-DINTEGER_MATH, -DIN_CTYPE / -DOUT_CTYPE the C types) accumulate in 64-bit
// integers, wrapping on overflow; AVG divides with truncation. They use reduce_thread only.
#ifdef INTEGER_MATH
typedef long acc_t;
#undef IN_PTR
#undef LOAD_IN
#define IN_PTR __global const IN_CTYPE*
#define LOAD_IN(p, i) ((long)(p)[(i)])
#undef OUT_PTR
#undef STORE_OUT
#define OUT_PTR __global OUT_CTYPE*
#define STORE_OUT(p, i, v) ((p)[(i)] = (OUT_CTYPE)(v))

inline long accumulator_identity(int op) {
  switch (op) {
    case RED_PROD: return 1;
    case RED_MAX: return LONG_MIN;
    case RED_MIN: return LONG_MAX;
    default: return 0;
  }
}

inline long accumulate(int op, long x, long y) {
  switch (op) {
    case RED_PROD: return (long)((ulong)x * (ulong)y);
    case RED_MAX: return max(x, y);
    case RED_MIN: return min(x, y);
    default: return (long)((ulong)x + (ulong)y);
  }
}

inline long finish_average(long total, idx_t count) { return count == 0 ? 0 : total / (long)count; }
#else
typedef float acc_t;
#define accumulator_identity reduce_identity
#define accumulate reduce_combine
inline float finish_average(float total, idx_t count) { return total / (float)count; }
#endif

#ifndef INTEGER_MATH
// One work-group per output: for few outputs over many elements.
__kernel __attribute__((reqd_work_group_size(GROUP, 1, 1)))
void reduce_group(IN_PTR in, long in_offset, OUT_PTR out, long out_offset, int kept_rank,
                  idx8_t kept_dims, idx8_t kept_strides, int reduced_rank, idx8_t reduced_dims,
                  idx8_t reduced_strides, idx_t reduced_count, int op) {
  __local float scratch[GROUP];
  const idx_t output = get_group_id(0);
  const idx_t base = unravel1(output, kept_rank, kept_dims, kept_strides);
  float accumulator = reduce_identity(op);
  for (idx_t r = get_local_id(0); r < reduced_count; r += GROUP) {
    const idx_t offset = base + unravel1(r, reduced_rank, reduced_dims, reduced_strides);
    accumulator = reduce_combine(op, accumulator, LOAD_IN(in, in_offset + offset));
  }
  accumulator = group_reduce(op, accumulator, scratch);
  if (get_local_id(0) == 0) {
    STORE_OUT(out, out_offset + output, op == RED_AVG ? accumulator / (float)reduced_count : accumulator);
  }
}

#endif

// One work item per output: for many outputs, or when the kept axes are innermost so that
// neighbouring items read neighbouring addresses.
__kernel void reduce_thread(IN_PTR in, long in_offset, OUT_PTR out, long out_offset,
                            idx_t out_count, int kept_rank, idx8_t kept_dims, idx8_t kept_strides,
                            int reduced_rank, idx8_t reduced_dims, idx8_t reduced_strides,
                            idx_t reduced_count, int op) {
  const idx_t output = get_global_id(0);
  if (output >= out_count) return;
  const idx_t base = unravel1(output, kept_rank, kept_dims, kept_strides);
  acc_t accumulator = accumulator_identity(op);
  for (idx_t r = 0; r < reduced_count; ++r) {
    const idx_t offset = base + unravel1(r, reduced_rank, reduced_dims, reduced_strides);
    accumulator = accumulate(op, accumulator, LOAD_IN(in, in_offset + offset));
  }
  STORE_OUT(out, out_offset + output, op == RED_AVG ? finish_average(accumulator, reduced_count) : accumulator);
}
