// The engine file format (docs/engine-format.md): EnginePlan to bytes and back.
//
// Reading never trusts the file: every count and length is checked against the bytes that
// remain before anything is allocated, and the payload checksum is verified before it is
// parsed. Problems throw EngineFormatError saying which: not an engine file, truncated,
// corrupted (checksum), or written by a newer format version.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/error.h"
#include "engine/plan.h"

namespace mlprt::engine {

// The format version this library writes; it reads versions 1 to this one.
constexpr std::uint32_t kFormatVersion = 17;  // 2: FusedMlpLayer steps; 3: SelectLayer, comparison and logic ops; 4: Convolution and Pooling; 5: TopK; 6: rounding, sign, NaN/Inf tests and trigonometry as UnaryOperations; 7: Scatter and Cumulative layers, bitwise operations and shifts; 8: fused Attention steps; 9: shared input extents; 10: attention operands with packed heads; 11: tactics per range of output sizes; 12: attention masks that repeat along the batch; 13: channels-last tactics (HWC convolutions and the Identity steps that reformat between layouts); 14: channels-last convolutions read their kernels channels-last; 15: normalizations with two residuals, or one repeated over leading axes; 16: attention reading a BOOL mask (the values it adds where true and where false); 17: convolutions adding their residual after the activation

class EngineFormatError : public InvalidArgument {
 public:
  using InvalidArgument::InvalidArgument;
};

std::vector<std::uint8_t> serializePlan(const EnginePlan& plan);
EnginePlan deserializePlan(const std::uint8_t* data, std::size_t size);

// Reads only the fixed header (magic, format version, sizes) and reports whether `data` looks
// like an engine file; used to give a clear message before the full parse.
bool looksLikeEngine(const std::uint8_t* data, std::size_t size) noexcept;

}  // namespace mlprt::engine
