// 0, 1, ..., n - 1 (axis_range.h): one work-item per element.
//   -DOUT_HALF | -DOUT_CTYPE=<C type>   the storage (FLOAT without)

#ifdef OUT_CTYPE
#define RANGE_OUT_PTR __global OUT_CTYPE*
#define STORE_INDEX(p, at, i) ((p)[(at)] = (OUT_CTYPE)(i))
#else
#define RANGE_OUT_PTR OUT_PTR
#define STORE_INDEX(p, at, i) STORE_OUT(p, at, (float)(i))
#endif

__kernel void axis_range(RANGE_OUT_PTR out, long out_offset, long count) {
  const long i = get_global_id(0);
  if (i >= count) return;
  STORE_INDEX(out, out_offset + i, i);
}
