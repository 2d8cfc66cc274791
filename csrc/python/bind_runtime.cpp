// Runtime, ICudaEngine, IExecutionContext and TensorIOMode with TensorRT 10's Python names.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <string>

#include "backend/opencl/context.h"
#include "backend/opencl/memory.h"
#include "builder/builder_config.h"
#include "core/error.h"
#include "core/hash.h"
#include "core/logging.h"
#include "engine/format.h"
#include "python/bindings.h"
#include "python/contiguous_bytes.h"
#include "python/host_memory.h"
#include "runtime/engine.h"
#include "runtime/execution_context.h"
#include "runtime/profiler.h"

namespace py = pybind11;

namespace mlprt::python {
namespace {

using runtime::Engine;
using runtime::ExecutionContext;
// pybind11 holders cannot be pointers to const; engines are immutable all the same.
using EnginePtr = std::shared_ptr<Engine>;
using ContextPtr = std::shared_ptr<ExecutionContext>;

struct Runtime {
  py::object logger;
};

// A Python profiler (mlprt.IProfiler or any object with report_layer_time(layer_name, ms)),
// called with the GIL taken; its exceptions reach the caller of execute_async_v3 or
// report_to_profiler. The last reference may be dropped without the GIL, or after the
// interpreter has finalized: take the GIL, or leak.
class PythonProfiler : public runtime::Profiler {
 public:
  explicit PythonProfiler(py::object target) : target_(std::move(target)) {}
  PythonProfiler(const PythonProfiler&) = delete;
  PythonProfiler& operator=(const PythonProfiler&) = delete;
  ~PythonProfiler() override {
    if (Py_IsInitialized()) {
      py::gil_scoped_acquire gil;
      target_ = py::object();
    } else {
      target_.release();
    }
  }

  void reportLayerTime(const std::string& layer_name, float milliseconds) override {
    py::gil_scoped_acquire gil;
    target_.attr("report_layer_time")(layer_name, milliseconds);
  }
  const py::object& target() const noexcept { return target_; }

 private:
  py::object target_;
};

void setProfiler(ExecutionContext& context, const py::object& profiler) {
  if (profiler.is_none()) {
    context.setProfiler(nullptr);
    return;
  }
  if (!py::hasattr(profiler, "report_layer_time") || !PyCallable_Check(profiler.attr("report_layer_time").ptr())) {
    throw py::type_error(
        "IExecutionContext.profiler needs an IProfiler (an object with a report_layer_time(layer_name, ms) "
        "method); got " + py::str(py::type::of(profiler).attr("__name__")).cast<std::string>());
  }
  context.setProfiler(std::make_shared<PythonProfiler>(profiler));
}

py::object profilerOf(const ExecutionContext& context) {
  const auto* python = dynamic_cast<const PythonProfiler*>(context.profiler().get());
  return python ? python->target() : py::none();
}

// Deserializes, or logs why not and returns None (TensorRT's behaviour).
py::object deserialize(const py::buffer& data) {
  const py::buffer_info info = contiguousBytes(data, "serialized_engine");
  const auto* bytes = static_cast<const std::uint8_t*>(info.ptr);
  const auto size = static_cast<std::size_t>(info.size * info.itemsize);
  try {
    std::shared_ptr<const Engine> engine;
    {
      py::gil_scoped_release release;
      engine = Engine::deserialize(cl::Context::current(), bytes, size);
    }
    return py::cast(std::const_pointer_cast<Engine>(engine));
  } catch (const Error& e) {
    log(Severity::kERROR, std::string("deserialize_cuda_engine: ") + e.what());
    return py::none();
  }
}

const engine::PlanTensor& ioTensor(const Engine& engine, const std::string& name) {
  return engine.plan().tensors[static_cast<std::size_t>(engine.ioTensor(name))];
}

void requireProfile(const Engine& engine, int profile) {
  const std::size_t profiles = engine.plan().profiles.size();
  if (profile < 0 || profile >= static_cast<int>(profiles)) {
    throw InvalidArgument("optimization profile " + std::to_string(profile) + " does not exist (the engine has " +
                          std::to_string(profiles) + ")");
  }
}

py::list profileShape(const Engine& engine, const std::string& name, int profile) {
  const engine::EnginePlan& plan = engine.plan();
  const int input = engine.inputIndex(engine.ioTensor(name));
  if (input < 0) throw InvalidArgument("'" + name + "' is an output; profiles hold input shapes");
  requireProfile(engine, profile);
  const engine::ProfileShapes& shapes = plan.profiles[static_cast<std::size_t>(profile)];
  const auto i = static_cast<std::size_t>(input);
  py::list result;
  result.append(tupleOf(shapes.min[i]));
  result.append(tupleOf(shapes.opt[i]));
  result.append(tupleOf(shapes.max[i]));
  return result;
}

using EngineClass = py::class_<Engine, EnginePtr>;

// TensorRT's I/O tensor formats and locations, numbered as TensorRT 10 numbers them. Every mlprt
// I/O tensor is row-major linear in device memory (FP16 engines cast FP32 I/O at the boundary; no
// I/O is a shape tensor read on the host), which is what the engine's format queries answer.
enum class TensorFormat {
  kLINEAR = 0, kCHW2 = 1, kHWC8 = 2, kCHW4 = 3, kCHW16 = 4, kCHW32 = 5, kDHWC8 = 6, kCDHW32 = 7, kHWC = 8,
  kDLA_LINEAR = 9, kDLA_HWC4 = 10, kHWC16 = 11, kDHWC = 12,
};
enum class TensorLocation { kDEVICE = 0, kHOST = 1 };

// The name's I/O tensor, checking it and, where given (not -1), the profile index.
const engine::PlanTensor& ioTensorInProfile(const Engine& engine, const std::string& name, int profile) {
  const engine::PlanTensor& tensor = ioTensor(engine, name);
  if (profile != -1) requireProfile(engine, profile);
  return tensor;
}

// TensorRT's description of a linear format, e.g. "Row major linear FP32 format (kLINEAR)".
std::string linearFormatDescription(DataType type) {
  switch (type) {
    case DataType::kFLOAT: return "Row major linear FP32 format (kLINEAR)";
    case DataType::kHALF: return "Row major linear FP16 format (kLINEAR)";
    default: return std::string("Row major linear ") + dataTypeName(type) + " format (kLINEAR)";
  }
}

void bindTensorFormats(py::module_& m, EngineClass& engine_class) {
  py::enum_<TensorFormat>(m, "TensorFormat")
      .value("LINEAR", TensorFormat::kLINEAR).value("CHW2", TensorFormat::kCHW2).value("HWC8", TensorFormat::kHWC8)
      .value("CHW4", TensorFormat::kCHW4).value("CHW16", TensorFormat::kCHW16).value("CHW32", TensorFormat::kCHW32)
      .value("DHWC8", TensorFormat::kDHWC8).value("CDHW32", TensorFormat::kCDHW32).value("HWC", TensorFormat::kHWC)
      .value("DLA_LINEAR", TensorFormat::kDLA_LINEAR).value("DLA_HWC4", TensorFormat::kDLA_HWC4)
      .value("HWC16", TensorFormat::kHWC16).value("DHWC", TensorFormat::kDHWC);
  py::enum_<TensorLocation>(m, "TensorLocation")
      .value("DEVICE", TensorLocation::kDEVICE)
      .value("HOST", TensorLocation::kHOST);
  engine_class
      .def(
          "get_tensor_format",
          [](const Engine& self, const std::string& name, int profile) {
            ioTensorInProfile(self, name, profile);
            return TensorFormat::kLINEAR;
          },
          py::arg("name"), py::arg("profile_index") = -1, "TensorFormat.LINEAR: every I/O tensor is row-major.")
      .def(
          "get_tensor_format_desc",
          [](const Engine& self, const std::string& name, int profile) {
            return linearFormatDescription(ioTensorInProfile(self, name, profile).type);
          },
          py::arg("name"), py::arg("profile_index") = -1)
      .def(
          "get_tensor_bytes_per_component",
          [](const Engine& self, const std::string& name, int profile) {
            return elementSize(ioTensorInProfile(self, name, profile).type);
          },
          py::arg("name"), py::arg("profile_index") = -1, "The size of one value of the tensor's type.")
      .def(
          "get_tensor_components_per_element",
          [](const Engine& self, const std::string& name, int profile) {
            ioTensorInProfile(self, name, profile);
            return 1;
          },
          py::arg("name"), py::arg("profile_index") = -1, "1: linear formats are not vectorized.")
      .def(
          "get_tensor_vectorized_dim",
          [](const Engine& self, const std::string& name, int profile) {
            ioTensorInProfile(self, name, profile);
            return -1;
          },
          py::arg("name"), py::arg("profile_index") = -1, "-1: linear formats are not vectorized.")
      .def(
          "get_tensor_location",
          [](const Engine& self, const std::string& name) {
            ioTensor(self, name);
            return TensorLocation::kDEVICE;
          },
          py::arg("name"), "TensorLocation.DEVICE: no mlprt I/O tensor is a shape tensor read on the host.")
      .def(
          "is_shape_inference_io",
          [](const Engine& self, const std::string& name) {
            ioTensor(self, name);
            return false;
          },
          py::arg("name"), "False: no mlprt I/O tensor is a shape tensor.")
      .def_property_readonly("num_aux_streams", [](const Engine&) { return 0; },
                             "0: every layer runs on the execution context's stream.");
}


using ContextClass = py::class_<ExecutionContext, ContextPtr>;

void bindEngine(EngineClass& engine_class) {
  engine_class
      .def_property_readonly("num_io_tensors", &Engine::ioTensorCount)
      .def("get_tensor_name", &Engine::ioTensorName, py::arg("index"))
      .def("get_tensor_mode", &Engine::ioMode, py::arg("name"))
      .def("get_tensor_shape", [](const Engine& self, const std::string& name) { return tupleOf(ioTensor(self, name).shape); },
           py::arg("name"), "The built shape: -1 where the extent is dynamic.")
      .def("get_tensor_dtype", [](const Engine& self, const std::string& name) { return ioTensor(self, name).type; },
           py::arg("name"))
      .def("get_tensor_profile_shape", &profileShape, py::arg("name"), py::arg("profile_index"),
           "[min, opt, max] of an input in a profile.")
      .def_property_readonly("num_optimization_profiles",
                             [](const Engine& self) { return self.plan().profiles.size(); })
      .def_property_readonly("num_layers", [](const Engine& self) { return self.plan().steps.size(); })
      .def_property_readonly("device_memory_size", &Engine::deviceMemoryBytes,
                             "Device memory each execution context needs (activations and the steps' "
                             "workspace), in bytes: it allocates them unless made without device memory.")
      .def_property_readonly("has_implicit_batch_dimension", [](const Engine&) { return false; })
      .def("serialize", [](const Engine& self) { return std::make_shared<HostMemory>(HostMemory{self.serialized()}); })
      .def("__len__", &Engine::ioTensorCount)
      .def("__getitem__",
           [](const Engine& self, py::ssize_t index) {
             const auto count = static_cast<py::ssize_t>(self.ioTensorCount());
             if (index < 0) index += count;
             if (index < 0 || index >= count) throw py::index_error("I/O tensor index out of range");
             return self.ioTensorName(static_cast<std::size_t>(index));
           })
      .def("__iter__", [](const Engine& self) {
        py::list names;
        for (std::size_t i = 0; i < self.ioTensorCount(); ++i) names.append(self.ioTensorName(i));
        return py::iter(names);
      });
}

void bindContext(ContextClass& context_class) {
  context_class
      .def_property_readonly("engine", [](const ExecutionContext& self) { return std::const_pointer_cast<Engine>(self.sharedEngine()); })
      .def(
          "set_input_shape",
          [](ExecutionContext& self, const std::string& name, const py::object& shape) {
            return self.setInputShape(name, dimsFrom(shape));
          },
          py::arg("name"), py::arg("shape"),
          "Sets an input's shape; False (with the reason logged) when it is outside the active profile.")
      .def("get_tensor_shape", [](ExecutionContext& self, const std::string& name) { return tupleOf(self.tensorShape(name)); },
           py::arg("name"))
      .def(
          "set_tensor_address",
          [](ExecutionContext& self, const std::string& name, std::uint64_t address) {
            self.setTensorAddress(name, address);
            return true;
          },
          py::arg("name"), py::arg("memory"),
          "Binds memory to an I/O tensor: a device address (mlprt.driver.mem_alloc, cudaMalloc) or the address "
          "of pinned host memory (pagelocked_empty(...).ctypes.data, cudaMallocHost), which the context reads "
          "or writes without memcpy calls.")
      .def("get_tensor_address", &ExecutionContext::tensorAddress, py::arg("name"))
      .def(
          "set_aux_streams",
          [](ExecutionContext&, const py::sequence&) {},
          py::arg("aux_streams"),
          "Taken and unused: the engine has no auxiliary streams (num_aux_streams is 0), as TensorRT "
          "ignores streams beyond an engine's count.")
      .def(
          "execute_async_v3",
          [](ExecutionContext& self, const py::object& stream_handle) {
            const std::shared_ptr<cl::Stream> stream = streamArgument(stream_handle, self.engine().context());
            py::gil_scoped_release release;
            self.enqueue(*stream);
            return true;
          },
          py::arg("stream_handle"), "Enqueues inference on the stream; raises ValueError naming what is missing.")
      .def(
          "execute_v2",
          [](ExecutionContext& self, const std::vector<std::uint64_t>& bindings) {
            const Engine& engine = self.engine();
            if (bindings.size() != engine.ioTensorCount()) {
              throw InvalidArgument("execute_v2 needs one binding per I/O tensor (" +
                                    std::to_string(engine.ioTensorCount()) + "), got " + std::to_string(bindings.size()));
            }
            for (std::size_t i = 0; i < bindings.size(); ++i) {
              if (bindings[i] != 0) cl::resolveDeviceAddress(bindings[i], 0, "binding of '" + engine.ioTensorName(i) + "'");
              self.setTensorAddress(engine.ioTensorName(i), bindings[i]);
            }
            const std::shared_ptr<cl::Stream> stream = cl::Stream::defaultFor(engine.context());
            py::gil_scoped_release release;
            self.enqueue(*stream);
            stream->synchronize();
            return true;
          },
          py::arg("bindings"), "Runs inference synchronously; bindings are device addresses in I/O tensor order.")
      .def(
          "set_optimization_profile_async",
          [](ExecutionContext& self, int index, const py::object& stream_handle) {
            streamArgument(stream_handle, self.engine().context());  // validates the handle
            self.setOptimizationProfile(index);
            return true;
          },
          py::arg("profile_index"), py::arg("stream_handle"))
      .def_property(
          "active_optimization_profile", &ExecutionContext::activeOptimizationProfile,
          [](ExecutionContext& self, int index) { self.setOptimizationProfile(index); })
      .def_property_readonly("all_binding_shapes_specified", &ExecutionContext::allInputShapesSpecified)
      .def_property_readonly("all_shape_inputs_specified", [](const ExecutionContext&) { return true; })
      .def("infer_shapes", &ExecutionContext::missingInputShapes,
           "Names of inputs whose shape is still unset (empty when all outputs can be resolved).")
      .def_property_readonly("device_memory_size", &ExecutionContext::deviceMemorySize)
      .def_property("profiler", &profilerOf, &setProfiler,
                    "Per-layer timing: an IProfiler whose report_layer_time(layer_name, ms) is called for every "
                    "step after each inference (which makes execute_async_v3 wait for it); None turns it off.")
      .def_property("enqueue_emits_profile", &ExecutionContext::enqueueEmitsProfile,
                    &ExecutionContext::setEnqueueEmitsProfile,
                    "True (default): execute_async_v3 reports to the profiler itself; False: call "
                    "report_to_profiler() when wanted.")
      .def(
          "report_to_profiler",
          [](ExecutionContext& self) {
            py::gil_scoped_release release;
            return self.reportToProfiler();
          },
          "Waits for the last profiled inference and reports its layers; False when there is nothing to report.");
}

void bindRuntimeClass(py::module_& m) {
  py::class_<Runtime>(m, "Runtime", "Loads serialized engines on the current device.")
      .def(py::init([](py::object logger) {
             routeCoreMessages(logger);
             return Runtime{std::move(logger)};
           }),
           py::arg("logger"))
      .def_readonly("logger", &Runtime::logger)
      .def("deserialize_cuda_engine", [](const Runtime&, const py::buffer& data) { return deserialize(data); },
           py::arg("serialized_engine"), "The engine, or None with the reason sent to the logger.")
      .def("deserialize_engine", [](const Runtime&, const py::buffer& data) { return deserialize(data); },
           py::arg("serialized_engine"))
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](const py::object&, const py::args&) { return false; });
}

// TensorRT's contexts with memory the user manages (create_execution_context_without_device_memory
// and context.device_memory in TensorRT 8; the USER_MANAGED strategy and set_device_memory in 10).
enum class AllocationStrategy { kSTATIC, kON_PROFILE_CHANGE, kUSER_MANAGED };

std::uint64_t addressOf(const py::object& memory) { return py::int_(memory).cast<std::uint64_t>(); }

void bindDeviceMemory(py::module_& m, EngineClass& engine_class, ContextClass& context_class) {
  py::enum_<AllocationStrategy>(m, "ExecutionContextAllocationStrategy")
      .value("STATIC", AllocationStrategy::kSTATIC)
      .value("ON_PROFILE_CHANGE", AllocationStrategy::kON_PROFILE_CHANGE)
      .value("USER_MANAGED", AllocationStrategy::kUSER_MANAGED);
  engine_class
      .def(
          "create_execution_context",
          [](const EnginePtr& self, AllocationStrategy strategy) {
            return std::make_shared<ExecutionContext>(self, strategy != AllocationStrategy::kUSER_MANAGED);
          },
          py::arg("strategy") = AllocationStrategy::kSTATIC,
          "A new execution context. STATIC and ON_PROFILE_CHANGE allocate its device memory (the most any "
          "profile needs); USER_MANAGED leaves it to set_device_memory.")
      .def(
          "create_execution_context_without_device_memory",
          [](const EnginePtr& self) { return std::make_shared<ExecutionContext>(self, false); },
          "TensorRT 8's context that runs once context.device_memory is set (device_memory_size bytes).")
      .def_property_readonly("device_memory_size_v2", &Engine::deviceMemoryBytes,
                             "The device memory a context needs, in bytes (as device_memory_size).");
  context_class
      .def_property(
          "device_memory",
          [](const ExecutionContext&) -> py::object {
            throw py::attribute_error("device_memory is write-only, as in TensorRT: set it to a device address");
          },
          [](ExecutionContext& self, const py::object& memory) { self.setDeviceMemory(addressOf(memory)); },
          "Write-only: device memory (an address of engine.device_memory_size bytes, 256-byte aligned) for a "
          "context made without its own.")
      .def(
          "set_device_memory",
          [](ExecutionContext& self, const py::object& memory, std::size_t size) {
            self.setDeviceMemory(addressOf(memory), size);
          },
          py::arg("memory"), py::arg("size"),
          "TensorRT 10's form of device_memory: `size` bytes at `memory`, at least engine.device_memory_size.")
      .def("update_device_memory_size_for_shapes", &ExecutionContext::deviceMemorySize,
           "The device memory this context needs at its shapes: engine.device_memory_size (mlprt plans the "
           "largest shapes of every profile).");
}

// Row-major strides, in elements, of `shape` (TensorRT's get_tensor_strides); every extent known.
py::tuple rowMajorStrides(const std::string& name, const Dims& shape) {
  std::vector<std::int64_t> strides(shape.rank(), 1);
  for (std::size_t axis = shape.rank(); axis-- > 0;) {
    if (shape[axis] < 0) {
      throw InvalidArgument("get_tensor_strides: '" + name + "' has shape " + shape.toString() +
                            " with unknown extents; set the input shapes first");
    }
    if (axis + 1 < shape.rank()) strides[axis] = strides[axis + 1] * shape[axis + 1];
  }
  return tupleOf(Dims(strides));
}

// TensorRT 10's engine settings, at the values every mlprt engine has.
void bindEngineSettings(EngineClass& engine_class, ContextClass& context_class) {
  engine_class
      .def_property_readonly("refittable", [](const Engine&) { return false; },
                             "False: mlprt engines cannot be refit (BuilderFlag.REFIT is refused).")
      .def_property_readonly("profiling_verbosity", [](const Engine&) { return builder::ProfilingVerbosity::kDETAILED; },
                             "DETAILED: every engine keeps each layer's details for the inspector.")
      .def_property_readonly("engine_capability", [](const Engine&) { return builder::EngineCapability::kSTANDARD; })
      .def_property_readonly("hardware_compatibility_level",
                             [](const Engine&) { return builder::HardwareCompatibilityLevel::kNONE; },
                             "NONE: an engine runs on the device it was built for.")
      .def(
          "get_device_memory_size_for_profile",
          [](const Engine& self, int profile) {
            requireProfile(self, profile);
            return self.deviceMemoryBytes();
          },
          py::arg("profile_index"),
          "The device memory a context needs in that profile: device_memory_size (planned for every profile's "
          "largest shapes).");
  context_class.def(
      "get_tensor_strides",
      [](ExecutionContext& self, const std::string& name) { return rowMajorStrides(name, self.tensorShape(name)); },
      py::arg("name"), "Strides in elements of an I/O tensor at the shapes set: row-major, as every mlprt I/O tensor.");
}

}  // namespace

void bindRuntime(py::module_& m) {
  py::enum_<runtime::TensorIOMode>(m, "TensorIOMode")
      .value("NONE", runtime::TensorIOMode::kNONE)
      .value("INPUT", runtime::TensorIOMode::kINPUT)
      .value("OUTPUT", runtime::TensorIOMode::kOUTPUT);
  // Both classes exist before any method is added, so signatures name each other in Python terms.
  EngineClass engine_class(m, "ICudaEngine", "A built engine, ready to run on its device.");
  ContextClass context_class(m, "IExecutionContext", "Inference state for one engine: shapes, addresses, activations.");
  bindEngine(engine_class);
  bindTensorFormats(m, engine_class);
  bindContext(context_class);
  bindDeviceMemory(m, engine_class, context_class);
  bindEngineSettings(engine_class, context_class);
  bindRuntimeClass(m);
  m.def(
      "engine_checksum",
      [](const py::buffer& payload) {
        const py::buffer_info bytes = contiguousBytes(payload, "payload");
        return fnv1a64(bytes.ptr, static_cast<std::size_t>(bytes.size * bytes.itemsize));
      },
      py::arg("payload"),
      "The checksum an engine file's header records for its payload (the bytes after the 32-byte "
      "header): 64-bit FNV-1a, docs/engine-format.md.");
}

}  // namespace mlprt::python
