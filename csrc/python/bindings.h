// Entry points of the pybind11 module mlprt._core, one per area (one .cpp file each).
#pragma once

#include <pybind11/pybind11.h>

namespace mlprt::python {

void bindErrors(pybind11::module_& module);
void bindLogging(pybind11::module_& module);
void bindTypes(pybind11::module_& module);
void bindNetworkDefinition(pybind11::module_& module);
void bindDevices(pybind11::module_& module);
void bindMemory(pybind11::module_& module);
void bindProgram(pybind11::module_& module);

}  // namespace mlprt::python
