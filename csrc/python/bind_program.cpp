// OpenCL programs and kernels (mlprt.compiler.SourceModule builds on these).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "backend/opencl/program.h"
#include "python/bindings.h"

namespace py = pybind11;

namespace mlprt::python {

void bindProgram(py::module_& module) {
  using cl::Kernel;
  using cl::Program;

  py::class_<Kernel>(module, "Kernel", "One kernel of a Program, with its arguments.")
      .def_property_readonly("name", &Kernel::name)
      .def_property_readonly("num_args", &Kernel::argumentCount)
      .def("set_arg_bytes", [](Kernel& k, unsigned index, const py::bytes& value) {
        const std::string data = value;
        k.setArgument(index, data.size(), data.data());
      }, py::arg("index"), py::arg("value"), "Sets a by-value argument from its bytes.")
      .def("set_arg_buffer", [](Kernel& k, unsigned index, const cl::DeviceBuffer& buffer) {
        k.setBuffer(index, buffer);
      }, py::arg("index"), py::arg("buffer"))
      .def("set_arg_local", [](Kernel& k, unsigned index, std::size_t bytes) {
        k.setArgument(index, bytes, nullptr);
      }, py::arg("index"), py::arg("nbytes"), "Reserves local (shared) memory for an argument.")
      .def("launch", [](Kernel& k, const std::shared_ptr<cl::Stream>& stream,
                        const std::vector<std::size_t>& global, const std::vector<std::size_t>& local,
                        int repeat) {
        if (repeat < 1) throw py::value_error("repeat must be at least 1");
        for (int i = 0; i < repeat; ++i) k.launch(*stream, global, local);
      }, py::arg("stream"), py::arg("global_size"), py::arg("local_size") = std::vector<std::size_t>{},
         py::arg("repeat") = 1,
         "Queues the kernel `repeat` times (from C++, without a Python call per launch).");

  py::class_<Program, std::shared_ptr<Program>>(module, "Program",
                                                "An OpenCL program built for the current device.")
      .def(py::init([](const std::string& source, const std::string& options) {
             py::gil_scoped_release release;
             // Program::build shares immutable programs; the binding needs a non-const holder.
             return std::const_pointer_cast<Program>(
                 Program::build(cl::Context::current(), source, options));
           }),
           py::arg("source"), py::arg("options") = "")
      .def_property_readonly("origin", [](const Program& p) {
        switch (p.origin()) {
          case Program::Origin::kCompiled: return "compiled";
          case Program::Origin::kDiskCache: return "disk-cache";
          case Program::Origin::kEngine: return "engine";
        }
        return "compiled";
      }, "How this program was obtained: 'compiled', 'disk-cache' or 'engine'.")
      .def("binary", [](const Program& p) {
        const std::vector<unsigned char> binary = p.binary();
        return py::bytes(reinterpret_cast<const char*>(binary.data()), binary.size());
      })
      .def("kernel", [](const std::shared_ptr<Program>& p, const std::string& name) {
        return Kernel(p, name);
      }, py::arg("name"));
}

}  // namespace mlprt::python
