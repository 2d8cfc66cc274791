#include "network/spatial.h"

#include <algorithm>

#include "core/error.h"

namespace mlprt::network {
namespace {

std::vector<std::int64_t> perAxis(const std::vector<std::int64_t>& list, std::size_t axes, std::int64_t fallback,
                                  std::int64_t minimum, const char* attribute) {
  if (list.empty()) return std::vector<std::int64_t>(axes, fallback);
  if (list.size() != axes) {
    throw InvalidArgument(std::string(attribute) + " has " + std::to_string(list.size()) + " entries for " +
                          std::to_string(axes) + " spatial axes");
  }
  for (std::int64_t value : list) {
    if (value < minimum) {
      throw InvalidArgument(std::string(attribute) + " " + std::to_string(value) + " must be at least " +
                            std::to_string(minimum));
    }
  }
  return list;
}

std::int64_t ceilDiv(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

// The window's lists checked against `axes` and filled with their defaults.
struct CheckedWindow {
  std::vector<std::int64_t> extent, stride, dilation, pre, post;
  bool same = false;
};

CheckedWindow checkedWindow(const SpatialWindow& window, std::size_t axes) {
  if (window.window.size() != axes) {
    throw InvalidArgument("the window has " + std::to_string(window.window.size()) + " extents for " +
                          std::to_string(axes) + " spatial axes");
  }
  return {perAxis(window.window, axes, 1, 1, "kernel (window) extent"), perAxis(window.stride, axes, 1, 1, "stride"),
          perAxis(window.dilation, axes, 1, 1, "dilation"), perAxis(window.pre_padding, axes, 0, 0, "pre_padding"),
          perAxis(window.post_padding, axes, 0, 0, "post_padding"),
          window.padding_mode == PaddingMode::kSAME_UPPER || window.padding_mode == PaddingMode::kSAME_LOWER};
}

// Axis i's input, window, stride and dilation; output and pad_before -1 (unknown) for now.
SpatialAxis axisOf(const CheckedWindow& window, std::int64_t input, std::size_t i) {
  SpatialAxis axis;
  axis.input = input;
  axis.window = window.extent[i];
  axis.stride = window.stride[i];
  axis.dilation = window.dilation[i];
  axis.output = -1;
  axis.pad_before = window.same ? -1 : window.pre[i];
  axis.pad_after = window.same ? -1 : window.post[i];
  return axis;
}

}  // namespace

SpatialWindow windowOf(const ConvolutionLayer& layer) {
  return {layer.kernel_size, layer.stride, layer.pre_padding, layer.post_padding, layer.dilation, layer.padding_mode};
}

SpatialWindow windowOf(const DeconvolutionLayer& layer) {
  return {layer.kernel_size, layer.stride, layer.pre_padding, layer.post_padding, layer.dilation, layer.padding_mode};
}

SpatialWindow windowOf(const PoolingLayer& layer) {
  return {layer.window_size, layer.stride, layer.pre_padding, layer.post_padding, layer.dilation, layer.padding_mode};
}

std::vector<SpatialAxis> resolveSpatial(const SpatialWindow& window, const std::vector<std::int64_t>& input_extents) {
  const std::size_t axes = input_extents.size();
  const CheckedWindow checked = checkedWindow(window, axes);
  const bool same = checked.same;
  const auto& pre = checked.pre;
  const auto& post = checked.post;
  std::vector<SpatialAxis> result(axes);
  for (std::size_t i = 0; i < axes; ++i) {
    SpatialAxis& axis = result[i] = axisOf(checked, input_extents[i], i);
    const std::int64_t span = axis.dilation * (axis.window - 1) + 1;
    if (axis.input < 0) continue;
    if (same) {
      axis.output = ceilDiv(axis.input, axis.stride);
      const std::int64_t total = std::max<std::int64_t>(0, (axis.output - 1) * axis.stride + span - axis.input);
      axis.pad_before = window.padding_mode == PaddingMode::kSAME_UPPER ? total / 2 : total - total / 2;
      axis.pad_after = total - axis.pad_before;
      continue;
    }
    axis.pad_before = pre[i];
    axis.pad_after = post[i];
    const std::int64_t room = axis.input + pre[i] + post[i] - span;
    if (room < 0) {
      throw InvalidArgument("the window of " + std::to_string(span) + " (kernel " + std::to_string(axis.window) +
                            ", dilation " + std::to_string(axis.dilation) + ") is larger than the padded input of " +
                            std::to_string(axis.input + pre[i] + post[i]) + " on spatial axis " + std::to_string(i));
    }
    if (window.padding_mode == PaddingMode::kEXPLICIT_ROUND_UP) {
      axis.output = ceilDiv(room, axis.stride) + 1;
      // A last window that would start in the end padding is dropped (ONNX's ceil_mode, PyTorch).
      if ((axis.output - 1) * axis.stride >= axis.input + pre[i]) --axis.output;
    } else {
      axis.output = room / axis.stride + 1;
    }
  }
  return result;
}

std::vector<SpatialAxis> resolveTransposed(const SpatialWindow& window, const std::vector<std::int64_t>& output_padding,
                                           const std::vector<std::int64_t>& input_extents) {
  const std::size_t axes = input_extents.size();
  if (window.padding_mode == PaddingMode::kEXPLICIT_ROUND_UP) {
    throw InvalidArgument("padding_mode EXPLICIT_ROUND_UP has no meaning for a deconvolution");
  }
  const CheckedWindow checked = checkedWindow(window, axes);
  const bool same = checked.same;
  const auto& pre = checked.pre;
  const auto& post = checked.post;
  const auto extra = perAxis(output_padding, axes, 0, 0, "output_padding");
  std::vector<SpatialAxis> result(axes);
  for (std::size_t i = 0; i < axes; ++i) {
    SpatialAxis& axis = result[i] = axisOf(checked, input_extents[i], i);
    const std::int64_t span = axis.dilation * (axis.window - 1) + 1;
    if (axis.input < 0) continue;
    const std::int64_t full = axis.stride * (axis.input - 1) + span + extra[i];
    if (same) {
      axis.output = axis.input * axis.stride;
      const std::int64_t total = full - axis.output;
      if (total < 0) {
        throw InvalidArgument("SAME padding needs a kernel span of at least the stride on spatial axis " +
                              std::to_string(i) + " (span " + std::to_string(span) + ", stride " +
                              std::to_string(axis.stride) + ")");
      }
      axis.pad_before = window.padding_mode == PaddingMode::kSAME_UPPER ? total / 2 : total - total / 2;
      continue;
    }
    axis.pad_before = pre[i];
    axis.output = full - pre[i] - post[i];
    if (axis.output <= 0) {
      throw InvalidArgument("pre_padding " + std::to_string(pre[i]) + " and post_padding " + std::to_string(post[i]) +
                            " crop the whole output of " + std::to_string(full) + " on spatial axis " +
                            std::to_string(i));
    }
  }
  return result;
}

}  // namespace mlprt::network
