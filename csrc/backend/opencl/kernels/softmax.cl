// Softmax and LogSoftmax along one axis, the input viewed as (outer, length, inner). Both
// subtract the maximum first so exp never overflows.

// inner == 1: one work-group per row, the row's items split over the group.
__kernel __attribute__((reqd_work_group_size(GROUP, 1, 1)))
void softmax_rows(IN_PTR in, long in_offset, OUT_PTR out, long out_offset, idx_t length,
                  int log_output) {
  __local float scratch[GROUP];
  const idx_t base = (idx_t)get_group_id(0) * length;
  const int lid = get_local_id(0);
  float maximum = -INFINITY;
  for (idx_t j = lid; j < length; j += GROUP) maximum = fmax(maximum, LOAD_IN(in, in_offset + base + j));
  maximum = group_reduce(RED_MAX, maximum, scratch);
  float sum = 0.0f;
  for (idx_t j = lid; j < length; j += GROUP) sum += exp(LOAD_IN(in, in_offset + base + j) - maximum);
  sum = group_reduce(RED_SUM, sum, scratch);
  const float log_sum = log(sum);
  const float inverse_sum = 1.0f / sum;
  for (idx_t j = lid; j < length; j += GROUP) {
    const float shifted = LOAD_IN(in, in_offset + base + j) - maximum;
    STORE_OUT(out, out_offset + base + j, log_output ? shifted - log_sum : exp(shifted) * inverse_sum);
  }
}

// inner > 1: one work item per (outer, inner) column; neighbouring items read neighbouring
// addresses, so the loads coalesce.
__kernel void softmax_columns(IN_PTR in, long in_offset, OUT_PTR out, long out_offset,
                              idx_t count, idx_t length, idx_t inner, int log_output) {
  const idx_t index = get_global_id(0);
  if (index >= count) return;
  const idx_t base = (index / inner) * length * inner + index % inner;
  float maximum = -INFINITY;
  for (idx_t j = 0; j < length; ++j) maximum = fmax(maximum, LOAD_IN(in, in_offset + base + j * inner));
  float sum = 0.0f;
  for (idx_t j = 0; j < length; ++j) sum += exp(LOAD_IN(in, in_offset + base + j * inner) - maximum);
  const float log_sum = log(sum);
  const float inverse_sum = 1.0f / sum;
  for (idx_t j = 0; j < length; ++j) {
    const float shifted = LOAD_IN(in, in_offset + base + j * inner) - maximum;
    STORE_OUT(out, out_offset + base + j * inner, log_output ? shifted - log_sum : exp(shifted) * inverse_sum);
  }
}
