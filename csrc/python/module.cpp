// mlprt._core: the compiled half of the mlprt package. C++ exceptions are translated to Python
// exceptions here, once, for every binding.
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>
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

py::str textOf(const std::string& message) {
  PyObject* text = PyUnicode_DecodeUTF8(message.data(), static_cast<Py_ssize_t>(message.size()), "replace");
  if (text == nullptr) throw py::error_already_set();
  return py::reinterpret_steal<py::str>(text);
}

namespace {

// Messages may quote bytes of a file (names in an engine, an ONNX model); bytes that are not
// UTF-8 are replaced, so that the conversion cannot fail and replace the error itself.
void setError(PyObject* type, const char* what) { PyErr_SetObject(type, textOf(what).ptr()); }

}  // namespace

void bindErrors(py::module_& module) {
  // Created once and kept for the life of the interpreter, as pybind11 recommends.
  static py::handle error = py::exception<mlprt::Error>(module, "Error", PyExc_RuntimeError).release();
  static py::handle opencl_error = py::exception<mlprt::OpenCLError>(module, "OpenCLError", error).release();
  static py::handle build_error = py::exception<mlprt::BuildError>(module, "BuildError", error).release();
  py::register_exception_translator([](std::exception_ptr thrown) {
    try {
      if (thrown) std::rethrow_exception(thrown);
    } catch (const mlprt::InvalidArgument& e) {
      setError(PyExc_ValueError, e.what());
    } catch (const mlprt::OutOfMemory& e) {
      setError(PyExc_MemoryError, e.what());
    } catch (const mlprt::BuildError& e) {
      setError(build_error.ptr(), e.what());
    } catch (const mlprt::OpenCLError& e) {
      // The OpenCL status travels as the exception's `code` attribute.
      py::object instance = py::reinterpret_borrow<py::object>(opencl_error)(textOf(e.what()));
      instance.attr("code") = e.code();
      PyErr_SetObject(opencl_error.ptr(), instance.ptr());
    } catch (const mlprt::Error& e) {
      setError(error.ptr(), e.what());
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
