// Device listing and selection.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "backend/opencl/compile_helper.h"
#include "backend/opencl/context.h"
#include "backend/opencl/device.h"
#include "backend/opencl/memory.h"
#include "backend/opencl/program.h"
#include "python/bindings.h"

namespace py = pybind11;

namespace mlprt::python {
namespace {

std::string selectorText(const py::handle& selector) {
  if (py::isinstance<py::int_>(selector)) return std::to_string(selector.cast<long long>());
  if (py::isinstance<py::str>(selector)) return selector.cast<std::string>();
  throw py::type_error("a device selector is an index, 'platform:device' or part of a name");
}

}  // namespace

void bindDevices(py::module_& module) {
  using cl::DeviceInfo;
  py::class_<DeviceInfo>(module, "DeviceInfo", "An OpenCL device as mlprt sees it.")
      .def_readonly("index", &DeviceInfo::index, "Flat index, as MLPRT_DEVICE and select_device take it.")
      .def_readonly("platform_index", &DeviceInfo::platform_index)
      .def_readonly("device_index", &DeviceInfo::device_index)
      .def_readonly("platform", &DeviceInfo::platform_name)
      .def_readonly("name", &DeviceInfo::name)
      .def_readonly("vendor", &DeviceInfo::vendor)
      .def_readonly("driver_version", &DeviceInfo::driver_version)
      .def_readonly("opencl_version", &DeviceInfo::opencl_version)
      .def_property_readonly("type", [](const DeviceInfo& d) { return cl::deviceTypeName(d.type); })
      .def_readonly("global_memory", &DeviceInfo::global_memory, "Device memory in bytes.")
      .def_readonly("max_allocation", &DeviceInfo::max_allocation, "Largest single allocation in bytes.")
      .def_readonly("compute_units", &DeviceInfo::compute_units)
      .def_readonly("fp16", &DeviceInfo::fp16, "Whether cl_khr_fp16 (half arithmetic) is exposed.")
      .def_readonly("binary_costs_a_compile", &DeviceInfo::binary_costs_a_compile,
                    "Whether handing out a program's binary compiles its kernels again (PoCL).")
      .def_property_readonly("coordinates", &DeviceInfo::coordinates)
      .def_property_readonly("fingerprint", &DeviceInfo::fingerprint)
      .def("__repr__", [](const DeviceInfo& d) {
        return "<DeviceInfo " + std::to_string(d.index) + " (" + d.coordinates() + ") '" + d.name +
               "' " + cl::deviceTypeName(d.type) + " on '" + d.platform_name + "'>";
      });

  module.def("devices", &cl::listDevices, py::return_value_policy::copy,
             "All OpenCL devices of all platforms.");
  module.def("default_device", &cl::defaultDevice, py::return_value_policy::copy,
             "The device used when none is selected: MLPRT_DEVICE, else the first GPU, else the first CPU.");
  module.def("current_device", &cl::Context::currentDevice, py::return_value_policy::copy,
             "The device new allocations, streams and programs use.");
  module.def(
      "select_device",
      [](const py::handle& selector) { return cl::Context::selectDevice(selectorText(selector)); },
      py::arg("selector"), py::return_value_policy::copy,
      "Makes a device current: an index, 'platform:device', or part of its name.");

  module.def("program_cache_directory", &cl::programCacheDirectory);
  module.def(
      "program_binaries_kept", [] { return cl::Program::keepsBinaries(cl::Context::currentDevice()); },
      "Whether program binaries go to the disk cache and into engines on the current device (not on "
      "PoCL unless MLPRT_PROGRAM_BINARIES=1; none anywhere with MLPRT_PROGRAM_BINARIES=0).");
  module.def("program_cache_stats", [] {
    const cl::ProgramCacheStats stats = cl::programCacheStats();
    py::dict result;
    result["compiled"] = stats.compiled;
    result["loaded_from_disk"] = stats.loaded_from_disk;
    result["reused_in_memory"] = stats.reused_in_memory;
    result["installed_from_engine"] = stats.installed_from_engine;
    result["compiled_by_helpers"] = stats.compiled_by_helpers;
    return result;
  }, "How many programs this process compiled (compiled_by_helpers of them in compile helper "
     "processes), loaded from the disk cache, or reused.");
  module.def("set_compile_helper_path", &cl::setCompileHelperPath, py::arg("path"),
             "The mlprt-compile-helper executable a build's compile pool starts (the package's own by "
             "default; empty: none). MLPRT_COMPILE_HELPER overrides it.");
  module.def("compile_helper_path", &cl::compileHelperPath,
             "The compile helper executable builds start, or empty when they start none.");
  module.def("live_allocations", [] {
    const cl::LiveAllocations live = cl::liveAllocations();
    py::dict result;
    result["device_buffers"] = live.device_buffers;
    result["device_bytes"] = live.device_bytes;
    result["pinned_buffers"] = live.pinned_buffers;
    result["pinned_bytes"] = live.pinned_bytes;
    return result;
  }, "Device and pinned host buffers this process has allocated and not freed, with their bytes.");
}

}  // namespace mlprt::python
