// Tensor element types, numbered as TensorRT numbers them so engine files and the Python enum
// line up with TensorRT's.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mlprt {

enum class DataType : std::int32_t {
  kFLOAT = 0,
  kHALF = 1,
  kINT8 = 2,
  kINT32 = 3,
  kBOOL = 4,
  kUINT8 = 5,
  kINT64 = 8,
};

// Bytes per element. Throws InvalidArgument for a value that is not a DataType (from a file).
std::size_t elementSize(DataType type);
// "FLOAT", "HALF", ... as TensorRT prints them.
const char* dataTypeName(DataType type) noexcept;
// Whether `value` is one of the enumerators (for values read from files).
bool isDataType(std::int32_t value) noexcept;

}  // namespace mlprt
