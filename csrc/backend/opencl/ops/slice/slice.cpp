#include "backend/opencl/ops/slice/slice.h"

#include <array>
#include <cstring>

#include "backend/opencl/kernel_support.h"

namespace mlprt::cl {
namespace {

using namespace support;

constexpr const char* kLauncher = "slice";

}  // namespace

void slice(KernelCache& cache, Stream& stream, const DeviceTensor& in, const std::vector<std::int64_t>& start,
           const std::vector<std::int64_t>& stride, SampleMode mode, const std::vector<std::uint8_t>& fill,
           const DeviceTensor& out) {
  const std::size_t rank = in.shape.rank();
  if (out.shape.rank() != rank || start.size() != rank || stride.size() != rank) {
    throw InvalidArgument(std::string(kLauncher) + ": input " + in.shape.toString() + ", output " +
                          out.shape.toString() + ", start and stride must have one entry per axis");
  }
  if (out.type != in.type) throw InvalidArgument(std::string(kLauncher) + ": input and output types differ");
  const std::size_t element = elementSize(in.type);
  if (mode == SampleMode::kFILL && fill.size() != element) {
    throw InvalidArgument(std::string(kLauncher) + ": the fill value has " + std::to_string(fill.size()) +
                          " bytes, not " + std::to_string(element));
  }
  checkPlacement(cache, kLauncher, "input", in);
  const std::int64_t volume = checkPlacement(cache, kLauncher, "output", out);
  if (volume == 0) return;
  for (std::size_t axis = 0; axis < rank; ++axis) {
    if (stride[axis] == 0) throw InvalidArgument(std::string(kLauncher) + ": stride 0 on axis " + std::to_string(axis));
    if (out.shape[axis] > 0 && in.shape[axis] == 0 && mode != SampleMode::kFILL) {
      throw InvalidArgument(std::string(kLauncher) + ": axis " + std::to_string(axis) + " of the input is empty");
    }
    const std::int64_t last = start[axis] + (out.shape[axis] - 1) * stride[axis];
    const bool inside = start[axis] >= 0 && start[axis] < in.shape[axis] && last >= 0 && last < in.shape[axis];
    if (mode == SampleMode::kSTRICT_BOUNDS && out.shape[axis] > 0 && !inside) {
      throw InvalidArgument(std::string(kLauncher) + ": axis " + std::to_string(axis) + " reads from " +
                            std::to_string(start[axis]) + " to " + std::to_string(last) + ", outside the input's " +
                            std::to_string(in.shape[axis]) + " elements");
    }
  }
  std::vector<std::int64_t> in_strides(rank, 1);
  for (std::size_t axis = rank; axis-- > 1;) in_strides[axis - 1] = in_strides[axis] * in.shape[axis];
  Kernel& kernel = cache.get("slice", bitsElementOption(kLauncher, element), "slice");
  Arguments arguments(kernel, true);
  arguments.tensor(in).tensor(out)
      .value<cl_long>(volume)
      .value<cl_int>(static_cast<cl_int>(rank))
      .value(innermostFirst<cl_long8, std::int64_t>(out.shape.extents(), 1))
      .value(innermostFirst<cl_long8, std::int64_t>(in.shape.extents(), 1))
      .value(innermostFirst<cl_long8, std::int64_t>(in_strides, 0))
      .value(innermostFirst<cl_long8, std::int64_t>(start, 0))
      .value(innermostFirst<cl_long8, std::int64_t>(stride, 1))
      .value<cl_int>(static_cast<cl_int>(mode));
  std::array<std::uint8_t, 8> fill_bits{};
  std::copy(fill.begin(), fill.end(), fill_bits.begin());
  switch (element) {
    case 1: arguments.value<cl_uchar>(fill_bits[0]); break;
    case 2: { cl_ushort v; std::memcpy(&v, fill_bits.data(), 2); arguments.value<cl_ushort>(v); break; }
    case 4: { cl_uint v; std::memcpy(&v, fill_bits.data(), 4); arguments.value<cl_uint>(v); break; }
    default: { cl_ulong v; std::memcpy(&v, fill_bits.data(), 8); arguments.value<cl_ulong>(v); break; }
  }
  launchLinear(kernel, stream, volume);
}

}  // namespace mlprt::cl
