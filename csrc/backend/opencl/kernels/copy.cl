// Strided copies with type conversion: transposes, reshapes, casts and the slices of a
// concatenation. Built once per (source type, destination type) pair with -DSRC_<type> and
// -DDST_<type>; conversions are C casts (through float for floating sources), bool is != 0.

#if defined(SRC_HALF)
#define SRC_PTR __global const half*
#define LOAD_SRC(p, i) vload_half((i), (p))
#elif defined(SRC_FLOAT)
#define SRC_PTR __global const float*
#define LOAD_SRC(p, i) ((p)[(i)])
#elif defined(SRC_INT32)
#define SRC_PTR __global const int*
#define LOAD_SRC(p, i) ((p)[(i)])
#elif defined(SRC_INT64)
#define SRC_PTR __global const long*
#define LOAD_SRC(p, i) ((p)[(i)])
#elif defined(SRC_INT8)
#define SRC_PTR __global const char*
#define LOAD_SRC(p, i) ((p)[(i)])
#elif defined(SRC_UINT8)
#define SRC_PTR __global const uchar*
#define LOAD_SRC(p, i) ((p)[(i)])
#elif defined(SRC_BOOL)
#define SRC_PTR __global const uchar*
#define LOAD_SRC(p, i) ((uchar)((p)[(i)] != 0))
#else
#error "copy.cl needs -DSRC_<type>"
#endif

#if defined(DST_HALF)
#define DST_PTR __global half*
#define STORE_DST(p, i, v) vstore_half((float)(v), (i), (p))
#elif defined(DST_FLOAT)
#define DST_PTR __global float*
#define STORE_DST(p, i, v) ((p)[(i)] = (float)(v))
#elif defined(DST_INT32)
#define DST_PTR __global int*
#define STORE_DST(p, i, v) ((p)[(i)] = (int)(v))
#elif defined(DST_INT64)
#define DST_PTR __global long*
#define STORE_DST(p, i, v) ((p)[(i)] = (long)(v))
#elif defined(DST_INT8)
#define DST_PTR __global char*
#define STORE_DST(p, i, v) ((p)[(i)] = (char)(v))
#elif defined(DST_UINT8)
#define DST_PTR __global uchar*
#define STORE_DST(p, i, v) ((p)[(i)] = (uchar)(v))
#elif defined(DST_BOOL)
#define DST_PTR __global uchar*
#define STORE_DST(p, i, v) ((p)[(i)] = (uchar)((v) != 0))
#else
#error "copy.cl needs -DDST_<type>"
#endif

// dims is the shape iterated (the destination's for a transpose, the source's for a slice);
// the two stride vectors place each element in the source and in the destination.
__kernel void copy_strided(SRC_PTR src, long src_offset, DST_PTR dst, long dst_offset,
                           idx_t count, int rank, idx8_t dims, idx8_t src_strides,
                           idx8_t dst_strides) {
  const idx_t index = get_global_id(0);
  if (index >= count) return;
  idx_t si, di;
  unravel2(index, rank, dims, src_strides, dst_strides, &si, &di);
  STORE_DST(dst, dst_offset + di, LOAD_SRC(src, src_offset + si));
}
