#include "core/half.h"

#include <cstring>

namespace mlprt {
namespace {

std::uint32_t bitsOf(float value) noexcept {
  std::uint32_t bits = 0;
  std::memcpy(&bits, &value, sizeof(bits));
  return bits;
}

float floatOf(std::uint32_t bits) noexcept {
  float value = 0.0f;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

// Shifts `value` right by `shift` bits, rounding to nearest with ties to even.
std::uint32_t shiftRightRounded(std::uint32_t value, unsigned shift) noexcept {
  if (shift == 0) return value;
  if (shift > 31) return 0;
  const std::uint32_t kept = value >> shift;
  const std::uint32_t remainder = value & ((1u << shift) - 1u);
  const std::uint32_t half_way = 1u << (shift - 1);
  if (remainder > half_way || (remainder == half_way && (kept & 1u))) return kept + 1;
  return kept;
}

}  // namespace

std::uint16_t floatToHalf(float value) noexcept {
  const std::uint32_t bits = bitsOf(value);
  const std::uint16_t sign = static_cast<std::uint16_t>((bits >> 16) & 0x8000u);
  const std::uint32_t exponent = (bits >> 23) & 0xffu;
  const std::uint32_t mantissa = bits & 0x7fffffu;

  if (exponent == 0xffu) {  // infinity or NaN; NaN keeps its top payload bits and stays quiet
    if (mantissa == 0) return static_cast<std::uint16_t>(sign | 0x7c00u);
    return static_cast<std::uint16_t>(sign | 0x7e00u | (mantissa >> 13));
  }
  // Unbiased exponent; half normals cover [-14, 15].
  const int unbiased = static_cast<int>(exponent) - 127;
  if (unbiased > 15) return static_cast<std::uint16_t>(sign | 0x7c00u);
  if (unbiased >= -14) {
    // Normal: drop 13 mantissa bits with rounding. Adding the rounded mantissa lets a carry
    // bump the exponent, and a carry out of the largest exponent lands exactly on infinity.
    const std::uint32_t rounded = (static_cast<std::uint32_t>(unbiased + 15) << 10) +
                                  shiftRightRounded(mantissa, 13);
    return static_cast<std::uint16_t>(sign | rounded);
  }
  // Subnormal half (or zero): the value is significand * 2^-24 with the implicit bit made explicit.
  if (exponent == 0) return sign;  // float zero or float subnormal (< 2^-126): rounds to zero
  // value = significand * 2^(unbiased - 23); in units of 2^-24 that is significand >> -(unbiased + 1).
  // Rounding up to 0x400 yields the smallest normal, which is the right encoding.
  const std::uint32_t significand = mantissa | 0x800000u;
  const unsigned shift = static_cast<unsigned>(-unbiased - 1);
  return static_cast<std::uint16_t>(sign | shiftRightRounded(significand, shift));
}

float halfToFloat(std::uint16_t bits) noexcept {
  const std::uint32_t sign = static_cast<std::uint32_t>(bits & 0x8000u) << 16;
  const std::uint32_t exponent = (bits >> 10) & 0x1fu;
  std::uint32_t mantissa = bits & 0x3ffu;
  if (exponent == 0x1fu) return floatOf(sign | 0x7f800000u | (mantissa << 13));
  if (exponent != 0) return floatOf(sign | ((exponent + 112u) << 23) | (mantissa << 13));
  if (mantissa == 0) return floatOf(sign);
  // Subnormal: normalise the mantissa into a float normal.
  int shift = 0;
  while ((mantissa & 0x400u) == 0) {
    mantissa <<= 1;
    ++shift;
  }
  const std::uint32_t float_exponent = static_cast<std::uint32_t>(113 - shift);
  return floatOf(sign | (float_exponent << 23) | ((mantissa & 0x3ffu) << 13));
}

}  // namespace mlprt
