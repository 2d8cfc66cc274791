// Running sums along an axis (TensorRT's ICumulativeLayer, ONNX's CumSum), or with -DPRODUCT running
// products (ONNX's CumProd). One work-item per line of the input along the axis, the input viewed as
// (outer, extent, inner); each line is combined in order (floating values in float, integers in 64
// bits, wrapping as the storage type does).
//   -DIN_HALF -DOUT_HALF | -DIN_CTYPE=<C type> -DOUT_CTYPE=<C type>   the storage (FLOAT without)
//   -DPRODUCT                                                         products instead of sums

#ifdef IN_CTYPE
typedef long sum_t;
#define LINE_IN_PTR __global const IN_CTYPE*
#define LOAD_VALUE(p, i) ((long)(p)[(i)])
#define LINE_OUT_PTR __global OUT_CTYPE*
#define STORE_VALUE(p, i, v) ((p)[(i)] = (OUT_CTYPE)(v))
#ifdef PRODUCT
#define COMBINE(a, b) ((long)((ulong)(a) * (ulong)(b)))
#else
#define COMBINE(a, b) ((long)((ulong)(a) + (ulong)(b)))
#endif
#else
typedef float sum_t;
#define LINE_IN_PTR IN_PTR
#define LOAD_VALUE(p, i) LOAD_IN(p, i)
#define LINE_OUT_PTR OUT_PTR
#define STORE_VALUE(p, i, v) STORE_OUT(p, i, v)
#ifdef PRODUCT
#define COMBINE(a, b) ((a) * (b))
#else
#define COMBINE(a, b) ((a) + (b))
#endif
#endif

// The running value before the line's first element: 1 for products, 0 for sums.
#ifdef PRODUCT
#define IDENTITY 1
#else
#define IDENTITY 0
#endif

__kernel void cumulative_sum(LINE_IN_PTR in, long in_offset, LINE_OUT_PTR out, long out_offset, long lines,
                             long extent, long inner, int exclusive, int reverse) {
  const long line = get_global_id(0);
  if (line >= lines) return;
  const long base = (line / inner) * extent * inner + line % inner;
  sum_t sum = IDENTITY;
  for (long j = 0; j < extent; ++j) {
    const long at = base + (reverse ? extent - 1 - j : j) * inner;
    const sum_t value = LOAD_VALUE(in, in_offset + at);
    if (exclusive) {
      STORE_VALUE(out, out_offset + at, sum);
      sum = COMBINE(sum, value);
    } else {
      sum = COMBINE(sum, value);
      STORE_VALUE(out, out_offset + at, sum);
    }
  }
}
