// The probe of host_access.cpp: reads and writes pinned host memory through raw 64-bit host
// addresses, as the fused MLP does for inputs and outputs in pinned host memory.
__kernel void through_host_address(ulong in_address, ulong out_address, int n) {
  __global const float* in = (__global const float*)in_address;
  __global float* out = (__global float*)out_address;
  const int i = get_global_id(0);
  if (i < n) out[i] = in[i] * 2.0f + 1.0f;
}
