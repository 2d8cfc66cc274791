// Scatters (TensorRT's IScatterLayer; ONNX's ScatterElements and ScatterND with their
// reductions). The output already holds a copy of data; these kernels write the updates into it.
// Each work-item owns a set of output elements that no other work-item can reach and applies its
// updates in their order, so duplicate indices combine exactly as ONNX's reference combines them.
//   -DOUT_HALF | -DOUT_CTYPE=<C type>   the element storage (FLOAT without either); updates alike
//   -DINDEX=int|long                    the indices' element
// A negative index counts from the end; an update whose index lies outside its axis is dropped.

#ifdef OUT_CTYPE
typedef long value_t;
#undef OUT_PTR
#define OUT_PTR __global OUT_CTYPE*
#define UPDATES_PTR __global const OUT_CTYPE*
#define LOAD_UPDATE(p, i) ((long)(p)[(i)])
#define LOAD_TARGET(p, i) ((long)(p)[(i)])
#define STORE_TARGET(p, i, v) ((p)[(i)] = (OUT_CTYPE)(v))
#define VALUE_MAX(a, b) max(a, b)
#define VALUE_MIN(a, b) min(a, b)
#define VALUE_SUM(a, b) ((long)((ulong)(a) + (ulong)(b)))
#define VALUE_PROD(a, b) ((long)((ulong)(a) * (ulong)(b)))
#else
typedef float value_t;
#ifdef OUT_HALF
#define UPDATES_PTR __global const half*
#define LOAD_UPDATE(p, i) vload_half((i), (p))
#else
#define UPDATES_PTR __global const float*
#define LOAD_UPDATE(p, i) ((p)[(i)])
#endif
#define LOAD_TARGET(p, i) LOAD_OUT(p, i)
#define STORE_TARGET(p, i, v) STORE_OUT(p, i, v)
#define VALUE_MAX(a, b) fmax(a, b)
#define VALUE_MIN(a, b) fmin(a, b)
#define VALUE_SUM(a, b) ((a) + (b))
#define VALUE_PROD(a, b) ((a) * (b))
#endif

// The numbering of mlprt::ScatterReduction.
#define SCATTER_NONE 0
#define SCATTER_SUM 1
#define SCATTER_PROD 2
#define SCATTER_MAX 3
#define SCATTER_MIN 4

inline value_t combine(int reduction, value_t held, value_t update) {
  switch (reduction) {
    case SCATTER_SUM: return VALUE_SUM(held, update);
    case SCATTER_PROD: return VALUE_PROD(held, update);
    case SCATTER_MAX: return VALUE_MAX(held, update);
    case SCATTER_MIN: return VALUE_MIN(held, update);
    default: return update;
  }
}

inline void scatter_one(OUT_PTR out, long target, UPDATES_PTR updates, long source, int reduction) {
  const value_t update = LOAD_UPDATE(updates, source);
  STORE_TARGET(out, target, reduction == SCATTER_NONE ? update : combine(reduction, LOAD_TARGET(out, target), update));
}

// ELEMENT: indices and updates of one shape (their extents innermost first in `dims`), out of the
// same rank (`out_dims`). A work-item takes one line of the updates along `axis` and writes its
// elements in order: the line's targets differ from every other line's in some other axis.
__kernel void scatter_elements(OUT_PTR out, long out_offset, __global const INDEX* indices, long indices_offset,
                               UPDATES_PTR updates, long updates_offset, long lines, int rank, int axis,
                               long8 dims_packed, long8 out_dims_packed, int reduction) {
  const long line = get_global_id(0);
  if (line >= lines) return;
  UNPACK8(long, dims, dims_packed);
  UNPACK8(long, out_dims, out_dims_packed);
  long rest = line, source = 0, target = 0, source_stride = 1, target_stride = 1;
  long axis_source_stride = 1, axis_target_stride = 1;
  for (int k = 0; k < rank; ++k) {
    if (k == axis) {
      axis_source_stride = source_stride;
      axis_target_stride = target_stride;
    } else {
      const long coordinate = rest % dims[k];
      rest /= dims[k];
      source += coordinate * source_stride;
      target += coordinate * target_stride;
    }
    source_stride *= dims[k];
    target_stride *= out_dims[k];
  }
  const long extent = out_dims[axis];
  for (long j = 0; j < dims[axis]; ++j) {
    const long at = source + j * axis_source_stride;
    long picked = (long)indices[indices_offset + at];
    if (picked < 0) picked += extent;
    if (picked < 0 || picked >= extent) continue;
    scatter_one(out, out_offset + target + picked * axis_target_stride, updates, updates_offset + at, reduction);
  }
}

// ND: `count` index tuples of `depth` coordinates (indices viewed as (count, depth)), each
// addressing a slice of `inner` elements of out (out viewed as (its first depth axes, inner);
// `out_dims` holds those depth extents outermost first). A work-item takes one position r in the
// slice and applies every tuple's update to it in order.
__kernel void scatter_nd(OUT_PTR out, long out_offset, __global const INDEX* indices, long indices_offset,
                         UPDATES_PTR updates, long updates_offset, long count, int depth, long inner,
                         long8 out_dims_packed, int reduction) {
  const long r = get_global_id(0);
  if (r >= inner) return;
  UNPACK8(long, out_dims, out_dims_packed);
  for (long t = 0; t < count; ++t) {
    long target = 0;
    bool inside = true;
    for (int d = 0; d < depth; ++d) {
      long coordinate = (long)indices[indices_offset + t * depth + d];
      if (coordinate < 0) coordinate += out_dims[d];
      inside = inside && coordinate >= 0 && coordinate < out_dims[d];
      target = target * out_dims[d] + coordinate;
    }
    if (inside) scatter_one(out, out_offset + target * inner + r, updates, updates_offset + t * inner + r, reduction);
  }
}
