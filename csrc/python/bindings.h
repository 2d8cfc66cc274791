// Entry points of the pybind11 module mlprt._core, one per area (one .cpp file each).
#pragma once

#include <pybind11/pybind11.h>

#include <memory>
#include <string>

#include "backend/opencl/context.h"
#include "backend/opencl/stream.h"
#include "core/dims.h"

namespace mlprt::python {

void bindErrors(pybind11::module_& module);
void bindLogging(pybind11::module_& module);
void bindTypes(pybind11::module_& module);
void bindNetworkDefinition(pybind11::module_& module);
void bindDevices(pybind11::module_& module);
void bindMemory(pybind11::module_& module);
void bindProgram(pybind11::module_& module);
void bindBuilder(pybind11::module_& module);
void bindRuntime(pybind11::module_& module);
void bindInspector(pybind11::module_& module);

// The stream a Python argument names: None (the default stream of `fallback`'s device), a
// Stream, or an integer handle (0 = the current device's default stream).
// Shapes between Python and the core: any iterable of integers to Dims (InvalidArgument for
// extents below -1 or too many axes), Dims to a tuple of ints.
Dims dimsFrom(const pybind11::handle& shape);
pybind11::tuple tupleOf(const Dims& dims);

// A message as Python text: bytes that are not UTF-8 (a name quoted from a file) become U+FFFD.
pybind11::str textOf(const std::string& message);

// Hands the core's messages to a Python ILogger (the one a Builder or Runtime was given last,
// as TensorRT keeps one logger per process).
void routeCoreMessages(const pybind11::object& logger);

std::shared_ptr<cl::Stream> streamArgument(const pybind11::handle& stream,
                                           const std::shared_ptr<cl::Context>& fallback);

}  // namespace mlprt::python
