// Gathers (TensorRT's IGatherLayer, ONNX's Gather and GatherElements). Elements move as bits:
//   -DELEMENT=uchar|ushort|uint|ulong  the data's element
//   -DINDEX=int|long                   the indices' element
// A negative index counts from the end; an index outside [-extent, extent) writes zero bits
// (an error ONNX Runtime reports; a kernel cannot), and the host checks constant indices first.

inline long resolve(long index, long extent) { return index < 0 ? index + extent : index; }

// DEFAULT: data viewed as (outer, extent, inner), out as (outer, count, inner), count = the
// indices' volume: out[o, i, r] = data[o, indices[i], r].
__kernel void gather_default(__global const ELEMENT* data, long data_offset, __global const INDEX* indices,
                             long indices_offset, __global ELEMENT* out, long out_offset, long total,
                             long extent, long count, long inner) {
  const long index = get_global_id(0);
  if (index >= total) return;
  const long r = index % inner;
  const long i = (index / inner) % count;
  const long o = index / (inner * count);
  const long picked = resolve((long)indices[indices_offset + i], extent);
  out[out_offset + index] =
      (picked >= 0 && picked < extent) ? data[data_offset + (o * extent + picked) * inner + r] : (ELEMENT)0;
}

// ELEMENT: out and indices of one shape, data of the same rank: out[p] = data[p with the axis
// coordinate replaced by indices[p]]. Vectors hold axes innermost first.
__kernel void gather_elements(__global const ELEMENT* data, long data_offset, __global const INDEX* indices,
                              long indices_offset, __global ELEMENT* out, long out_offset, long total,
                              int rank, int axis, long8 out_dims, long8 data_dims) {
  const long index = get_global_id(0);
  if (index >= total) return;
  UNPACK8(long, out_dim, out_dims);
  UNPACK8(long, data_dim, data_dims);
  long rest = index, source = 0, stride = 1;
  for (int k = 0; k < rank; ++k) {
    long coordinate = rest % out_dim[k];
    rest /= out_dim[k];
    if (k == axis) {
      coordinate = resolve((long)indices[indices_offset + index], data_dim[k]);
      if (coordinate < 0 || coordinate >= data_dim[k]) {
        out[out_offset + index] = (ELEMENT)0;
        return;
      }
    }
    source += coordinate * stride;
    stride *= data_dim[k];
  }
  out[out_offset + index] = data[data_offset + source];
}
