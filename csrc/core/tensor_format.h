// How a tensor's elements lie in memory (TensorRT's TensorFormat, with its enumerator values).
// Shapes stay logical whatever the format: an HWC tensor of shape (N, C, H, W) holds its elements
// in the order (N, H, W, C) (rank 3: (N, C, W) in the order (N, W, C)).
#pragma once

#include <cstdint>

namespace mlprt {

enum class TensorFormat : std::int32_t {
  kLINEAR = 0,  // row-major in the order of the shape (NCHW for images)
  kHWC = 8,     // channels last: the channel axis (1) innermost
};

inline const char* tensorFormatName(TensorFormat format) noexcept {
  return format == TensorFormat::kHWC ? "HWC" : "LINEAR";
}

}  // namespace mlprt
