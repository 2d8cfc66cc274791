// Helpers shared by the kernel launchers (kernels.cpp, gemm_kernels.cpp and the GEMM variant
// files): operand checks that name the operand, build-option spelling and kernel arguments.
// Internal to the OpenCL backend.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <limits>
#include <string>
#include <vector>

#include "backend/opencl/kernels.h"
#include "core/error.h"

namespace mlprt::cl::support {

using Extents = std::vector<std::int64_t>;

// ---- Operand checks ------------------------------------------------------------------------

inline std::string describe(const char* launcher, const std::string& operand) {
  return std::string(launcher) + ": " + operand;
}

inline bool isFloating(DataType type) { return type == DataType::kFLOAT || type == DataType::kHALF; }

inline void requireFloating(const char* launcher, const std::string& operand, const DeviceTensor& tensor) {
  if (!isFloating(tensor.type)) {
    throw InvalidArgument(describe(launcher, operand) + " has type " + dataTypeName(tensor.type) +
                          "; expected FLOAT or HALF");
  }
}

// Checks the buffer, the context, the offset's alignment and that every byte lies inside the
// buffer; returns the volume.
inline std::int64_t checkPlacement(const KernelCache& cache, const char* launcher,
                            const std::string& operand, const DeviceTensor& tensor) {
  const std::string role = describe(launcher, operand);
  if (tensor.inPinnedHostMemory()) {
    throw InvalidArgument(role + " is in pinned host memory, which this kernel does not read directly");
  }
  if (!tensor.range.buffer) throw InvalidArgument(role + " has no buffer");
  if (tensor.shape.isDynamic()) {
    throw InvalidArgument(role + " shape " + tensor.shape.toString() + " is not concrete");
  }
  requireSameContext(*cache.context(), *tensor.range.buffer->context(), role);
  const std::size_t element = elementSize(tensor.type);
  if (tensor.range.offset % element != 0) {
    throw InvalidArgument(role + ": byte offset " + std::to_string(tensor.range.offset) +
                          " is not a multiple of its element size " + std::to_string(element));
  }
  const std::int64_t volume = tensor.shape.volume();
  requireInside(tensor.range, static_cast<std::size_t>(volume) * element, role);
  return volume;
}

// checkPlacement for operands that may also be in pinned host memory (launchers that read
// such operands through their address, built with addressOption).
inline std::int64_t checkPlacementOrHost(const KernelCache& cache, const char* launcher,
                                         const std::string& operand, const DeviceTensor& tensor) {
  if (!tensor.inPinnedHostMemory()) return checkPlacement(cache, launcher, operand, tensor);
  const std::string role = describe(launcher, operand);
  if (tensor.shape.isDynamic()) throw InvalidArgument(role + " shape " + tensor.shape.toString() + " is not concrete");
  requireSameContext(*cache.context(), *tensor.host.buffer->context(), role);
  const std::size_t element = elementSize(tensor.type);
  const std::int64_t volume = tensor.shape.volume();
  const std::size_t bytes = static_cast<std::size_t>(volume) * element;
  const std::size_t size = tensor.host.buffer->size();
  if (tensor.host.address() % element != 0 || tensor.host.offset > size || bytes > size - tensor.host.offset) {
    throw InvalidArgument(role + ": " + std::to_string(bytes) + " bytes at offset " +
                          std::to_string(tensor.host.offset) + " are not aligned or overrun the pinned host buffer of " +
                          std::to_string(size) + " bytes");
  }
  return volume;
}

// "-D<operand>_BY_ADDRESS" for an operand in pinned host memory: the kernel takes its 64-bit
// address instead of a buffer (Arguments::tensorOrAddress).
inline std::string addressOption(const char* operand, const DeviceTensor& tensor) {
  return tensor.inPinnedHostMemory() ? std::string("-D") + operand + "_BY_ADDRESS" : std::string();
}

inline void requireSameShape(const char* launcher, const std::string& operand, const DeviceTensor& tensor,
                      const DeviceTensor& reference, const std::string& reference_name) {
  if (tensor.shape != reference.shape) {
    throw InvalidArgument(describe(launcher, operand) + " shape " + tensor.shape.toString() +
                          " differs from " + reference_name + " shape " +
                          reference.shape.toString());
  }
}

inline int normalizeAxis(const char* launcher, int axis, std::size_t rank) {
  const int signed_rank = static_cast<int>(rank);
  if (axis < -signed_rank || axis >= signed_rank) {
    throw InvalidArgument(std::string(launcher) + ": axis " + std::to_string(axis) +
                          " is out of range for rank " + std::to_string(rank));
  }
  return axis < 0 ? axis + signed_rank : axis;
}

inline std::int64_t elementOffset(const DeviceTensor& tensor) {
  return static_cast<std::int64_t>(tensor.range.offset / elementSize(tensor.type));
}

// In-kernel index arithmetic is 32-bit unless some tensor has 2^31 elements or more.
inline bool needsWideIndex(std::initializer_list<std::int64_t> volumes) {
  return std::any_of(volumes.begin(), volumes.end(), [](std::int64_t volume) {
    return volume > std::numeric_limits<std::int32_t>::max();
  });
}

inline std::string halfOption(const char* operand, DataType type) {
  return type == DataType::kHALF ? std::string("-D") + operand + "_HALF" : std::string();
}

// The storage types typed kernels (elementwise.cl, reduce.cl, topk.cl) read, as the build options
// they expect (FLOAT is its default; HALF is spelled as common.cl expects).
inline std::string storageOption(const char* operand, DataType type) {
  const std::string prefix = std::string("-D") + operand;
  switch (type) {
    case DataType::kFLOAT: return "";
    case DataType::kHALF: return prefix + "_HALF";
    case DataType::kINT8: return prefix + "_CTYPE=char";
    case DataType::kUINT8: return prefix + "_CTYPE=uchar";
    case DataType::kINT32: return prefix + "_CTYPE=int";
    case DataType::kINT64: return prefix + "_CTYPE=long";
    case DataType::kBOOL: return prefix + "_CTYPE=uchar " + prefix + "_BOOL";
  }
  throw InvalidArgument(std::string(operand) + " has an unknown type");
}

// Whether a tactic's block of `block` outputs along an axis of `extent` is four times the
// extent or more: at least three quarters of its work would be padding, so the builder neither
// compiles nor times it (GEMM and convolution tactics alike).
inline bool blockMostlyPadding(std::int64_t block, std::int64_t extent) { return block >= 4 * extent; }

// Whether `work_groups` leave most of a device of `compute_units` idle: fewer than one per 8 units.
// The builder neither compiles nor times such a candidate where one that fills the device remains
// (GEMM blocks beside the small-product kernels, fused-MLP row groups; bench/RESULTS.md, issue 16
// runs 8-13: they lost every timing on an H100).
inline bool fewWorkGroupsForDevice(std::int64_t work_groups, std::uint32_t compute_units) {
  return work_groups * 8 < static_cast<std::int64_t>(compute_units);
}

inline std::string indexOption(bool wide) { return wide ? "-DINDEX64" : ""; }

// Build options joined by single spaces, empty parts skipped: the string is a cache key, so
// equal option sets must spell the same.
template <typename Parts>
std::string joinOptionList(const Parts& parts) {
  std::string options;
  for (const std::string& part : parts) {
    if (part.empty()) continue;
    if (!options.empty()) options += ' ';
    options += part;
  }
  return options;
}
inline std::string joinOptions(std::initializer_list<std::string> parts) { return joinOptionList(parts); }
inline std::string joinOptions(const std::vector<std::string>& parts) { return joinOptionList(parts); }

// "-DELEMENT=uchar|ushort|uint|ulong": kernels that move elements as bits (slices, gathers) build
// one program per element size.
inline std::string bitsElementOption(const char* launcher, std::size_t bytes) {
  switch (bytes) {
    case 1: return "-DELEMENT=uchar";
    case 2: return "-DELEMENT=ushort";
    case 4: return "-DELEMENT=uint";
    case 8: return "-DELEMENT=ulong";
    default: throw InvalidArgument(std::string(launcher) + ": no element of " + std::to_string(bytes) + " bytes");
  }
}

// Row-major per-axis values as an OpenCL 8-vector (long8, float8), innermost axis first, the rest
// `pad`: the form the UNPACK8 kernels take.
template <typename Packed, typename Value>
Packed innermostFirst(const std::vector<Value>& row_major, Value pad) {
  Packed packed;
  for (int i = 0; i < 8; ++i) packed.s[i] = pad;
  for (std::size_t i = 0; i < row_major.size() && i < 8; ++i) packed.s[i] = row_major[row_major.size() - 1 - i];
  return packed;
}

// ---- Kernel arguments ----------------------------------------------------------------------

// Sets a kernel's arguments in order. Index values and index vectors are 32- or 64-bit to match
// the kernel's idx_t (-DINDEX64); vectors list axes innermost first, padded with 1.
class Arguments {
 public:
  Arguments(Kernel& kernel, bool wide) : kernel_(kernel), wide_(wide) {}

  // The buffer and the tensor's offset in elements (a 64-bit `long` in the kernel).
  Arguments& tensor(const DeviceTensor& tensor) {
    kernel_.setBuffer(next_++, *tensor.range.buffer);
    return value<cl_long>(elementOffset(tensor));
  }
  // tensor(), or for an operand in pinned host memory its address and a zero offset.
  Arguments& tensorOrAddress(const DeviceTensor& tensor) {
    if (!tensor.inPinnedHostMemory()) return this->tensor(tensor);
    value<cl_ulong>(tensor.host.address());
    return value<cl_long>(0);
  }
  template <typename T>
  Arguments& value(const T& argument) {
    kernel_.setValue(next_++, argument);
    return *this;
  }
  Arguments& index(std::int64_t argument) {
    return wide_ ? value<cl_long>(argument) : value<cl_int>(static_cast<cl_int>(argument));
  }
  // Row-major extents (outermost first), sent innermost first.
  Arguments& vector(const Extents& row_major) {
    std::array<std::int64_t, Dims::kMaxRank> values;
    values.fill(1);
    std::copy(row_major.rbegin(), row_major.rend(), values.begin());
    if (wide_) {
      cl_long8 packed;
      std::copy(values.begin(), values.end(), packed.s);
      return value(packed);
    }
    cl_int8 packed;
    std::transform(values.begin(), values.end(), packed.s,
                   [](std::int64_t v) { return static_cast<cl_int>(v); });
    return value(packed);
  }

 private:
  Kernel& kernel_;
  bool wide_;
  cl_uint next_ = 0;
};

// ---- The fused MLP kernels (fused_mlp.cl, fused_mlp_mma.cl) ---------------------------------

// A float as an exact OpenCL C literal (hexadecimal), for -D options.
inline std::string floatLiteral(float value) {
  char text[64];
  std::snprintf(text, sizeof(text), "%af", static_cast<double>(value));
  return text;
}

// The per-stage build options both fused MLP kernels read: -DK<i> -DN<i> -DBIAS<i> -DACT<i>
// -DALPHA<i> -DBETA<i>.
inline std::string mlpStageOptions(std::size_t i, std::int64_t k, std::int64_t n, const MlpStageOperands& stage) {
  const std::string index = std::to_string(i);
  return "-DK" + index + "=" + std::to_string(k) + " -DN" + index + "=" + std::to_string(n) + " -DBIAS" + index +
         "=" + (stage.bias ? "1" : "0") + " -DACT" + index + "=" +
         std::to_string(stage.has_activation ? static_cast<int>(stage.activation) : -1) + " -DALPHA" + index + "=" +
         floatLiteral(stage.alpha) + " -DBETA" + index + "=" + floatLiteral(stage.beta);
}

// The fused MLP kernels' arguments after x and y (0-3): the weights buffer seen as weights and
// as biases (4, 5), each stage's weight and bias offsets in elements, zero past the last stage
// (6, 7, ...), and the row count.
inline void setMlpStageArguments(Kernel& kernel, const std::vector<MlpStageOperands>& stages, std::int64_t rows) {
  const DeviceTensor& weights = *stages.front().weights;
  kernel.setBuffer(4, *weights.range.buffer);
  kernel.setBuffer(5, *weights.range.buffer);
  for (std::size_t i = 0; i < kMaxMlpStages; ++i) {
    const bool present = i < stages.size();
    const cl_long w = present ? elementOffset(*stages[i].weights) : 0;
    const cl_long b = present && stages[i].bias ? elementOffset(*stages[i].bias) : 0;
    kernel.setValue<cl_long>(static_cast<cl_uint>(6 + 2 * i), w);
    kernel.setValue<cl_long>(static_cast<cl_uint>(7 + 2 * i), b);
  }
  kernel.setValue<cl_int>(static_cast<cl_uint>(6 + 2 * kMaxMlpStages), static_cast<cl_int>(rows));
}

inline constexpr std::size_t kElementwiseGroup = 256;

inline std::size_t roundUp(std::int64_t count, std::size_t multiple) {
  const auto value = static_cast<std::size_t>(count);
  return (value + multiple - 1) / multiple * multiple;
}

inline void launchLinear(Kernel& kernel, Stream& stream, std::int64_t count) {
  kernel.launch(stream, {roundUp(count, kElementwiseGroup)}, {kElementwiseGroup});
}

}  // namespace mlprt::cl::support
