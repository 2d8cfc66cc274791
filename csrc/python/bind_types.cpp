// DataType, numbered and named as TensorRT's Python enum.
#include <pybind11/pybind11.h>

#include "core/data_type.h"
#include "python/bindings.h"

namespace py = pybind11;

namespace mlprt::python {

void bindTypes(py::module_& module) {
  py::enum_<DataType>(module, "DataType", "Tensor element types (TensorRT's numbering).")
      .value("FLOAT", DataType::kFLOAT)
      .value("HALF", DataType::kHALF)
      .value("INT8", DataType::kINT8)
      .value("INT32", DataType::kINT32)
      .value("BOOL", DataType::kBOOL)
      .value("UINT8", DataType::kUINT8)
      .value("INT64", DataType::kINT64)
      .def_property_readonly("itemsize", [](DataType type) { return elementSize(type); },
                             "Bytes per element.");
}

}  // namespace mlprt::python
