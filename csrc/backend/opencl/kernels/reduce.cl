// Reductions over any set of axes. The host splits the (merged) axes into kept ones, one output
// element per kept index, and reduced ones, folded into each output; each has its own dims and
// strides vectors (innermost first).

// One work-group per output: for few outputs over many elements.
__kernel __attribute__((reqd_work_group_size(GROUP, 1, 1)))
void reduce_group(IN_PTR in, long in_offset, OUT_PTR out, long out_offset, int kept_rank,
                  idx8_t kept_dims, idx8_t kept_strides, int reduced_rank, idx8_t reduced_dims,
                  idx8_t reduced_strides, idx_t reduced_count, int op) {
  __local float scratch[GROUP];
  const idx_t output = get_group_id(0);
  const idx_t base = unravel1(output, kept_rank, kept_dims, kept_strides);
  float accumulator = reduce_identity(op);
  for (idx_t r = get_local_id(0); r < reduced_count; r += GROUP) {
    const idx_t offset = base + unravel1(r, reduced_rank, reduced_dims, reduced_strides);
    accumulator = reduce_combine(op, accumulator, LOAD_IN(in, in_offset + offset));
  }
  accumulator = group_reduce(op, accumulator, scratch);
  if (get_local_id(0) == 0) {
    STORE_OUT(out, out_offset + output, op == RED_AVG ? accumulator / (float)reduced_count : accumulator);
  }
}

// One work item per output: for many outputs, or when the kept axes are innermost so that
// neighbouring items read neighbouring addresses.
__kernel void reduce_thread(IN_PTR in, long in_offset, OUT_PTR out, long out_offset,
                            idx_t out_count, int kept_rank, idx8_t kept_dims, idx8_t kept_strides,
                            int reduced_rank, idx8_t reduced_dims, idx8_t reduced_strides,
                            idx_t reduced_count, int op) {
  const idx_t output = get_global_id(0);
  if (output >= out_count) return;
  const idx_t base = unravel1(output, kept_rank, kept_dims, kept_strides);
  float accumulator = reduce_identity(op);
  for (idx_t r = 0; r < reduced_count; ++r) {
    const idx_t offset = base + unravel1(r, reduced_rank, reduced_dims, reduced_strides);
    accumulator = reduce_combine(op, accumulator, LOAD_IN(in, in_offset + offset));
  }
  STORE_OUT(out, out_offset + output, op == RED_AVG ? accumulator / (float)reduced_count : accumulator);
}
