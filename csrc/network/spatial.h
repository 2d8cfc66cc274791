// The geometry that convolution and pooling layers share: per spatial axis, the window
// (kernel) extent, stride, dilation and padding, resolved against input extents into output
// extents and the padding in front (which is all a kernel needs; the padding at the end only
// decides the output extent). Shape inference and the kernels' launchers both use it, so the
// two agree by construction.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/operations.h"
#include "network/layers.h"

namespace mlprt::network {

struct SpatialWindow {
  std::vector<std::int64_t> window;  // kernel or pooling window
  std::vector<std::int64_t> stride;
  std::vector<std::int64_t> pre_padding;
  std::vector<std::int64_t> post_padding;
  std::vector<std::int64_t> dilation;
  PaddingMode padding_mode = PaddingMode::kEXPLICIT_ROUND_DOWN;
};

struct SpatialAxis {
  std::int64_t input = 0;
  std::int64_t output = 0;  // -1 when the input extent is dynamic
  std::int64_t window = 1, stride = 1, dilation = 1;
  std::int64_t pad_before = 0;  // -1 when a SAME mode meets a dynamic input extent
  std::int64_t pad_after = 0;   // the padded input's end (an average's count); -1 likewise
};

SpatialWindow windowOf(const ConvolutionLayer& layer);
SpatialWindow windowOf(const PoolingLayer& layer);
SpatialWindow windowOf(const DeconvolutionLayer& layer);

// Checks the window's lists against `spatial` axes (each list empty, meaning the default, or one
// entry per axis; extents, strides and dilations positive; paddings not negative) and resolves
// each axis against the input extents (-1 for dynamic ones). Throws InvalidArgument naming the
// attribute at fault, or the window that does not fit the padded input.
std::vector<SpatialAxis> resolveSpatial(const SpatialWindow& window, const std::vector<std::int64_t>& input_extents);

// The same for a transposed convolution, where padding crops the output: output = stride *
// (input - 1) + span + output_padding - pre - post (explicit), or input * stride (SAME, the
// cropping split as ONNX's ConvTranspose splits it). pad_before is what is cropped in front.
std::vector<SpatialAxis> resolveTransposed(const SpatialWindow& window, const std::vector<std::int64_t>& output_padding,
                                           const std::vector<std::int64_t>& input_extents);

}  // namespace mlprt::network
