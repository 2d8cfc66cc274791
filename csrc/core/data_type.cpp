#include "core/data_type.h"

#include <string>

#include "core/error.h"

namespace mlprt {

bool isDataType(std::int32_t value) noexcept {
  switch (static_cast<DataType>(value)) {
    case DataType::kFLOAT:
    case DataType::kHALF:
    case DataType::kINT8:
    case DataType::kINT32:
    case DataType::kBOOL:
    case DataType::kUINT8:
    case DataType::kINT64:
      return true;
  }
  return false;
}

std::size_t elementSize(DataType type) {
  switch (type) {
    case DataType::kFLOAT: return 4;
    case DataType::kHALF: return 2;
    case DataType::kINT8: return 1;
    case DataType::kINT32: return 4;
    case DataType::kBOOL: return 1;
    case DataType::kUINT8: return 1;
    case DataType::kINT64: return 8;
  }
  throw InvalidArgument("unknown data type " + std::to_string(static_cast<int>(type)));
}

const char* dataTypeName(DataType type) noexcept {
  switch (type) {
    case DataType::kFLOAT: return "FLOAT";
    case DataType::kHALF: return "HALF";
    case DataType::kINT8: return "INT8";
    case DataType::kINT32: return "INT32";
    case DataType::kBOOL: return "BOOL";
    case DataType::kUINT8: return "UINT8";
    case DataType::kINT64: return "INT64";
  }
  return "UNKNOWN";
}

}  // namespace mlprt
