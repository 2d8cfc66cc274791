// mlprt._core: the compiled half of the mlprt package. C++ exceptions are translated to Python
// exceptions here, once, for every binding.
#include <pybind11/pybind11.h>

#include <cstdint>
#include <vector>

#include "core/error.h"
#include "python/bindings.h"

namespace py = pybind11;

namespace mlprt::python {

Dims dimsFrom(const py::handle& shape) {
  std::vector<std::int64_t> extents;
  for (const py::handle& extent : py::iter(shape)) extents.push_back(extent.cast<std::int64_t>());
  return Dims(extents);
}

void routeCoreMessages(const py::object& logger) {
  py::module_::import("mlprt.logger").attr("_route_core_messages")(logger);
}

py::tuple tupleOf(const Dims& dims) {
  py::tuple result(dims.rank());
  for (std::size_t i = 0; i < dims.rank(); ++i) result[i] = dims[i];
  return result;
}

void bindErrors(py::module_& module) {
  // Created once and kept for the life of the interpreter, as pybind11 recommends.
  static py::handle error = py::exception<mlprt::Error>(module, "Error", PyExc_RuntimeError).release();
  static py::handle opencl_error = py::exception<mlprt::OpenCLError>(module, "OpenCLError", error).release();
  static py::handle build_error = py::exception<mlprt::BuildError>(module, "BuildError", error).release();
  py::register_exception_translator([](std::exception_ptr thrown) {
    try {
      if (thrown) std::rethrow_exception(thrown);
    } catch (const mlprt::InvalidArgument& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const mlprt::OutOfMemory& e) {
      PyErr_SetString(PyExc_MemoryError, e.what());
    } catch (const mlprt::BuildError& e) {
      PyErr_SetString(build_error.ptr(), e.what());
    } catch (const mlprt::OpenCLError& e) {
      // The OpenCL status travels as the exception's `code` attribute.
      py::object instance = py::reinterpret_borrow<py::object>(opencl_error)(e.what());
      instance.attr("code") = e.code();
      PyErr_SetObject(opencl_error.ptr(), instance.ptr());
    } catch (const mlprt::Error& e) {
      PyErr_SetString(error.ptr(), e.what());
    }
  });
}

}  // namespace mlprt::python

PYBIND11_MODULE(_core, module) {
  module.doc() = "mlprt's C++ core: OpenCL devices, memory, streams, programs";
  module.attr("__version__") = MLPRT_VERSION;
  mlprt::python::bindErrors(module);
  mlprt::python::bindLogging(module);
  mlprt::python::bindTypes(module);
  mlprt::python::bindNetworkDefinition(module);
  mlprt::python::bindDevices(module);
  mlprt::python::bindMemory(module);
  mlprt::python::bindProgram(module);
  mlprt::python::bindBuilder(module);
  mlprt::python::bindRuntime(module);
  mlprt::python::bindInspector(module);
}
