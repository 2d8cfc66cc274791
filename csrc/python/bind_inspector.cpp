// IEngineInspector and LayerInformationFormat with TensorRT 10's Python names: what an engine is
// made of (its steps, fused layers, tactics, memory, device and I/O tensors), as one line per
// layer or as JSON. Everything comes from the engine's plan; nothing runs on the device.
#include <pybind11/pybind11.h>

#include <cstdint>
#include <iomanip>
#include <limits>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "core/data_type.h"
#include "core/error.h"
#include "engine/plan.h"
#include "network/layers.h"
#include "python/bindings.h"
#include "runtime/engine.h"

namespace py = pybind11;

namespace mlprt::python {
namespace {

using runtime::Engine;
using EnginePtr = std::shared_ptr<Engine>;

enum class LayerInformationFormat { kONELINE, kJSON };

// ---- A minimal JSON writer ---------------------------------------------------------------

std::string quoted(const std::string& text) {
  std::ostringstream out;
  out << '"';
  for (const char c : text) {
    switch (c) {
      case '"': out << "\\\""; break;
      case '\\': out << "\\\\"; break;
      case '\n': out << "\\n"; break;
      case '\r': out << "\\r"; break;
      case '\t': out << "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out << "\\u" << std::hex << std::setw(4) << std::setfill('0') << static_cast<int>(c) << std::dec;
        } else {
          out << c;
        }
    }
  }
  out << '"';
  return out.str();
}

// Builds one JSON object from key/value pairs whose values are already JSON text.
class JsonObject {
 public:
  JsonObject& raw(const std::string& key, const std::string& json) {
    text_ += (text_.empty() ? "" : ", ") + quoted(key) + ": " + json;
    return *this;
  }
  JsonObject& str(const std::string& key, const std::string& value) { return raw(key, quoted(value)); }
  JsonObject& num(const std::string& key, std::uint64_t value) { return raw(key, std::to_string(value)); }
  JsonObject& flag(const std::string& key, bool value) { return raw(key, value ? "true" : "false"); }
  std::string text() const { return "{" + text_ + "}"; }

 private:
  std::string text_;
};

std::string jsonArray(const std::vector<std::string>& items) {
  std::string text;
  for (const std::string& item : items) text += (text.empty() ? "" : ", ") + item;
  return "[" + text + "]";
}

std::string jsonDims(const Dims& dims) {
  std::vector<std::string> extents;
  for (const std::int64_t extent : dims.extents()) extents.push_back(std::to_string(extent));
  return jsonArray(extents);
}

// ---- What the plan says ------------------------------------------------------------------

const char* roleName(engine::TensorRole role) noexcept {
  switch (role) {
    case engine::TensorRole::kInput: return "Input";
    case engine::TensorRole::kOutput: return "Output";
    case engine::TensorRole::kActivation: return "Activation";
    case engine::TensorRole::kConstant: return "Constant";
  }
  return "?";
}

const engine::PlanTensor& tensorOf(const engine::EnginePlan& plan, engine::TensorId id) {
  return plan.tensors.at(static_cast<std::size_t>(id));
}

const engine::PlanStep& stepOf(const Engine& engine, std::int64_t index) {
  const auto& steps = engine.plan().steps;
  if (index < 0 || index >= static_cast<std::int64_t>(steps.size())) {
    throw py::index_error("layer index " + std::to_string(index) + " is out of range (the engine has " +
                          std::to_string(steps.size()) + " layers)");
  }
  return steps[static_cast<std::size_t>(index)];
}

// The network layers a step implements: its name split at " + ".
std::vector<std::string> fusedLayers(const std::string& name) {
  std::vector<std::string> parts;
  const std::string separator = " + ";
  std::size_t begin = 0;
  for (std::size_t at = name.find(separator); at != std::string::npos; at = name.find(separator, begin)) {
    parts.push_back(name.substr(begin, at - begin));
    begin = at + separator.size();
  }
  parts.push_back(name.substr(begin));
  return parts;
}

// The constant tensors a step reads (weights), bias included.
std::vector<engine::TensorId> weightTensors(const engine::EnginePlan& plan, const engine::PlanStep& step) {
  std::vector<engine::TensorId> result;
  for (const engine::TensorId input : step.inputs) {
    if (tensorOf(plan, input).role == engine::TensorRole::kConstant) result.push_back(input);
  }
  if (step.epilogue.bias >= 0 && tensorOf(plan, step.epilogue.bias).role == engine::TensorRole::kConstant) {
    result.push_back(step.epilogue.bias);
  }
  return result;
}

std::uint64_t weightBytes(const engine::EnginePlan& plan, const engine::PlanStep& step) {
  std::uint64_t bytes = 0;
  for (const engine::TensorId id : weightTensors(plan, step)) bytes += tensorOf(plan, id).capacity;
  return bytes;
}

std::string epilogueText(bool has_bias, bool has_activation, ActivationType activation_type) {
  std::string text;
  if (has_bias) text = "bias";
  if (has_activation) {
    const std::string activation = py::str(py::cast(activation_type).attr("name"));
    text += (text.empty() ? "" : " + ") + activation;
  }
  return text;
}

// A GEMM's or convolution's epilogue ("bias + RELU"; a convolution's residual in its place), or each stage of a FusedMLP ("784x32 bias + RELU | 32x10 bias").
std::string epilogueText(const engine::PlanStep& step) {
  if (const auto* mlp = std::get_if<network::FusedMlpLayer>(&step.parameters)) {
    std::string text;
    for (const network::MlpStage& stage : mlp->stages) {
      if (!text.empty()) text += " | ";
      text += std::to_string(stage.in_features) + "x" + std::to_string(stage.out_features);
      const std::string epilogue = epilogueText(stage.has_bias, stage.has_activation, stage.activation.type);
      if (!epilogue.empty()) text += " " + epilogue;
    }
    return text;
  }
  const std::string text = epilogueText(step.epilogue.bias >= 0, step.epilogue.has_activation, step.epilogue.activation.type);
  // A convolution's fused Add (input 3): before the activation ("residual + RELU") or after it
  // ("SILU + residual").
  if (!std::holds_alternative<network::ConvolutionLayer>(step.parameters) || step.inputs.size() < 4) return text;
  if (step.epilogue.residual_after_activation) return (text.empty() ? "" : text + " + ") + "residual";
  return "residual" + (text.empty() ? std::string() : " + " + text);
}

// Each tensor's format: TensorRT's TensorFormat names, LINEAR (row-major, NCHW for images) or HWC
// (channels last, where the builder's layout pass kept convolutions' activations so). Activations
// also show where they lie in the context's memory, so views (a concatenation's inputs, a slice
// read in place) show as ranges inside the tensor they belong to.
std::string tensorJson(const engine::PlanTensor& tensor, TensorFormat format) {
  JsonObject object;
  object.str("Name", tensor.name)
      .str("Role", roleName(tensor.role))
      .str("DataType", dataTypeName(tensor.type))
      .str("Format", tensorFormatName(format))
      .raw("Dimensions", jsonDims(tensor.shape))
      .num("Bytes", tensor.capacity);
  if (tensor.role == engine::TensorRole::kActivation) object.num("ArenaOffset", tensor.offset);
  return object.text();
}

std::string tensorsJson(const Engine& engine, const std::vector<engine::TensorId>& ids) {
  std::vector<std::string> items;
  for (const engine::TensorId id : ids) items.push_back(tensorJson(tensorOf(engine.plan(), id), engine.tensorFormat(id)));
  return jsonArray(items);
}

// `once_per_shapes`: the step depends only on the input shapes and runs once per set of them
// (Engine::runsOncePerShapes).
// A step's tactic ranges as JSON: [{"UpToOutputElements": n or null (unbounded), "Tactic": t}, ...].
std::string tacticRangesJson(const engine::PlanStep& step) {
  std::vector<std::string> items;
  for (const engine::TacticRange& range : step.tactic_ranges) {
    const bool unbounded = range.up_to_elements == std::numeric_limits<std::int64_t>::max();
    items.push_back(JsonObject()
                        .raw("UpToOutputElements", unbounded ? "null" : std::to_string(range.up_to_elements))
                        .str("Tactic", range.tactic)
                        .text());
  }
  return jsonArray(items);
}

std::string layerJson(const Engine& engine, const engine::PlanStep& step, bool once_per_shapes) {
  const engine::EnginePlan& plan = engine.plan();
  std::vector<std::string> fused;
  for (const std::string& name : fusedLayers(step.name)) fused.push_back(quoted(name));
  return JsonObject()
      .str("Name", step.name)
      .str("LayerType", network::layerKindName(step.parameters))
      .raw("FusedLayers", jsonArray(fused))
      .raw("Inputs", tensorsJson(engine, step.inputs))
      .raw("Outputs", tensorsJson(engine, {step.output}))
      .str("TacticName", step.tactic)
      .raw("TacticRanges", tacticRangesJson(step))
      .str("Parameters", network::parametersText(step.parameters))
      .str("Epilogue", epilogueText(step))
      .num("WeightBytes", weightBytes(plan, step))
      .raw("RunsOncePerShapes", once_per_shapes ? "true" : "false")
      .text();
}

std::string layerLine(const Engine& engine, const engine::PlanStep& step, bool once_per_shapes) {
  const engine::EnginePlan& plan = engine.plan();
  std::string line = step.name + " [" + network::layerKindName(step.parameters) + "]";
  if (!step.tactic.empty()) line += " tactic=" + step.tactic;
  if (!step.tactic_ranges.empty()) line += " tactics-by-output-elements=[" + engine::tacticRangesText(step) + "]";
  const std::string epilogue = epilogueText(step);
  if (!epilogue.empty()) line += " epilogue=" + epilogue;
  line += " weights=" + std::to_string(weightBytes(plan, step)) + "B";
  if (once_per_shapes) line += " once-per-shapes";
  line += " -> " + tensorOf(plan, step.output).name + " " + tensorOf(plan, step.output).shape.toString() + " " +
          tensorFormatName(engine.tensorFormat(step.output));
  return line;
}

std::string layerInformation(const Engine& engine, std::int64_t index, LayerInformationFormat format) {
  const engine::PlanStep& step = stepOf(engine, index);
  const bool once = engine.runsOncePerShapes(static_cast<std::size_t>(index));
  return format == LayerInformationFormat::kJSON ? layerJson(engine, step, once) : layerLine(engine, step, once);
}

std::string bindingsJson(const Engine& engine) {
  const engine::EnginePlan& plan = engine.plan();
  std::vector<std::string> items;
  for (std::size_t i = 0; i < engine.ioTensorCount(); ++i) {
    const std::string& name = engine.ioTensorName(i);
    const engine::TensorId id = engine.ioTensor(name);
    const engine::PlanTensor& tensor = tensorOf(plan, id);
    JsonObject object;
    object.str("Name", name)
        .str("Mode", engine.ioMode(name) == runtime::TensorIOMode::kINPUT ? "INPUT" : "OUTPUT")
        .str("DataType", dataTypeName(tensor.type))
        .raw("Dimensions", jsonDims(tensor.shape));
    const int input = engine.inputIndex(id);
    if (input >= 0) {
      std::vector<std::string> profiles;
      for (const engine::ProfileShapes& shapes : plan.profiles) {
        const auto k = static_cast<std::size_t>(input);
        profiles.push_back(JsonObject()
                               .raw("Min", jsonDims(shapes.min[k]))
                               .raw("Opt", jsonDims(shapes.opt[k]))
                               .raw("Max", jsonDims(shapes.max[k]))
                               .text());
      }
      object.raw("Profiles", jsonArray(profiles));
    }
    items.push_back(object.text());
  }
  return jsonArray(items);
}

std::string engineJson(const Engine& engine) {
  const engine::EnginePlan& plan = engine.plan();
  std::vector<std::string> layers;
  for (std::size_t s = 0; s < plan.steps.size(); ++s) {
    layers.push_back(layerJson(engine, plan.steps[s], engine.runsOncePerShapes(s)));
  }
  const std::string device = JsonObject()
                                 .str("Platform", plan.device.platform)
                                 .str("Name", plan.device.device)
                                 .str("Vendor", plan.device.vendor)
                                 .str("Driver", plan.device.driver)
                                 .str("OpenCLVersion", plan.device.opencl_version)
                                 .text();
  return JsonObject()
      .str("Format", "mlprt engine")
      .str("MlprtVersion", plan.mlprt_version)
      .raw("Device", device)
      .flag("FP16", plan.fp16)
      .num("NumProfiles", plan.profiles.size())
      .num("WeightBytes", plan.weights.size())
      .num("ActivationBytes", plan.arena_bytes)
      .num("NumPrograms", plan.programs.size())
      .raw("Bindings", bindingsJson(engine))
      .raw("Layers", jsonArray(layers))
      .text();
}

std::string engineLines(const Engine& engine) {
  const engine::EnginePlan& plan = engine.plan();
  std::ostringstream out;
  out << "mlprt engine " << plan.mlprt_version << " for '" << plan.device.device << "' (" << plan.device.platform
      << ", driver " << plan.device.driver << ")" << (plan.fp16 ? ", FP16" : "") << "\n";
  out << "weights " << plan.weights.size() << " B, activations " << plan.arena_bytes << " B, "
      << plan.profiles.size() << " profile(s), " << plan.steps.size() << " layers\n";
  for (std::size_t s = 0; s < plan.steps.size(); ++s) {
    out << layerLine(engine, plan.steps[s], engine.runsOncePerShapes(s)) << "\n";
  }
  return out.str();
}

// TensorRT's IEngineInspector: keeps the engine alive while it is inspected.
struct EngineInspector {
  EnginePtr engine;
};

}  // namespace

void bindInspector(py::module_& m) {
  py::enum_<LayerInformationFormat>(m, "LayerInformationFormat")
      .value("ONELINE", LayerInformationFormat::kONELINE)
      .value("JSON", LayerInformationFormat::kJSON);

  py::class_<EngineInspector>(m, "EngineInspector",
                              "What an engine is made of: layers (fused steps), tactics, memory, I/O tensors.")
      .def_property_readonly("engine", [](const EngineInspector& self) { return self.engine; })
      .def(
          "get_layer_information",
          [](const EngineInspector& self, std::int64_t index, LayerInformationFormat format) {
            return layerInformation(*self.engine, index, format);
          },
          py::arg("layer_index"), py::arg("format"),
          "One layer (an engine step): its name (fused layers joined by ' + '), kind, tactic, weights.")
      .def(
          "get_engine_information",
          [](const EngineInspector& self, LayerInformationFormat format) {
            return format == LayerInformationFormat::kJSON ? engineJson(*self.engine) : engineLines(*self.engine);
          },
          py::arg("format"), "The whole engine: version, device, memory, I/O tensors with profiles, every layer.");

  // Added to ICudaEngine, which bindRuntime registered before.
  py::class_<Engine, EnginePtr> engine_class = py::reinterpret_borrow<py::class_<Engine, EnginePtr>>(m.attr("ICudaEngine"));
  engine_class.def(
      "create_engine_inspector", [](const EnginePtr& self) { return EngineInspector{self}; },
      "An IEngineInspector for this engine.");
}

}  // namespace mlprt::python
