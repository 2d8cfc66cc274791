// TopK (TensorRT's ITopKLayer, ONNX's TopK): one work-item per line of the data along the axis,
// data viewed as (outer, extent, inner). Each of the k outputs is one pass over the line that
// keeps the element ranked first among those ranked after the previous output: O(k x extent)
// reads, no scratch memory, and the order is total (value, then index), so ties and NaN give
// one defined answer.
//   -DIN_HALF | -DIN_CTYPE=int|long  the data's storage (FLOAT without either)
//   -DSMALLEST                       ascending (TopKOperation::kMIN) instead of descending

#ifdef IN_CTYPE
typedef IN_CTYPE topk_key;
#define DATA_PTR __global const IN_CTYPE*
#define LOAD_KEY(p, i) ((p)[(i)])
#define KEY_IS_NAN(v) 0
#else
typedef float topk_key;
#define DATA_PTR IN_PTR
#define LOAD_KEY(p, i) LOAD_IN(p, i)
#define KEY_IS_NAN(v) isnan(v)
#endif

// Whether (a, at) ranks before (b, bt): by value (NaN above every number, NaNs equal), then by
// the lower position.
inline bool ranks_before(topk_key a, long at, topk_key b, long bt) {
  const bool a_nan = KEY_IS_NAN(a), b_nan = KEY_IS_NAN(b);
  if (a_nan || b_nan) {
    if (a_nan && b_nan) return at < bt;
#ifdef SMALLEST
    return b_nan;
#else
    return a_nan;
#endif
  }
  if (a == b) return at < bt;
#ifdef SMALLEST
  return a < b;
#else
  return a > b;
#endif
}

__kernel void topk(DATA_PTR data, long data_offset, __global int* indices, long indices_offset, long lines,
                   long extent, long inner, int k) {
  const long line = get_global_id(0);
  if (line >= lines) return;
  const long outer = line / inner, r = line % inner;
  const long first = data_offset + outer * extent * inner + r;
  const long out = indices_offset + outer * (long)k * inner + r;
  long previous = -1;
  topk_key previous_value = 0;
  for (int j = 0; j < k; ++j) {
    long best = -1;
    topk_key best_value = 0;
    for (long i = 0; i < extent; ++i) {
      const topk_key value = LOAD_KEY(data, first + i * inner);
      if (previous >= 0 && !ranks_before(previous_value, previous, value, i)) continue;
      if (best < 0 || ranks_before(value, i, best_value, best)) {
        best = i;
        best_value = value;
      }
    }
    indices[out + (long)j * inner] = (int)best;
    previous = best;
    previous_value = best_value;
  }
}
