// Builder, IBuilderConfig, IOptimizationProfile, ITimingCache and IHostMemory with TensorRT 10's
// Python names.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <string>

#include "backend/opencl/context.h"
#include "backend/opencl/kernels.h"
#include "builder/builder.h"
#include "core/error.h"
#include "core/logging.h"
#include "network/network.h"
#include "python/bindings.h"
#include "python/contiguous_bytes.h"
#include "python/host_memory.h"

namespace py = pybind11;

namespace mlprt::python {
namespace {

using builder::BuilderConfig;
using builder::OptimizationProfile;
using builder::TimingCache;

// TensorRT's network creation flags; explicit batch is the only mode mlprt has.
enum class NetworkDefinitionCreationFlag { kEXPLICIT_BATCH = 0, kSTRONGLY_TYPED = 1 };

struct Builder {
  py::object logger;
};

void bindHostMemory(py::module_& m) {
  py::class_<HostMemory, std::shared_ptr<HostMemory>>(m, "IHostMemory", py::buffer_protocol(),
                                                      "Bytes owned by mlprt: a serialized engine or timing cache.")
      .def_buffer([](HostMemory& self) {
        return py::buffer_info(self.bytes.data(), 1, py::format_descriptor<std::uint8_t>::format(), 1,
                               {static_cast<py::ssize_t>(self.bytes.size())}, {1}, /*readonly=*/true);
      })
      .def_property_readonly("nbytes", [](const HostMemory& self) { return self.bytes.size(); })
      .def_property_readonly("dtype", [](const HostMemory&) { return DataType::kUINT8; })
      .def("__len__", [](const HostMemory& self) { return self.bytes.size(); })
      .def("__bytes__", [](const HostMemory& self) {
        return py::bytes(reinterpret_cast<const char*>(self.bytes.data()), self.bytes.size());
      });
}

void bindProfile(py::module_& m) {
  py::class_<OptimizationProfile, std::shared_ptr<OptimizationProfile>>(
      m, "IOptimizationProfile", "Min/opt/max shapes of the dynamic inputs.")
      .def(py::init<>())
      .def(
          "set_shape",
          [](OptimizationProfile& self, const std::string& input, const py::object& min, const py::object& opt,
             const py::object& max) { self.setShape(input, dimsFrom(min), dimsFrom(opt), dimsFrom(max)); },
          py::arg("input"), py::arg("min"), py::arg("opt"), py::arg("max"),
          "Sets the shape range of an input; raises ValueError naming the input when min <= opt <= max fails.")
      .def(
          "get_shape",
          [](const OptimizationProfile& self, const std::string& input) {
            const builder::ShapeRange& range = self.shape(input);
            return py::make_tuple(tupleOf(range.min), tupleOf(range.opt), tupleOf(range.max));
          },
          py::arg("input"), "(min, opt, max) of an input.");
}

void bindTimingCache(py::module_& m) {
  py::class_<TimingCache, std::shared_ptr<TimingCache>>(m, "ITimingCache",
                                                        "Tactic choices by layer signature and device.")
      .def("serialize", [](const TimingCache& self) { return std::make_shared<HostMemory>(HostMemory{self.serialize()}); })
      .def("combine", &TimingCache::combine, py::arg("input_cache"), py::arg("ignore_mismatch"),
           "Adds the other cache's entries; False when it belongs to another device and ignore_mismatch is off.")
      .def("reset", [](TimingCache& self) { self = TimingCache(); })
      .def("__len__", &TimingCache::size)
      .def_property_readonly("hits", &TimingCache::hits, "Lookups answered from the cache.")
      .def_property_readonly("misses", &TimingCache::misses, "Lookups that needed timing.");
}

std::shared_ptr<TimingCache> timingCacheFrom(const py::buffer& data) {
  const py::buffer_info info = contiguousBytes(data, "timing cache data");
  const auto* bytes = static_cast<const std::uint8_t*>(info.ptr);
  return std::make_shared<TimingCache>(
      TimingCache::fromBytes(bytes, static_cast<std::size_t>(info.size * info.itemsize)));
}

void bindConfig(py::module_& m) {
  // TensorRT 10's members and numbers (and TensorRT 8's STRICT_TYPES): scripts write masks as
  // 1 << int(flag).
  py::enum_<builder::BuilderFlag> flags(m, "BuilderFlag");
  for (int value = 0; value < 32; ++value) {
    const auto flag = static_cast<builder::BuilderFlag>(value);
    if (*builder::builderFlagName(flag)) flags.value(builder::builderFlagName(flag), flag);
  }
  py::enum_<builder::MemoryPoolType>(m, "MemoryPoolType").value("WORKSPACE", builder::MemoryPoolType::kWORKSPACE);
  // TensorRT 8.0's DEFAULT and VERBOSE are the later LAYER_NAMES_ONLY and DETAILED.
  py::enum_<builder::ProfilingVerbosity>(m, "ProfilingVerbosity")
      .value("LAYER_NAMES_ONLY", builder::ProfilingVerbosity::kLAYER_NAMES_ONLY)
      .value("NONE", builder::ProfilingVerbosity::kNONE)
      .value("DETAILED", builder::ProfilingVerbosity::kDETAILED)
      .value("DEFAULT", builder::ProfilingVerbosity::kLAYER_NAMES_ONLY)
      .value("VERBOSE", builder::ProfilingVerbosity::kDETAILED);
  py::enum_<builder::EngineCapability>(m, "EngineCapability")
      .value("STANDARD", builder::EngineCapability::kSTANDARD)
      .value("SAFETY", builder::EngineCapability::kSAFETY)
      .value("DLA_STANDALONE", builder::EngineCapability::kDLA_STANDALONE)
      .value("DEFAULT", builder::EngineCapability::kSTANDARD);  // TensorRT 7's name
  py::enum_<builder::HardwareCompatibilityLevel>(m, "HardwareCompatibilityLevel")
      .value("NONE", builder::HardwareCompatibilityLevel::kNONE)
      .value("AMPERE_PLUS", builder::HardwareCompatibilityLevel::kAMPERE_PLUS)
      .value("SAME_COMPUTE_CAPABILITY", builder::HardwareCompatibilityLevel::kSAME_COMPUTE_CAPABILITY);
  py::enum_<builder::DeviceType>(m, "DeviceType")
      .value("GPU", builder::DeviceType::kGPU)
      .value("DLA", builder::DeviceType::kDLA);
  py::enum_<builder::TacticSource>(m, "TacticSource")
      .value("CUBLAS", builder::TacticSource::kCUBLAS)
      .value("CUBLAS_LT", builder::TacticSource::kCUBLAS_LT)
      .value("CUDNN", builder::TacticSource::kCUDNN)
      .value("EDGE_MASK_CONVOLUTIONS", builder::TacticSource::kEDGE_MASK_CONVOLUTIONS)
      .value("JIT_CONVOLUTIONS", builder::TacticSource::kJIT_CONVOLUTIONS);
  py::class_<BuilderConfig, std::shared_ptr<BuilderConfig>>(m, "IBuilderConfig", "What a build may do.")
      .def("set_memory_pool_limit", &BuilderConfig::setMemoryPoolLimit, py::arg("pool"), py::arg("pool_size"))
      .def("get_memory_pool_limit", &BuilderConfig::memoryPoolLimit, py::arg("pool"))
      .def("set_flag", &BuilderConfig::setFlag, py::arg("flag"),
           "Sets one flag. ValueError, the config unchanged, for a flag mlprt cannot honour (REFIT, "
           "DEBUG, DIRECT_IO, ...: the message says why); INT8, FP8, BF16 and INT4 are taken with a "
           "warning (mlprt has no such kernels: the build uses FP32, or FP16 where allowed).")
      .def("clear_flag", &BuilderConfig::clearFlag, py::arg("flag"))
      .def("get_flag", &BuilderConfig::flag, py::arg("flag"))
      .def_property("flags", &BuilderConfig::flags, &BuilderConfig::setFlags,
                    "Every flag as one mask of 1 << int(BuilderFlag.X) (0 by default). Setting it refuses, "
                    "before any change, bits that name no flag and flags set_flag refuses.")
      .def("set_tactic_sources", &BuilderConfig::setTacticSources, py::arg("tactic_sources"),
           "Which tactic sources the build may use: a mask of 1 << int(TacticSource.X). CUBLAS or "
           "CUBLAS_LT lets CLBlast's FP32 products be timed; mlprt's own kernels are always candidates. "
           "False, and no change, for bits that name no source.")
      .def("get_tactic_sources", &BuilderConfig::tacticSources,
           "The tactic-source mask: by default every source, without CUBLAS and CUBLAS_LT on CPU devices.")
      .def_property("avg_timing_iterations", &BuilderConfig::avgTimingIterations, &BuilderConfig::setAvgTimingIterations,
                    "Timed runs averaged per candidate tactic. 0 (the default): as many as fit the builder's "
                    "timing budget (20 ms, at most 11), or MLPRT_TIMING_ITERATIONS where that is set. "
                    "ValueError below 0.")
      .def_property("builder_optimization_level", &BuilderConfig::builderOptimizationLevel,
                    &BuilderConfig::setBuilderOptimizationLevel,
                    "TensorRT's builder optimization level, 0 to 5 (3 by default; above 5 acts as 5). From 3 "
                    "up, tactics are timed at each profile's min, opt, max and between, so a dynamic engine "
                    "may switch tactics by shape; below 3 at the first profile's opt shapes only (one tactic "
                    "per layer, a faster build). ValueError below 0.")
      .def_property("profiling_verbosity", &BuilderConfig::profilingVerbosity, &BuilderConfig::setProfilingVerbosity,
                    "How much the engine keeps for the inspector: DETAILED (mlprt's default; every engine keeps "
                    "each layer's name, tactic and details); LAYER_NAMES_ONLY is taken and the details stay; "
                    "ValueError for NONE.")
      .def_property("max_aux_streams", &BuilderConfig::maxAuxStreams, &BuilderConfig::setMaxAuxStreams,
                    "Auxiliary streams the engine may use (-1, the default: the builder decides). mlprt's engines "
                    "run every layer on the context's stream, within any limit. ValueError below -1.")
      .def_property("engine_capability", &BuilderConfig::engineCapability, &BuilderConfig::setEngineCapability,
                    "EngineCapability.STANDARD, the only one (ValueError for SAFETY, DLA_STANDALONE).")
      .def_property("hardware_compatibility_level", &BuilderConfig::hardwareCompatibilityLevel,
                    &BuilderConfig::setHardwareCompatibilityLevel,
                    "HardwareCompatibilityLevel.NONE, the only one: engines run on the device they were built for "
                    "(ValueError for the others).")
      .def_property("default_device_type", &BuilderConfig::defaultDeviceType, &BuilderConfig::setDefaultDeviceType,
                    "DeviceType.GPU, the only one: layers run on the OpenCL device (ValueError for DLA).")
      .def_property("DLA_core", &BuilderConfig::dlaCore, &BuilderConfig::setDlaCore,
                    "-1, the only value: mlprt has no DLA (ValueError for any other).")
      .def("add_optimization_profile", &BuilderConfig::addOptimizationProfile, py::arg("profile"),
           "Adds a copy of the profile; returns its index.")
      .def_property_readonly("num_optimization_profiles",
                             [](const BuilderConfig& self) { return self.profiles().size(); })
      .def(
          "create_timing_cache", [](const BuilderConfig&, const py::buffer& data) { return timingCacheFrom(data); },
          py::arg("serialized_timing_cache"), "A timing cache from serialized bytes (b'' for an empty one).")
      .def("set_timing_cache", &BuilderConfig::setTimingCache, py::arg("cache"), py::arg("ignore_mismatch"),
           "Uses the cache for the builds of this config; False when it belongs to another device.")
      .def("get_timing_cache", [](const BuilderConfig& self) { return self.timingCache(); });
  m.attr("BuilderConfig") = m.attr("IBuilderConfig");
}

std::shared_ptr<network::Network> networkArgument(const py::handle& network) {
  try {
    return network.cast<std::shared_ptr<network::Network>>();
  } catch (const py::cast_error&) {
    throw py::type_error("expected an INetworkDefinition (from Builder.create_network)");
  }
}

py::object buildSerialized(const py::handle& network_object, const BuilderConfig& config) {
  const network::Network copy = *networkArgument(network_object);
  std::vector<std::uint8_t> bytes;
  try {
    py::gil_scoped_release release;
    bytes = builder::buildSerializedNetwork(copy, config);
  } catch (const Error& e) {
    log(Severity::kERROR, std::string("build_serialized_network: ") + e.what());
    return py::none();
  }
  return py::cast(std::make_shared<HostMemory>(HostMemory{std::move(bytes)}));
}

void bindBuilderClass(py::module_& m) {
  py::enum_<NetworkDefinitionCreationFlag>(m, "NetworkDefinitionCreationFlag")
      .value("EXPLICIT_BATCH", NetworkDefinitionCreationFlag::kEXPLICIT_BATCH)
      .value("STRONGLY_TYPED", NetworkDefinitionCreationFlag::kSTRONGLY_TYPED);
  py::class_<Builder>(m, "Builder", "Builds engines from network definitions for the current device.")
      .def(py::init([](py::object logger) {
             routeCoreMessages(logger);
             return Builder{std::move(logger)};
           }),
           py::arg("logger"))
      .def_readonly("logger", &Builder::logger)
      .def(
          "create_network",
          [](const Builder&, int flags) {
            if (flags < 0 || flags > 3) throw InvalidArgument("unknown network creation flags " + std::to_string(flags));
            return std::make_shared<network::Network>();
          },
          py::arg("flags") = 0, "A new, empty network (every network has explicit batch dimensions).")
      .def("create_builder_config", [](const Builder&) { return std::make_shared<BuilderConfig>(); })
      .def("create_optimization_profile", [](const Builder&) { return std::make_shared<OptimizationProfile>(); })
      .def(
          "build_serialized_network",
          [](const Builder&, const py::handle& network, const BuilderConfig& config) {
            return buildSerialized(network, config);
          },
          py::arg("network"), py::arg("config"),
          "The serialized engine as IHostMemory, or None with the reasons sent to the logger.")
      .def(
          "is_network_supported",
          [](const Builder&, const py::handle& network, const BuilderConfig& config) {
            return !buildSerialized(network, config).is_none();
          },
          py::arg("network"), py::arg("config"))
      .def_property_readonly("num_DLA_cores", [](const Builder&) { return 0; }, "0: mlprt has no DLA.")
      .def_property_readonly("platform_has_fast_fp16",
                             [](const Builder&) { return cl::Context::currentDevice().fp16; },
                             "True when the device has native half arithmetic (cl_khr_fp16).")
      .def_property_readonly(
          "platform_has_tf32",
          [](const Builder&) {
            // TF32 kernels exist for the device when allowing TF32 adds FLOAT tactics.
            const cl::Context& context = *cl::Context::current();
            cl::GemmPolicy tf32;
            tf32.allow_tf32 = true;
            return cl::gemmTactics(context, DataType::kFLOAT, tf32).size() >
                   cl::gemmTactics(context, DataType::kFLOAT).size();
          },
          "True when the device runs TF32 tensor-core kernels (BuilderFlag.TF32 then changes FP32 "
          "products).")
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](const py::object&, const py::args&) { return false; });
}

}  // namespace

void bindBuilder(py::module_& m) {
  bindHostMemory(m);
  bindProfile(m);
  bindTimingCache(m);
  bindConfig(m);
  bindBuilderClass(m);
}

}  // namespace mlprt::python
