#include "backend/opencl/ops/pooling/pooling.h"

#include "backend/opencl/kernel_support.h"

namespace mlprt::cl {
namespace {

using namespace support;

constexpr const char* kLauncher = "pooling";
constexpr std::size_t kPixelGroup = 64;

// (outer, inner) of a per-axis list over 1 or 2 spatial axes: 1-D is 2-D with height 1.
std::pair<std::int64_t, std::int64_t> heightAndWidth(const std::vector<std::int64_t>& values, std::size_t axes,
                                                     std::int64_t fallback, const char* what) {
  if (values.size() != axes) {
    throw InvalidArgument(std::string(kLauncher) + ": " + what + " has " + std::to_string(values.size()) +
                          " entries for " + std::to_string(axes) + " spatial axes");
  }
  return axes == 1 ? std::make_pair(fallback, values[0]) : std::make_pair(values[0], values[1]);
}

}  // namespace

void pooling(KernelCache& cache, Stream& stream, PoolingType type, const DeviceTensor& in, const PoolingWindow& window,
             const DeviceTensor& out) {
  const std::size_t rank = in.shape.rank();
  if (rank < 3 || rank > 4 || out.shape.rank() != rank || out.shape[0] != in.shape[0] ||
      out.shape[1] != in.shape[1]) {
    throw InvalidArgument(std::string(kLauncher) + ": input " + in.shape.toString() + " and output " +
                          out.shape.toString() + " must be (N, C, 1 or 2 spatial axes) with equal N and C");
  }
  requireFloating(kLauncher, "input", in);
  requireFloating(kLauncher, "output", out);
  const std::int64_t in_volume = checkPlacement(cache, kLauncher, "input", in);
  const std::int64_t out_volume = checkPlacement(cache, kLauncher, "output", out);
  if (out_volume == 0) return;
  if (in_volume > std::numeric_limits<std::int32_t>::max() || out_volume > std::numeric_limits<std::int32_t>::max()) {
    throw InvalidArgument(std::string(kLauncher) + ": tensors of 2^31 elements or more are not supported");
  }
  const std::size_t axes = rank - 2;
  const auto [h, w] = heightAndWidth({in.shape.extents().begin() + 2, in.shape.extents().end()}, axes, 1, "input");
  const auto [oh, ow] = heightAndWidth({out.shape.extents().begin() + 2, out.shape.extents().end()}, axes, 1, "output");
  const auto [kh, kw] = heightAndWidth(window.window, axes, 1, "window");
  const auto [sh, sw] = heightAndWidth(window.stride, axes, 1, "stride");
  const auto [dh, dw] = heightAndWidth(window.dilation, axes, 1, "dilation");
  const auto [ph, pw] = heightAndWidth(window.pad_before, axes, 0, "pad_before");
  const auto [qh, qw] = heightAndWidth(window.pad_after, axes, 0, "pad_after");
  const std::string options = joinOptions({halfOption("IN", in.type), halfOption("OUT", out.type),
                                           type == PoolingType::kMAX ? "-DPOOL_MAX" : "-DPOOL_AVERAGE"});
  Kernel& kernel = cache.get("pooling", options, "pooling");
  const auto i32 = [](std::int64_t value) { return static_cast<cl_int>(value); };
  Arguments(kernel, false)
      .tensor(in).tensor(out)
      .value<cl_int>(i32(h)).value<cl_int>(i32(w)).value<cl_int>(i32(oh)).value<cl_int>(i32(ow))
      .value<cl_int>(i32(kh)).value<cl_int>(i32(kw)).value<cl_int>(i32(sh)).value<cl_int>(i32(sw))
      .value<cl_int>(i32(dh)).value<cl_int>(i32(dw)).value<cl_int>(i32(ph)).value<cl_int>(i32(pw))
      .value<cl_int>(i32(h + ph + qh)).value<cl_int>(i32(w + pw + qw))
      .value<cl_int>(window.exclude_padding ? 1 : 0);
  kernel.launch(stream, {roundUp(oh * ow, kPixelGroup), static_cast<std::size_t>(in.shape[0] * in.shape[1])},
                {kPixelGroup, 1});
}

}  // namespace mlprt::cl
