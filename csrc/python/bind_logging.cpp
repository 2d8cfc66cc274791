// Routes the core's log messages to a Python callable (mlprt.Logger builds on this).
#include <pybind11/functional.h>
#include <pybind11/pybind11.h>

#include <iostream>

#include "core/logging.h"
#include "python/bindings.h"

namespace py = pybind11;

namespace mlprt::python {
namespace {

// Owns the Python callable behind the core's log sink. The last reference may be dropped on a
// thread without the GIL, or after the interpreter has finalized: take the GIL, or leak.
struct PythonSink {
  py::function callable;

  explicit PythonSink(py::function function) : callable(std::move(function)) {}
  PythonSink(const PythonSink&) = delete;
  PythonSink& operator=(const PythonSink&) = delete;
  ~PythonSink() {
    if (Py_IsInitialized()) {
      py::gil_scoped_acquire gil;
      callable = py::function();
    } else {
      callable.release();
    }
  }

  void operator()(Severity severity, const std::string& message) const {
    py::gil_scoped_acquire gil;
    try {
      callable(severity, textOf(message));
    } catch (py::error_already_set& error) {
      std::cerr << "[mlprt] the Python logger raised: " << error.what() << std::endl;
    }
  }
};

}  // namespace

void bindLogging(py::module_& module) {
  py::enum_<Severity>(module, "Severity", "Log message severity, most severe first.")
      .value("INTERNAL_ERROR", Severity::kINTERNAL_ERROR)
      .value("ERROR", Severity::kERROR)
      .value("WARNING", Severity::kWARNING)
      .value("INFO", Severity::kINFO)
      .value("VERBOSE", Severity::kVERBOSE);

  module.def(
      "set_log_sink",
      [](py::function sink, Severity min_severity) {
        // The sink outlives this call and may run on any thread.
        auto python_sink = std::make_shared<PythonSink>(std::move(sink));
        setLogSink([python_sink](Severity severity, const std::string& message) {
          (*python_sink)(severity, message);
        }, min_severity);
      },
      py::arg("sink"), py::arg("min_severity"),
      "Sends core messages at or above min_severity to sink(severity, message).");
  module.def("reset_log_sink", &resetLogSink, "Sends core messages to stderr again.");
  // Drop the Python sink while the interpreter can still run its destructor.
  py::module_::import("atexit").attr("register")(py::cpp_function(&resetLogSink));
  module.def(
      "log", [](Severity severity, const std::string& message) { log(severity, message); },
      py::arg("severity"), py::arg("message"), "Logs a message through the core's logger.");
}

}  // namespace mlprt::python
