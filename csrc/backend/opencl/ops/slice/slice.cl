// Slices with a sample mode (TensorRT's ISliceLayer): output element i takes input coordinate
// start + i * stride along every axis; a coordinate outside the input is an error the host
// prevents (STRICT_BOUNDS), wraps around (WRAP), is clamped (CLAMP; ONNX Pad's edge), reflects
// off the edges without repeating them (REFLECT; Pad's reflect), or reads the fill value (FILL).
// Elements are moved as bits, so one program per element size serves every type:
//   -DELEMENT=uchar|ushort|uint|ulong
// Vectors hold axes innermost first (s0 is the last axis), `rank` of them in use.
#define MODE_STRICT_BOUNDS 0
#define MODE_WRAP 1
#define MODE_CLAMP 2
#define MODE_FILL 3
#define MODE_REFLECT 4

inline long sample(long coordinate, long extent, int mode) {
  if (coordinate >= 0 && coordinate < extent) return coordinate;
  switch (mode) {
    case MODE_WRAP: {
      const long wrapped = coordinate % extent;
      return wrapped < 0 ? wrapped + extent : wrapped;
    }
    case MODE_CLAMP: return coordinate < 0 ? 0 : extent - 1;
    case MODE_REFLECT: {
      if (extent == 1) return 0;
      const long period = 2 * (extent - 1);
      long folded = coordinate % period;
      if (folded < 0) folded += period;
      return folded < extent ? folded : period - folded;
    }
    default: return -1;  // FILL (and STRICT_BOUNDS, which never gets here)
  }
}

__kernel void slice(__global const ELEMENT* in, long in_offset, __global ELEMENT* out, long out_offset,
                    long count, int rank, long8 out_dims, long8 in_dims, long8 in_strides, long8 start,
                    long8 stride, int mode, ELEMENT fill) {
  const long index = get_global_id(0);
  if (index >= count) return;
  UNPACK8(long, out_dim, out_dims);
  UNPACK8(long, in_dim, in_dims);
  UNPACK8(long, in_stride, in_strides);
  UNPACK8(long, first, start);
  UNPACK8(long, step, stride);
  long rest = index, source = 0;
  for (int axis = 0; axis < rank; ++axis) {
    const long coordinate = sample(first[axis] + (rest % out_dim[axis]) * step[axis], in_dim[axis], mode);
    rest /= out_dim[axis];
    if (coordinate < 0) {
      out[out_offset + index] = fill;
      return;
    }
    source += coordinate * in_stride[axis];
  }
  out[out_offset + index] = in[in_offset + source];
}
