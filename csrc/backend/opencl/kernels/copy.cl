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

// Up to four inputs of a concatenation in one launch (one launch per four inputs instead of one
// per input). Along the joined axis the output is seen as (outer, total, inner) and input i as
// (outer, extent i, inner); this launch writes the output's slab [first, first + e0 + e1 + e2 + e3)
// of that axis. An unused input has extent 0 (its pointer repeats input 0).
__kernel void concatenate4(SRC_PTR s0, long o0, SRC_PTR s1, long o1, SRC_PTR s2, long o2, SRC_PTR s3,
                           long o3, DST_PTR dst, long dst_offset, idx_t count, idx_t inner, idx_t total,
                           idx_t first, idx_t e0, idx_t e1, idx_t e2, idx_t e3) {
  const idx_t index = get_global_id(0);
  if (index >= count) return;
  const idx_t slab = (e0 + e1 + e2 + e3) * inner;
  const idx_t outer = index / slab;
  const idx_t within = index - outer * slab;
  idx_t along = within / inner;
  const idx_t position = within - along * inner;
  const idx_t destination = (outer * total + first + along) * inner + position;
// Input s (offset o, extent e) holds the element where `along` falls within it; else `along` moves
// past it to the next input.
#define CONCATENATE_FROM(s, o, e)                                                                      \
  if (along < (e)) {                                                                                   \
    STORE_DST(dst, dst_offset + destination, LOAD_SRC(s, (o) + (outer * (e) + along) * inner + position)); \
    return;                                                                                            \
  }                                                                                                    \
  along -= (e);
  CONCATENATE_FROM(s0, o0, e0)
  CONCATENATE_FROM(s1, o1, e1)
  CONCATENATE_FROM(s2, o2, e2)
  CONCATENATE_FROM(s3, o3, e3)
#undef CONCATENATE_FROM
}

// A batch of row-major matrices transposed (`rows` x `cols` each -> `cols` x `rows`), through a
// TRANSPOSE_TILE-square tile of local memory so that both the reads and the writes of a warp are
// consecutive (copy_strided reads a transpose's source TRANSPOSE_TILE elements apart: the
// channels-last reformats NCHW <-> NHWC). Work-groups of TRANSPOSE_TILE x TRANSPOSE_ROWS items,
// each item moving TRANSPOSE_TILE / TRANSPOSE_ROWS elements; dimension 2 is the matrix. The tile
// holds floats: the launcher takes this path for floating types only.
#define TRANSPOSE_TILE 32
#define TRANSPOSE_ROWS 8
__kernel __attribute__((reqd_work_group_size(TRANSPOSE_TILE, TRANSPOSE_ROWS, 1)))
void copy_transpose(SRC_PTR src, long src_offset, DST_PTR dst, long dst_offset, idx_t rows, idx_t cols) {
  __local float tile[TRANSPOSE_TILE][TRANSPOSE_TILE + 1];  // +1: columns fall in distinct banks
  const long matrix = (long)get_group_id(2) * rows * cols;
  const idx_t row0 = (idx_t)get_group_id(1) * TRANSPOSE_TILE;
  const idx_t col0 = (idx_t)get_group_id(0) * TRANSPOSE_TILE;
  const int x = get_local_id(0), y = get_local_id(1);
  for (int r = y; r < TRANSPOSE_TILE; r += TRANSPOSE_ROWS) {
    if (row0 + r < rows && col0 + x < cols) {
      tile[r][x] = LOAD_SRC(src, src_offset + matrix + (long)(row0 + r) * cols + col0 + x);
    }
  }
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int c = y; c < TRANSPOSE_TILE; c += TRANSPOSE_ROWS) {
    if (col0 + c < cols && row0 + x < rows) {
      STORE_DST(dst, dst_offset + matrix + (long)(col0 + c) * rows + row0 + x, tile[x][c]);
    }
  }
}
