// Resize (ONNX Resize, TensorRT's IResizeLayer): each output element maps its coordinate on
// every resized axis back to the input (coordinate transformation), takes 1 (nearest), 2
// (linear) or 4 (cubic) taps there with weights, and sums the product of the taps over the
// resized axes (at most 3 of them). Axes whose extent and scale do not change are copied.
//   -DMODE_NEAREST | -DMODE_LINEAR | -DMODE_CUBIC
// Vectors hold axes innermost first (s0 is the last axis), `rank` of them in use. Indices are
// 32-bit unless the tensors need more (-DINDEX64): 64-bit division, four per element, made YOLOv8n's
// nearest 2x upsampling of 1.6 MB take 50 us on an H100.
#define COORD_ALIGN_CORNERS 0
#define COORD_ASYMMETRIC 1
#define COORD_HALF_PIXEL 2
#define ROUND_HALF_UP 0
#define ROUND_HALF_DOWN 1
#define ROUND_FLOOR 2
#define ROUND_CEIL 3
#define MAX_RESIZED 3

#if defined(MODE_CUBIC)
#define TAPS 4
#elif defined(MODE_LINEAR)
#define TAPS 2
#else
#define TAPS 1
#endif

inline float source_coordinate(idx_t o, idx_t in, idx_t out, float scale, int transform, int single_upper) {
  if (out == 1 && single_upper) return 0.0f;  // pytorch_half_pixel
  switch (transform) {
    case COORD_ALIGN_CORNERS: return out == 1 ? 0.0f : (float)o * (float)(in - 1) / (float)(out - 1);
    case COORD_ASYMMETRIC: return (float)o / scale;
    default: return ((float)o + 0.5f) / scale - 0.5f;
  }
}

inline float cubic_weight(float t, float a) {
  t = fabs(t);
  if (t <= 1.0f) return ((a + 2.0f) * t - (a + 3.0f)) * t * t + 1.0f;
  if (t < 2.0f) return ((a * t - 5.0f * a) * t + 8.0f * a) * t - 4.0f * a;
  return 0.0f;
}

// The taps of one axis: input indices and weights (summing to 1).
inline void axis_taps(float x, idx_t in, int rounding, float cubic_a, int exclude_outside, idx_t* index, float* weight) {
#if defined(MODE_NEAREST)
  float r;
  switch (rounding) {
    case ROUND_HALF_UP: r = floor(x + 0.5f); break;
    case ROUND_HALF_DOWN: r = ceil(x - 0.5f); break;
    case ROUND_FLOOR: r = floor(x); break;
    default: r = ceil(x); break;
  }
  index[0] = clamp((idx_t)r, (idx_t)0, in - 1);
  weight[0] = 1.0f;
#elif defined(MODE_LINEAR)
  x = clamp(x, 0.0f, (float)(in - 1));
  const idx_t low = (idx_t)floor(x);
  const float t = x - (float)low;
  index[0] = low;
  index[1] = min(low + 1, in - 1);
  weight[0] = 1.0f - t;
  weight[1] = t;
#else
  const idx_t base = (idx_t)floor(x);
  const float t = x - (float)base;
  float total = 0.0f;
  for (int k = 0; k < 4; ++k) {
    const idx_t at = base - 1 + k;
    float w = cubic_weight(t - (float)(k - 1), cubic_a);
    if (exclude_outside && (at < 0 || at >= in)) w = 0.0f;
    index[k] = clamp(at, (idx_t)0, in - 1);
    weight[k] = w;
    total += w;
  }
  if (exclude_outside && total != 0.0f) {
    for (int k = 0; k < 4; ++k) weight[k] /= total;
  }
#endif
}

__kernel void resize(IN_PTR in, long in_offset, OUT_PTR out, long out_offset, idx_t count, int rank,
                     idx8_t out_dims, idx8_t in_dims, float8 scales, int transform, int single_upper,
                     int rounding, float cubic_a, int exclude_outside) {
  const idx_t index = get_global_id(0);
  if (index >= count) return;
  UNPACK8(idx_t, out_dim, out_dims);
  UNPACK8(idx_t, in_dim, in_dims);
  UNPACK8(float, scale, scales);
  idx_t fixed = 0;  // the offset of the copied axes
  idx_t stride = 1;
  int resized = 0;
  idx_t tap_index[MAX_RESIZED][TAPS];
  float tap_weight[MAX_RESIZED][TAPS];
  idx_t tap_stride[MAX_RESIZED];
  idx_t rest = index;
  for (int axis = 0; axis < rank; ++axis) {
    const idx_t o = rest % out_dim[axis];
    rest /= out_dim[axis];
    if (out_dim[axis] == in_dim[axis] && scale[axis] == 1.0f) {
      fixed += o * stride;
    } else {
      const float x = source_coordinate(o, in_dim[axis], out_dim[axis], scale[axis], transform, single_upper);
      axis_taps(x, in_dim[axis], rounding, cubic_a, exclude_outside, tap_index[resized], tap_weight[resized]);
      tap_stride[resized] = stride;
      ++resized;
    }
    stride *= in_dim[axis];
  }
  float sum = 0.0f;
  int combinations = 1;
  for (int r = 0; r < resized; ++r) combinations *= TAPS;
  for (int c = 0; c < combinations; ++c) {
    idx_t offset = fixed;
    float weight = 1.0f;
    int code = c;
    for (int r = 0; r < resized; ++r) {
      const int k = code % TAPS;
      code /= TAPS;
      offset += tap_index[r][k] * tap_stride[r];
      weight *= tap_weight[r][k];
    }
    if (weight != 0.0f) sum += weight * LOAD_IN(in, in_offset + offset);
  }
  STORE_OUT(out, out_offset + index, sum);
}
