#include "backend/opencl/ops/convolution/winograd.h"

#include <algorithm>
#include <limits>

#include "backend/opencl/gemm_launch.h"
#include "backend/opencl/kernel_support.h"

namespace mlprt::cl {
namespace {

using namespace support;

constexpr const char* kLauncher = "winograd convolution";
constexpr std::int64_t kComponents = 16;  // 4 x 4 transformed values per tile
constexpr std::size_t kItems = 64;
constexpr std::size_t kAlignment = 256;

// The GEMM tactics a Winograd tactic may use, fastest-first where they are offered: register tiles
// for any storage, tensor-core tiles for HALF (and FLOAT under TF32).
const std::vector<std::string> kGemmTactics = {"large_m64n64_k16_t8x8", "large_m128n128_k8_t8x8", "mma_f16_128x128",
                                               "mma_f16_64x64", "mma_tf32_128x128"};

std::size_t alignedUp(std::size_t bytes) { return roundUp(static_cast<std::int64_t>(bytes), kAlignment); }

// The tiles of 2 x 2 output pixels: per image along each axis, and in all.
struct Tiles {
  std::int64_t th, tw, count;
};
Tiles tilesOf(const Dims& out) {
  const std::int64_t th = (out[2] + 1) / 2, tw = (out[3] + 1) / 2;
  return {th, tw, out[0] * th * tw};
}

// Where the transformed operands lie in the workspace, in bytes from its start.
struct Parts {
  std::size_t u = 0, v = 0, products = 0, total = 0;
};
Parts partsOf(const Dims& in, const Dims& kernel, const Dims& out, DataType type) {
  const Tiles tiles = tilesOf(out);
  const std::size_t element = elementSize(type);
  Parts parts;
  parts.v = alignedUp(static_cast<std::size_t>(kComponents * kernel[0] * in[1]) * element);
  parts.products = parts.v + alignedUp(static_cast<std::size_t>(kComponents * in[1] * tiles.count) * element);
  parts.total = parts.products + alignedUp(static_cast<std::size_t>(kComponents * kernel[0] * tiles.count) * element);
  return parts;
}

DeviceTensor part(const DeviceTensor& workspace, std::size_t offset, const Dims& shape, DataType type) {
  return DeviceTensor{{workspace.range.buffer, workspace.range.offset + offset}, shape, type};
}

}  // namespace

std::string winogradGemmTactic(const std::string& tactic) {
  const std::string prefix = kWinogradPrefix;
  return tactic.compare(0, prefix.size(), prefix) == 0 ? tactic.substr(prefix.size()) : std::string();
}

std::vector<std::string> winogradTactics(const Context& context, DataType type, const GemmPolicy& policy) {
  std::vector<std::string> tactics;
  if (!isFloating(type)) return tactics;
  const std::vector<GemmTactic> offered = gemmTactics(context, type, policy);
  for (const std::string& gemm : kGemmTactics) {
    const bool available = std::any_of(offered.begin(), offered.end(), [&gemm](const GemmTactic& t) { return t.name == gemm; });
    if (available) tactics.push_back(kWinogradPrefix + gemm);
  }
  return tactics;
}

bool winogradRuns(const std::vector<std::int64_t>& kernel, const std::vector<std::int64_t>& stride,
                  const std::vector<std::int64_t>& dilation, std::int64_t groups) {
  const auto all_ones = [](const std::vector<std::int64_t>& values) {
    return std::all_of(values.begin(), values.end(), [](std::int64_t v) { return v == 1; });
  };
  return kernel == std::vector<std::int64_t>{3, 3} && all_ones(stride) && all_ones(dilation) && groups == 1;
}

std::size_t winogradWorkspaceBytes(const Dims& in, const Dims& kernel, const Dims& out, DataType type) {
  if (in.rank() != 4 || kernel.rank() != 4 || out.rank() != 4) return 0;
  return partsOf(in, kernel, out, type).total;
}

void winogradConvolution(KernelCache& cache, Stream& stream, const std::string& tactic, const DeviceTensor& in,
                         const DeviceTensor& kernel, const std::vector<std::int64_t>& pad_before,
                         const GemmEpilogue& epilogue, const DeviceTensor& out, const DeviceTensor* residual,
                         const DeviceTensor* workspace) {
  const std::string gemm = winogradGemmTactic(tactic);
  if (gemm.empty()) throw InvalidArgument(std::string(kLauncher) + ": '" + tactic + "' is no Winograd tactic");
  const bool plain = in.shape.rank() == 4 && kernel.shape.rank() == 4 && out.shape.rank() == 4 && kernel.shape[2] == 3 &&
                     kernel.shape[3] == 3 && kernel.shape[1] == in.shape[1] && pad_before.size() == 2;
  if (!plain) {
    throw InvalidArgument(std::string(kLauncher) + ": tactic '" + tactic + "' runs 2-D 3x3 convolutions of one group; "
                          "kernel " + kernel.shape.toString() + " on input " + in.shape.toString() + " is not one");
  }
  const DataType type = in.type;
  const Tiles tiles = tilesOf(out.shape);
  const std::int64_t channels = in.shape[1], maps = kernel.shape[0];
  const Parts parts = partsOf(in.shape, kernel.shape, out.shape, type);
  const std::size_t given = workspace ? static_cast<std::size_t>(workspace->shape.volume()) * elementSize(workspace->type) : 0;
  if (given < parts.total) {
    throw InvalidArgument(std::string(kLauncher) + ": tactic '" + tactic + "' needs a workspace of " +
                          std::to_string(parts.total) + " bytes for input " + in.shape.toString() + " and output " +
                          out.shape.toString() + "; given " + std::to_string(given));
  }
  if (out.shape.volume() == 0) return;
  if (kComponents * std::max({channels, maps}) * tiles.count > std::numeric_limits<std::int32_t>::max()) {
    throw InvalidArgument(std::string(kLauncher) + ": input " + in.shape.toString() + " and output " +
                          out.shape.toString() + " transform to 2^31 values or more");
  }
  const DeviceTensor u = part(*workspace, parts.u, Dims{kComponents, maps, channels}, type);
  const DeviceTensor v = part(*workspace, parts.v, Dims{kComponents, channels, tiles.count}, type);
  const DeviceTensor products = part(*workspace, parts.products, Dims{kComponents, maps, tiles.count}, type);
  const std::string options = joinOptions({halfOption("IN", type), halfOption("OUT", type), halfOption("BIAS", type),
                                           halfOption("RES", type)});
  const auto i32 = [](std::int64_t value) { return static_cast<cl_int>(value); };
  Kernel& input = cache.get("winograd", options, "winograd_input");
  Arguments(input, false)
      .tensor(in).tensor(v)
      .value<cl_int>(i32(channels)).value<cl_int>(i32(in.shape[2])).value<cl_int>(i32(in.shape[3]))
      .value<cl_int>(i32(pad_before[0])).value<cl_int>(i32(pad_before[1]))
      .value<cl_int>(i32(tiles.th)).value<cl_int>(i32(tiles.tw)).value<cl_int>(i32(tiles.count));
  input.launch(stream, {roundUp(tiles.count, kItems), static_cast<std::size_t>(channels)}, {kItems, 1});
  Kernel& weights = cache.get("winograd", options, "winograd_weights");
  Arguments(weights, false).tensor(kernel).tensor(u).value<cl_int>(i32(maps)).value<cl_int>(i32(channels));
  weights.launch(stream, {roundUp(maps * channels, kItems)}, {kItems});
  matrixMultiply(cache, stream, GemmTactic{gemm}, u, MatrixOperation::kNONE, v, MatrixOperation::kNONE, GemmEpilogue{},
                 products);
  Kernel& output = cache.get("winograd", options, "winograd_output");
  Arguments(output, false)
      .tensor(products).tensor(out).tensor(epilogue.bias ? *epilogue.bias : out).tensor(residual ? *residual : out)
      .value<cl_int>(i32(maps)).value<cl_int>(i32(out.shape[2])).value<cl_int>(i32(out.shape[3]))
      .value<cl_int>(i32(tiles.th)).value<cl_int>(i32(tiles.tw)).value<cl_int>(i32(tiles.count))
      .value<cl_int>(epilogue.bias ? 1 : 0).value<cl_int>(residualMode(epilogue, residual)).value<cl_int>(activationCode(epilogue))
      .value<cl_float>(epilogue.alpha).value<cl_float>(epilogue.beta);
  output.launch(stream, {roundUp(tiles.count, kItems), static_cast<std::size_t>(maps)}, {kItems, 1});
}

}  // namespace mlprt::cl
