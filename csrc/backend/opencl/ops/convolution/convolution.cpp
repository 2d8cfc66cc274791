#include "backend/opencl/ops/convolution/convolution.h"

#include <algorithm>
#include <atomic>

#include "backend/opencl/gemm_launch.h"
#include "backend/opencl/kernel_support.h"
#include "backend/opencl/ops/convolution/convolution_mma.h"
#include "backend/opencl/ops/convolution/winograd.h"

namespace mlprt::cl {
namespace {

using namespace support;

constexpr const char* kLauncher = "convolution";
constexpr const char* kDirectPrefix = "direct_m";
constexpr std::size_t kPixelGroup = 64;
const std::vector<int> kOutputMapTiles = {1, 4, 8};

// Implicit-GEMM tiles: TM x TN outputs per item of a 16 x 16 work-group ("igemm_t<TM>x<TN>"), K
// in tiles of 16; "_splitk" also splits K across work-groups where the blocks alone would not
// fill the device (late layers at batch 1: a 1x1 layer of 7x7 pixels and K = 960 is 10 blocks,
// each 60 trips through K), summed by a second pass from the workspace.
// "hwc_igemm_*": the same tiles on channels-last tensors (convolution.cl, HWC).
struct GemmTile {
  int tm, tn;
  bool split_k;
  bool channels_last = false;
  std::string name() const {
    return std::string(channels_last ? "hwc_" : "") + "igemm_t" + std::to_string(tm) + "x" + std::to_string(tn) +
           (split_k ? "_splitk" : "");
  }
  std::int64_t maps() const { return 16 * tm; }
  std::int64_t pixels() const { return 16 * tn; }
};
const std::vector<GemmTile> kGemmTiles = {{2, 2, false}, {4, 4, false}, {2, 2, true}, {4, 4, true}};
const std::vector<GemmTile> kChannelsLastTiles = {
    {2, 2, false, true}, {4, 4, false, true}, {2, 2, true, true}, {4, 4, true, true}};
constexpr std::int64_t kGemmTileK = 16;
constexpr std::size_t kGemmGroupSide = 16;

// The depthwise kernel (convolution.cl, DEPTHWISE): tiles of 16 x 16 output pixels, input patches
// of at most 48 x 48. Its channels-last form (DEPTHWISE_HWC): one item per output element, 64
// consecutive maps of one pixel per work-group.
constexpr const char* kDepthwiseTactic = "depthwise";
constexpr const char* kChannelsLastDepthwiseTactic = "hwc_depthwise";
constexpr std::size_t kDepthwiseHwcGroup = 64;
constexpr std::int64_t kDepthwiseTile = 16;
constexpr std::int64_t kDepthwisePatch = 48;

// The wgmma tiles copy 16-byte chunks of 8 channels of one tap.
constexpr std::int64_t kWgmmaChannelStep = 8;

// What a tactic name asks for: a direct kernel's output maps per item, an implicit-GEMM tile, a
// tensor-core tile, or the depthwise kernel.
struct ParsedTactic {
  int maps_per_item = 0;  // direct
  const GemmTile* tile = nullptr;
  const MmaConvolutionTile* mma = nullptr;
  bool depthwise = false;
  bool winograd = false;  // winograd.h
  std::string pointwise_gemm{};  // "hwc_gemm:<GEMM tactic>"
  bool mma_channels_last = false;  // "hwc_mma_*"
  bool depthwise_channels_last = false;  // "hwc_depthwise"
  const WgmmaConvolutionTile* wgmma = nullptr;  // "hwc_wgmma_*"
};

ParsedTactic parseTactic(const std::string& tactic) {
  if (tactic == kDepthwiseTactic) return {0, nullptr, nullptr, true};
  if (tactic == kChannelsLastDepthwiseTactic) {
    ParsedTactic parsed;
    parsed.depthwise = parsed.depthwise_channels_last = true;
    return parsed;
  }
  if (const std::string gemm = channelsLastGemmTactic(tactic); !gemm.empty()) {
    ParsedTactic parsed;
    parsed.pointwise_gemm = gemm;
    return parsed;
  }
  if (!winogradGemmTactic(tactic).empty()) return {0, nullptr, nullptr, false, true};
  const std::string prefix = kDirectPrefix;
  if (tactic.compare(0, prefix.size(), prefix) == 0) {
    const std::string digits = tactic.substr(prefix.size());
    for (int tile : kOutputMapTiles) {
      if (digits == std::to_string(tile)) return {tile, nullptr};
    }
  }
  for (const std::vector<GemmTile>* tiles : {&kGemmTiles, &kChannelsLastTiles}) {
    for (const GemmTile& tile : *tiles) {
      if (tactic == tile.name()) return {0, &tile};
    }
  }
  if (const WgmmaConvolutionTile* wgmma = findWgmmaConvolutionTile(tactic)) {
    ParsedTactic parsed;
    parsed.wgmma = wgmma;
    return parsed;
  }
  bool mma_channels_last = false;
  if (const MmaConvolutionTile* mma = findMmaConvolutionTile(tactic, &mma_channels_last)) {
    ParsedTactic parsed;
    parsed.mma = mma;
    parsed.mma_channels_last = mma_channels_last;
    return parsed;
  }
  throw InvalidArgument(std::string(kLauncher) + ": unknown convolution tactic '" + tactic + "'");
}

// The 2-D view of 1 or 2 spatial axes: (H, W) = (1, d) for one axis.
struct Plane {
  std::int64_t h = 1, w = 1;
};

Plane planeOf(const Dims& shape) {
  return shape.rank() == 3 ? Plane{1, shape[2]} : Plane{shape[2], shape[3]};
}

std::int64_t axisValue(const std::vector<std::int64_t>& values, std::size_t spatial_axes, bool height,
                       std::int64_t fallback, const char* what) {
  if (values.size() != spatial_axes) {
    throw InvalidArgument(std::string(kLauncher) + ": " + what + " has " + std::to_string(values.size()) +
                          " entries for " + std::to_string(spatial_axes) + " spatial axes");
  }
  if (spatial_axes == 1) return height ? fallback : values[0];
  return height ? values[0] : values[1];
}

// Which of the two families a launch is: the kernel's layout and name differ, nothing else.
struct Family {
  const char* name;         // program family and kernel prefix
  bool transposed;          // kernel (C, M / groups, k...) instead of (M, C / groups, k...)
};
constexpr Family kConvolution{"convolution", false};
constexpr Family kDeconvolution{"deconvolution", true};

void checkShapes(const Family& family, const DeviceTensor& in, const DeviceTensor& kernel, const GemmEpilogue& epilogue,
                 const ConvolutionWindow& window, const DeviceTensor& out) {
  const std::size_t rank = in.shape.rank();
  if (rank < 3 || rank > 4 || kernel.shape.rank() != rank || out.shape.rank() != rank) {
    throw InvalidArgument(std::string(family.name) + ": input " + in.shape.toString() + ", kernel " +
                          kernel.shape.toString() + " and output " + out.shape.toString() +
                          " must all have rank 3 or 4");
  }
  const std::int64_t channels = in.shape[1];
  const std::int64_t maps = family.transposed ? kernel.shape[1] * window.groups : kernel.shape[0];
  const bool fits = family.transposed ? kernel.shape[0] == channels
                                      : kernel.shape[1] * window.groups == channels;
  if (window.groups <= 0 || channels % window.groups != 0 || maps % window.groups != 0 || !fits) {
    throw InvalidArgument(std::string(family.name) + ": kernel " + kernel.shape.toString() + " in " +
                          std::to_string(window.groups) + " groups does not fit input " + in.shape.toString());
  }
  if (out.shape[0] != in.shape[0] || out.shape[1] != maps) {
    throw InvalidArgument(std::string(family.name) + ": output " + out.shape.toString() + " is not (" +
                          std::to_string(in.shape[0]) + ", " + std::to_string(maps) + ", ...)");
  }
  if (epilogue.bias && epilogue.bias->shape.volume() != maps) {
    throw InvalidArgument(std::string(family.name) + ": bias " + epilogue.bias->shape.toString() + " does not have " +
                          std::to_string(maps) + " values");
  }
  for (const DeviceTensor* tensor : {&in, &kernel, &out}) requireFloating(family.name, "operand", *tensor);
  if (kernel.type != in.type || out.type != in.type || (epilogue.bias && epilogue.bias->type != in.type)) {
    throw InvalidArgument(std::string(family.name) + ": input, kernel, bias and output must share one type");
  }
}

}  // namespace

std::vector<std::string> deconvolutionTactics(DataType type) {
  std::vector<std::string> tactics;
  if (!isFloating(type)) return tactics;
  for (int tile : kOutputMapTiles) tactics.push_back(kDirectPrefix + std::to_string(tile));
  return tactics;
}

std::vector<std::string> convolutionTactics(DataType type) {
  std::vector<std::string> tactics = deconvolutionTactics(type);
  if (!tactics.empty()) {
    for (const GemmTile& tile : kGemmTiles) tactics.push_back(tile.name());
  }
  return tactics;
}

std::vector<std::string> convolutionTactics(const Context& context, DataType type, const GemmPolicy& policy) {
  std::vector<std::string> tactics = convolutionTactics(type);
  if (!tactics.empty()) tactics.push_back(kDepthwiseTactic);
  for (const std::string& winograd : winogradTactics(context, type, policy)) tactics.push_back(winograd);
  for (const MmaConvolutionTile& tile : mmaConvolutionTiles()) {
    if (mmaConvolutionTileOffered(tile, context, type, policy)) tactics.push_back(tile.name);
  }
  return tactics;
}

std::vector<std::string> channelsLastConvolutionTactics(DataType type) {
  std::vector<std::string> tactics;
  if (!isFloating(type)) return tactics;
  for (const GemmTile& tile : kChannelsLastTiles) tactics.push_back(tile.name());
  tactics.push_back(kChannelsLastDepthwiseTactic);
  return tactics;
}

std::string channelsLastGemmTactic(const std::string& tactic) {
  const std::string prefix = kChannelsLastGemmPrefix;
  return tactic.compare(0, prefix.size(), prefix) == 0 ? tactic.substr(prefix.size()) : std::string();
}

bool convolutionTacticChannelsLast(const std::string& tactic) {
  const ParsedTactic parsed = parseTactic(tactic);
  return (parsed.tile && parsed.tile->channels_last) || !parsed.pointwise_gemm.empty() || parsed.mma_channels_last ||
         parsed.depthwise_channels_last || parsed.wgmma;
}

bool pointwiseConvolution(const std::vector<std::int64_t>& kernel, const std::vector<std::int64_t>& stride,
                          const std::vector<std::int64_t>& pre_padding, const std::vector<std::int64_t>& post_padding,
                          std::int64_t groups) {
  const auto all = [](const std::vector<std::int64_t>& values, std::int64_t value) {
    return std::all_of(values.begin(), values.end(), [value](std::int64_t v) { return v == value; });
  };
  return !kernel.empty() && all(kernel, 1) && all(stride, 1) && all(pre_padding, 0) && all(post_padding, 0) && groups == 1;
}

std::vector<std::string> channelsLastConvolutionTactics(const Context& context, DataType type, const GemmPolicy& policy,
                                                        bool pointwise) {
  std::vector<std::string> tactics = channelsLastConvolutionTactics(type);
  for (const MmaConvolutionTile& tile : mmaConvolutionTiles()) {
    if (mmaConvolutionTileOffered(tile, context, type, policy)) tactics.push_back(kChannelsLastMmaPrefix + std::string(tile.name));
  }
  if (wgmmaConvolutionOffered(context, type)) {
    for (const WgmmaConvolutionTile& tile : wgmmaConvolutionTiles()) tactics.push_back(tile.name);
  }
  if (!pointwise || tactics.empty()) return tactics;
  for (const GemmTactic& gemm : gemmTactics(context, type, policy)) tactics.push_back(kChannelsLastGemmPrefix + gemm.name);
  return tactics;
}

bool convolutionTacticUsesTensorCores(const std::string& tactic) {
  const ParsedTactic parsed = parseTactic(tactic);
  if (parsed.mma || parsed.wgmma) return true;
  if (!parsed.pointwise_gemm.empty()) return gemmTacticUsesTensorCores(GemmTactic{parsed.pointwise_gemm});
  if (parsed.winograd) return gemmTacticUsesTensorCores(GemmTactic{winogradGemmTactic(tactic)});
  return false;
}

std::vector<std::string> tensorCoreConvolutionTactics(DataType type, bool channels_last) {
  std::vector<std::string> tactics;
  for (const MmaConvolutionTile& tile : mmaConvolutionTiles()) {
    if ((type == DataType::kFLOAT && tile.tf32) || (type == DataType::kHALF && !tile.tf32)) {
      tactics.push_back((channels_last ? kChannelsLastMmaPrefix : "") + std::string(tile.name));
    }
  }
  return tactics;
}

bool convolutionTacticWorthTiming(const std::string& tactic, std::int64_t group_maps, std::int64_t pixels,
                                  std::int64_t group_channels, std::int64_t groups) {
  const ParsedTactic parsed = parseTactic(tactic);
  if (parsed.depthwise) return group_channels == 1;
  if (!parsed.pointwise_gemm.empty()) return true;  // the builder asks the GEMM's own rules
  // Winograd pays for its transforms only where the products over the channels are long enough.
  if (parsed.winograd) return group_channels >= kWinogradMinimumChannels && group_maps >= kWinogradMinimumChannels;
  if (parsed.mma) return !blockMostlyPadding(parsed.mma->bm, group_maps) && !blockMostlyPadding(parsed.mma->bn, pixels);
  if (parsed.wgmma) {
    return groups == 1 && group_channels % kWgmmaChannelStep == 0 &&
           !blockMostlyPadding(parsed.wgmma->bn, group_maps) && !blockMostlyPadding(WgmmaConvolutionTile::kPixels, pixels);
  }
  if (parsed.tile) return !blockMostlyPadding(parsed.tile->maps(), group_maps) && !blockMostlyPadding(parsed.tile->pixels(), pixels);
  return parsed.maps_per_item == kOutputMapTiles.front() || !blockMostlyPadding(parsed.maps_per_item, group_maps);
}

namespace {

std::atomic<bool> emulation{false};  // setConvolutionMmaEmulation

// The workspace a split run needs (split_k.h).
const DeviceTensor& checkWorkspace(const KernelCache& cache, const std::string& tactic, const DeviceTensor* workspace,
                                   std::size_t bytes, std::int64_t splits) {
  return checkSplitWorkspace(cache, kLauncher, tactic, "convolution", workspace, bytes, splits);
}

// The depthwise kernel's limits: one input channel per group, and a 16 x 16 block of outputs
// whose taps lie within 48 x 48 input values.
void checkDepthwise(const DeviceTensor& in, const ConvolutionWindow& window, std::size_t axes, const Plane& taps,
                    bool channels_last) {
  const std::int64_t channels = in.shape[1];
  const std::string tactic = channels_last ? kChannelsLastDepthwiseTactic : kDepthwiseTactic;
  if (window.groups != channels) {
    throw InvalidArgument(std::string(kLauncher) + ": tactic '" + tactic + "' runs convolutions with one input channel "
                          "per group; this one has " + std::to_string(channels) + " channels in " +
                          std::to_string(window.groups) + " groups");
  }
  if (channels_last) return;  // no patch in local memory
  const auto span = [&](bool height, std::int64_t kernel) {
    const std::int64_t stride = axisValue(window.stride, axes, height, 1, "stride");
    const std::int64_t dilation = axisValue(window.dilation, axes, height, 1, "dilation");
    return (kDepthwiseTile - 1) * stride + (kernel - 1) * dilation + 1;
  };
  const std::int64_t rows = span(true, taps.h), columns = span(false, taps.w);
  if (rows > kDepthwisePatch || columns > kDepthwisePatch) {
    throw InvalidArgument(std::string(kLauncher) + ": tactic 'depthwise' stages at most " +
                          std::to_string(kDepthwisePatch) + " x " + std::to_string(kDepthwisePatch) +
                          " input values per block; this stride, dilation and kernel need " + std::to_string(rows) +
                          " x " + std::to_string(columns));
  }
}

// What the wgmma tiles run: HALF channels-last convolutions of one group whose channels are a
// multiple of 8, input and weights 16-byte aligned (their chunks are single cp.async copies).
void checkWgmma(const std::string& tactic, const DeviceTensor& in, const DeviceTensor& kernel,
                const ConvolutionWindow& window) {
  const auto refuse = [&](const std::string& why) {
    throw InvalidArgument(std::string(kLauncher) + ": tactic '" + tactic + "' " + why);
  };
  if (in.type != DataType::kHALF) refuse("does not run " + std::string(dataTypeName(in.type)) + " tensors");
  if (window.groups != 1) refuse("runs convolutions of one group; this one has " + std::to_string(window.groups));
  if (in.shape[1] % kWgmmaChannelStep != 0) {
    refuse("runs inputs of a multiple of 8 channels; input " + in.shape.toString() + " has " +
           std::to_string(in.shape[1]));
  }
  if (elementOffset(in) % kWgmmaChannelStep != 0 || elementOffset(kernel) % kWgmmaChannelStep != 0) {
    refuse("needs the input and the kernel at 16-byte aligned offsets (elements " + std::to_string(elementOffset(in)) +
           " and " + std::to_string(elementOffset(kernel)) + ")");
  }
}

// A 1x1 convolution at stride 1 without padding, of one group, on HWC tensors is one product:
// out (N x pixels, M) = in (N x pixels, C) x kernel (M, C)^T, with the bias and activation in the
// GEMM's epilogue. No residual (the GEMM epilogue has none; the HWC register tiles take those).
void pointwiseGemmConvolution(KernelCache& cache, Stream& stream, const std::string& tactic, const std::string& gemm,
                              const DeviceTensor& in, const DeviceTensor& kernel, const ConvolutionWindow& window,
                              const GemmEpilogue& epilogue, const DeviceTensor& out, const DeviceTensor* residual,
                              const DeviceTensor* workspace) {
  const std::vector<std::int64_t> taps(kernel.shape.extents().begin() + 2, kernel.shape.extents().end());
  const std::vector<std::int64_t> in_extents(in.shape.extents().begin() + 2, in.shape.extents().end());
  const std::vector<std::int64_t> out_extents(out.shape.extents().begin() + 2, out.shape.extents().end());
  if (!pointwiseConvolution(taps, window.stride, window.pad_before, {}, window.groups) || in_extents != out_extents) {
    throw InvalidArgument(std::string(kLauncher) + ": tactic '" + tactic + "' runs 1x1 convolutions of one group at "
                          "stride 1 without padding; kernel " + kernel.shape.toString() + " from " +
                          in.shape.toString() + " to " + out.shape.toString() + " in " + std::to_string(window.groups) +
                          " group(s) is not one");
  }
  if (residual) {
    throw InvalidArgument(std::string(kLauncher) + ": tactic '" + tactic + "' adds no residual");
  }
  const std::int64_t channels = in.shape[1], maps = out.shape[1];
  const std::int64_t rows = in.shape.volume() / std::max<std::int64_t>(channels, 1);
  const DeviceTensor a{in.range, Dims{rows, channels}, in.type};
  const DeviceTensor b{kernel.range, Dims{maps, channels}, kernel.type};
  const DeviceTensor c{out.range, Dims{rows, maps}, out.type};
  matrixMultiply(cache, stream, GemmTactic{gemm}, a, MatrixOperation::kNONE, b, MatrixOperation::kTRANSPOSE, epilogue, c,
                 workspace);
}

void launch(const Family& family, KernelCache& cache, Stream& stream, const std::string& tactic,
            const DeviceTensor& in, const DeviceTensor& kernel, const ConvolutionWindow& window,
            const GemmEpilogue& epilogue, const DeviceTensor& out, const DeviceTensor* residual,
            const DeviceTensor* workspace, bool emulate_tensor_cores = false, std::int64_t forced_splits = 0) {
  const ParsedTactic parsed = parseTactic(tactic);
  if ((parsed.tile || parsed.mma || parsed.wgmma || parsed.depthwise || parsed.winograd ||
       !parsed.pointwise_gemm.empty()) &&
      family.transposed) {
    throw InvalidArgument(std::string(family.name) + ": tactic '" + tactic + "' runs convolutions only");
  }
  checkShapes(family, in, kernel, epilogue, window, out);
  if (parsed.mma && in.type != (parsed.mma->tf32 ? DataType::kFLOAT : DataType::kHALF)) {
    throw InvalidArgument(std::string(family.name) + ": tactic '" + tactic + "' does not run " +
                          dataTypeName(in.type) + " tensors");
  }
  const std::int64_t in_volume = checkPlacement(cache, family.name, "input", in);
  checkPlacement(cache, family.name, "kernel", kernel);
  const std::int64_t out_volume = checkPlacement(cache, family.name, "output", out);
  if (epilogue.bias) checkPlacement(cache, family.name, "bias", *epilogue.bias);
  if (residual) {
    checkPlacement(cache, family.name, "residual", *residual);
    if (residual->shape != out.shape || residual->type != out.type) {
      throw InvalidArgument(std::string(family.name) + ": residual " + residual->shape.toString() + " " +
                            dataTypeName(residual->type) + " is not the output's " + out.shape.toString() + " " +
                            dataTypeName(out.type));
    }
  }
  if (parsed.winograd) {
    const std::vector<std::int64_t> taps(kernel.shape.extents().begin() + 2, kernel.shape.extents().end());
    if (!winogradRuns(taps, window.stride, window.dilation, window.groups)) {
      throw InvalidArgument(std::string(kLauncher) + ": tactic '" + tactic + "' runs 2-D 3x3 convolutions at stride 1 "
                            "without dilation, of one group; kernel " + kernel.shape.toString() + " in " +
                            std::to_string(window.groups) + " group(s) is not one");
    }
    return winogradConvolution(cache, stream, tactic, in, kernel, window.pad_before, epilogue, out, residual, workspace);
  }
  if (!parsed.pointwise_gemm.empty()) {
    return pointwiseGemmConvolution(cache, stream, tactic, parsed.pointwise_gemm, in, kernel, window, epilogue, out,
                                    residual, workspace);
  }
  if (out_volume == 0) return;
  if (in_volume > std::numeric_limits<std::int32_t>::max() || out_volume > std::numeric_limits<std::int32_t>::max()) {
    throw InvalidArgument(std::string(family.name) + ": tensors of 2^31 elements or more are not supported");
  }
  const std::size_t axes = in.shape.rank() - 2;
  const Plane input = planeOf(in.shape), output = planeOf(out.shape), taps = planeOf(kernel.shape);
  const std::int64_t maps = out.shape[1];
  const std::int64_t group_k = kernel.shape.volume() / std::max<std::int64_t>(kernel.shape[0], 1);
  const std::int64_t pixels = in.shape[0] * output.h * output.w;
  const std::int64_t group_maps = maps / window.groups;
  if (parsed.depthwise) checkDepthwise(in, window, axes, taps, parsed.depthwise_channels_last);
  if (parsed.wgmma) checkWgmma(tactic, in, kernel, window);
  std::int64_t splits = 1;
  std::int64_t mma_pixels = 0;  // the tensor-core kernel's pixel axis (padded rows)
  std::int64_t blocks = 0;
  std::string mma_options;
  if (parsed.mma) {
    MmaConvolutionOperands operands;
    operands.k = group_k;
    operands.weights_offset = elementOffset(kernel);
    operands.pointwise = taps.h == 1 && taps.w == 1 && output.h == input.h && output.w == input.w &&
                         std::all_of(window.stride.begin(), window.stride.end(), [](std::int64_t v) { return v == 1; }) &&
                         std::all_of(window.pad_before.begin(), window.pad_before.end(), [](std::int64_t v) { return v == 0; });
    operands.plane = output.h * output.w;
    operands.input_offset = elementOffset(in);
    operands.channels_last = parsed.mma_channels_last;
    operands.channels = in.shape[1];
    operands.group_channels = in.shape[1] / window.groups;
    mma_pixels = in.shape[0] * output.h *
                 mmaConvolutionRowPitch(*parsed.mma, operands.pointwise || operands.channels_last, output.w);
    blocks = static_cast<std::int64_t>(tilesCovering(mma_pixels, parsed.mma->bn) *
                                       tilesCovering(group_maps, parsed.mma->bm)) *
             window.groups;
    splits = forced_splits > 0 && parsed.mma->split_k
                 ? forced_splits
                 : mmaConvolutionSplits(*parsed.mma, blocks, group_k, cache.context()->device().compute_units);
    mma_options = mmaConvolutionOptions(*parsed.mma, operands, splits > 1, emulate_tensor_cores || emulation.load());
  } else if (parsed.tile) {
    blocks = static_cast<std::int64_t>(tilesCovering(pixels, parsed.tile->pixels()) *
                                       tilesCovering(group_maps, parsed.tile->maps())) *
             window.groups;
    if (parsed.tile->split_k) {
      splits = forced_splits > 0 ? forced_splits
                                 : splitKSlices(blocks, (group_k + kGemmTileK - 1) / kGemmTileK,
                                                cache.context()->device().compute_units);
    }
  }
  const std::string variant =
      parsed.wgmma       ? wgmmaConvolutionOptions(*parsed.wgmma, activationCode(epilogue),
                                                   emulate_tensor_cores || emulation.load())
      : parsed.mma       ? mma_options
      : parsed.tile      ? "-DTM=" + std::to_string(parsed.tile->tm) + " -DTN=" + std::to_string(parsed.tile->tn) +
                               (splits > 1 ? " -DSPLIT_K" : "") + (parsed.tile->channels_last ? " -DHWC" : "")
      : parsed.depthwise ? std::string(parsed.depthwise_channels_last ? "-DDEPTHWISE_HWC" : "-DDEPTHWISE")
                         // The input's indices fit 32 bits (refused above 2^31 elements); the kernel's may not.
                         : joinOptions({"-DOC_TILE=" + std::to_string(parsed.maps_per_item),
                                        indexOption(needsWideIndex({kernel.shape.volume()}))});
  const std::string options =
      joinOptions({halfOption("IN", in.type), halfOption("A", kernel.type), halfOption("BIAS", in.type),
                   halfOption("OUT", out.type), halfOption("RES", out.type), variant});
  const std::string program = parsed.wgmma ? "convolution_wgmma" : parsed.mma ? "convolution_mma" : family.name;
  Kernel& k = cache.get(program, options,
                        parsed.mma || parsed.wgmma ? program
                                   : std::string(family.name) +
                                         (parsed.tile                        ? "_igemm"
                                          : parsed.depthwise_channels_last ? "_depthwise_hwc"
                                          : parsed.depthwise               ? "_depthwise"
                                                                           : "_direct"));
  const auto i32 = [](std::int64_t value) { return static_cast<cl_int>(value); };
  Arguments arguments(k, false);
  arguments
      .tensor(in).tensor(kernel).tensor(epilogue.bias ? *epilogue.bias : out).tensor(out)
      .value<cl_int>(i32(in.shape[1])).value<cl_int>(i32(input.h)).value<cl_int>(i32(input.w))
      .value<cl_int>(i32(maps)).value<cl_int>(i32(output.h)).value<cl_int>(i32(output.w))
      .value<cl_int>(i32(taps.h)).value<cl_int>(i32(taps.w))
      .value<cl_int>(i32(axisValue(window.stride, axes, true, 1, "stride")))
      .value<cl_int>(i32(axisValue(window.stride, axes, false, 1, "stride")))
      .value<cl_int>(i32(axisValue(window.dilation, axes, true, 1, "dilation")))
      .value<cl_int>(i32(axisValue(window.dilation, axes, false, 1, "dilation")))
      .value<cl_int>(i32(axisValue(window.pad_before, axes, true, 0, "pad_before")))
      .value<cl_int>(i32(axisValue(window.pad_before, axes, false, 0, "pad_before")))
      .value<cl_int>(i32(window.groups))
      .value<cl_int>(epilogue.bias ? 1 : 0)
      .value<cl_int>(activationCode(epilogue))
      .value<cl_float>(epilogue.alpha).value<cl_float>(epilogue.beta);
  if (!family.transposed) arguments.tensor(residual ? *residual : out).value<cl_int>(residualMode(epilogue, residual));
  if (parsed.wgmma) {
    arguments.value<cl_int>(i32(in.shape[0]));
    const std::size_t threads = WgmmaConvolutionTile::kThreads;
    return k.launch(stream,
                    {tilesCovering(maps, parsed.wgmma->bn) * threads,
                     tilesCovering(pixels, WgmmaConvolutionTile::kPixels), 1},
                    {threads, 1, 1});
  }
  if (parsed.mma) {
    arguments.value<cl_int>(i32(in.shape[0]));
    const std::size_t threads = parsed.mma->threads();
    const std::vector<std::size_t> global = {tilesCovering(mma_pixels, parsed.mma->bn) * threads,
                                             tilesCovering(group_maps, parsed.mma->bm),
                                             static_cast<std::size_t>(window.groups * splits)};
    if (splits == 1) return k.launch(stream, global, {threads, 1, 1});
    // The slices store their partial blocks in the workspace; the finishing pass sums them and
    // applies the epilogue.
    const DeviceTensor& partials = checkWorkspace(cache, tactic, workspace,
                                                  mmaConvolutionWorkspaceBytes(*parsed.mma, blocks, splits), splits);
    arguments.value<cl_int>(i32(splits)).tensor(partials);
    k.launch(stream, global, {threads, 1, 1});
    Kernel& finish = cache.get(program, options, "convolution_mma_finish");
    Arguments(finish, false)
        .tensor(out).tensor(partials).tensor(epilogue.bias ? *epilogue.bias : out).tensor(residual ? *residual : out)
        .value<cl_int>(i32(maps)).value<cl_int>(i32(window.groups)).value<cl_int>(i32(output.h))
        .value<cl_int>(i32(output.w)).value<cl_int>(i32(global[0] / threads)).value<cl_int>(i32(global[1]))
        .value<cl_int>(i32(splits)).value<cl_long>(out_volume)
        .value<cl_int>(epilogue.bias ? 1 : 0).value<cl_int>(residualMode(epilogue, residual)).value<cl_int>(activationCode(epilogue))
        .value<cl_float>(epilogue.alpha).value<cl_float>(epilogue.beta);
    finish.launch(stream, {roundUp(out_volume, kPixelGroup)}, {kPixelGroup});
    return;
  }
  if (parsed.tile) {
    arguments.value<cl_int>(i32(in.shape[0]));
    const std::size_t groups_x = tilesCovering(pixels, parsed.tile->pixels());
    const std::size_t groups_y = tilesCovering(group_maps, parsed.tile->maps());
    const std::vector<std::size_t> global = {groups_x * kGemmGroupSide, groups_y * kGemmGroupSide,
                                             static_cast<std::size_t>(window.groups * splits)};
    if (splits == 1) return k.launch(stream, global, {kGemmGroupSide, kGemmGroupSide, 1});
    const std::size_t bytes = static_cast<std::size_t>(blocks * splits) *
                              static_cast<std::size_t>(parsed.tile->maps() * parsed.tile->pixels()) * sizeof(float);
    const DeviceTensor& partials = checkWorkspace(cache, tactic, workspace, bytes, splits);
    arguments.value<cl_int>(i32(splits)).tensor(partials);
    k.launch(stream, global, {kGemmGroupSide, kGemmGroupSide, 1});
    Kernel& finish = cache.get(program, options, "convolution_igemm_finish");
    Arguments(finish, false)
        .tensor(out).tensor(partials).tensor(epilogue.bias ? *epilogue.bias : out).tensor(residual ? *residual : out)
        .value<cl_int>(i32(maps)).value<cl_int>(i32(window.groups)).value<cl_int>(i32(output.h))
        .value<cl_int>(i32(output.w)).value<cl_int>(i32(groups_x)).value<cl_int>(i32(groups_y))
        .value<cl_int>(i32(splits)).value<cl_long>(out_volume)
        .value<cl_int>(epilogue.bias ? 1 : 0).value<cl_int>(residualMode(epilogue, residual)).value<cl_int>(activationCode(epilogue))
        .value<cl_float>(epilogue.alpha).value<cl_float>(epilogue.beta);
    finish.launch(stream, {roundUp(out_volume, kPixelGroup)}, {kPixelGroup});
    return;
  }
  if (parsed.depthwise_channels_last) {
    k.launch(stream, {roundUp(maps, kDepthwiseHwcGroup), static_cast<std::size_t>(output.w),
                      static_cast<std::size_t>(in.shape[0] * output.h)},
             {kDepthwiseHwcGroup, 1, 1});
    return;
  }
  if (parsed.depthwise) {
    const auto side = static_cast<std::size_t>(kDepthwiseTile);
    k.launch(stream, {tilesCovering(output.w, kDepthwiseTile) * side, tilesCovering(output.h, kDepthwiseTile) * side,
                      static_cast<std::size_t>(in.shape[0] * maps)},
             {side, side, 1});
    return;
  }
  const int tile = parsed.maps_per_item;
  const std::int64_t tiles = window.groups * ((maps / window.groups + tile - 1) / tile);
  k.launch(stream, {roundUp(output.h * output.w, kPixelGroup), static_cast<std::size_t>(tiles),
                    static_cast<std::size_t>(in.shape[0])},
           {kPixelGroup, 1, 1});
}

}  // namespace

void convolution(KernelCache& cache, Stream& stream, const std::string& tactic, const DeviceTensor& in,
                 const DeviceTensor& kernel, const ConvolutionWindow& window, const GemmEpilogue& epilogue,
                 const DeviceTensor& out, const DeviceTensor* residual, const DeviceTensor* workspace) {
  launch(kConvolution, cache, stream, tactic, in, kernel, window, epilogue, out, residual, workspace);
}

void setConvolutionMmaEmulation(bool on) { emulation.store(on); }

std::size_t convolutionWorkspaceBytes(const std::string& tactic, const Context& context, const Dims& in,
                                      const Dims& kernel, const Dims& out, DataType type) {
  const ParsedTactic parsed = parseTactic(tactic);
  if (parsed.winograd) return winogradWorkspaceBytes(in, kernel, out, type);
  if (!parsed.pointwise_gemm.empty()) return gemmWorkspaceBytes(GemmTactic{parsed.pointwise_gemm}, context);
  const std::uint32_t units = context.device().compute_units;
  if (parsed.mma) return mmaConvolutionWorkspaceBound(*parsed.mma, units);
  if (parsed.tile && parsed.tile->split_k) {
    return splitKWorkspaceBound(static_cast<std::size_t>(parsed.tile->maps() * parsed.tile->pixels()), units);
  }
  return 0;
}

void convolutionInSlices(KernelCache& cache, Stream& stream, const std::string& tactic, const DeviceTensor& in,
                         const DeviceTensor& kernel, const ConvolutionWindow& window, const GemmEpilogue& epilogue,
                         const DeviceTensor& out, const DeviceTensor* residual, std::int64_t splits,
                         const DeviceTensor* workspace) {
  const ParsedTactic parsed = parseTactic(tactic);
  if (!parsed.tile || !parsed.tile->split_k) {
    throw InvalidArgument(std::string(kLauncher) + ": '" + tactic + "' is no split-K implicit-GEMM tactic");
  }
  launch(kConvolution, cache, stream, tactic, in, kernel, window, epilogue, out, residual, workspace, false, splits);
}

void convolutionEmulatingTensorCores(KernelCache& cache, Stream& stream, const std::string& tactic,
                                     const DeviceTensor& in, const DeviceTensor& kernel,
                                     const ConvolutionWindow& window, const GemmEpilogue& epilogue,
                                     const DeviceTensor& out, const DeviceTensor* residual, std::int64_t splits,
                                     const DeviceTensor* workspace) {
  if (!findMmaConvolutionTile(tactic) && !findWgmmaConvolutionTile(tactic)) {
    throw InvalidArgument(std::string(kLauncher) + ": '" + tactic + "' is no tensor-core tactic");
  }
  launch(kConvolution, cache, stream, tactic, in, kernel, window, epilogue, out, residual, workspace, true, splits);
}

void deconvolution(KernelCache& cache, Stream& stream, const std::string& tactic, const DeviceTensor& in,
                   const DeviceTensor& kernel, const ConvolutionWindow& window, const GemmEpilogue& epilogue,
                   const DeviceTensor& out) {
  launch(kDeconvolution, cache, stream, tactic, in, kernel, window, epilogue, out, nullptr, nullptr);
}

}  // namespace mlprt::cl
