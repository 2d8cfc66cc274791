// Local response normalization across channels (ONNX LRN, TensorRT's ILRNLayer), NC... layout:
// y = x / (k + alpha / size * sum of x^2 over channels c - (size - 1) / 2 .. c + size / 2)^beta.
// One work-item per element; the window is summed in float.
__kernel void lrn(IN_PTR in, long in_offset, OUT_PTR out, long out_offset, long count, int channels,
                  long plane, int size, float alpha, float beta, float k) {
  const long index = get_global_id(0);
  if (index >= count) return;
  const int c = (int)((index / plane) % channels);
  const int first = max(0, c - (size - 1) / 2), last = min(channels - 1, c + size / 2);
  const long channel0 = index - (long)c * plane;
  float squares = 0.0f;
  for (int j = first; j <= last; ++j) {
    const float v = LOAD_IN(in, in_offset + channel0 + (long)j * plane);
    squares += v * v;
  }
  const float x = LOAD_IN(in, in_offset + index);
  STORE_OUT(out, out_offset + index, x / pow(k + alpha / (float)size * squares, beta));
}
