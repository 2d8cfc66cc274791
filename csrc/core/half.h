// IEEE 754 binary16 ("half") conversions on the host, bit-exact with OpenCL's vstore_half /
// vload_half: weights stored as FP16 by the builder must match what the device would produce.
#pragma once

#include <cstdint>

namespace mlprt {

// Rounds to nearest, ties to even. Values beyond the half range become +-infinity, tiny values
// become half subnormals or signed zero, NaN stays NaN (quiet, sign and top payload bits kept).
std::uint16_t floatToHalf(float value) noexcept;
// Exact: every half value, subnormals included, is representable as a float.
float halfToFloat(std::uint16_t bits) noexcept;

}  // namespace mlprt
