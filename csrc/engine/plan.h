// What an engine is: the optimized graph the builder produced, with its kernel choices, memory
// plan, weights and compiled programs. The builder fills an EnginePlan, engine/format.h turns it
// into bytes and back, and the runtime executes it. Nothing here touches a device.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "core/data_type.h"
#include "core/dims.h"
#include "network/layers.h"

namespace mlprt::engine {

using network::TensorId;

enum class TensorRole : std::uint8_t {
  kInput = 0,       // bound by the user (set_tensor_address)
  kOutput = 1,      // bound by the user; written by exactly one step
  kActivation = 2,  // lives in the execution context's arena at `offset`
  kConstant = 3,    // lives in the engine's weight buffer at `offset`
};

struct PlanTensor {
  std::string name;
  DataType type = DataType::kFLOAT;
  Dims shape;  // as built: -1 where the extent depends on input shapes
  TensorRole role = TensorRole::kActivation;
  std::uint64_t offset = 0;    // bytes into the arena (kActivation) or the weights (kConstant)
  std::uint64_t capacity = 0;  // bytes reserved there: the largest size any profile allows
};

// Work fused into a matrix multiplication: + bias (one value per output column), then an
// activation; into a convolution: an activation, and where the builder fused an Add into it, its
// residual (input 3), added before the activation or after it.
struct GemmEpilogue {
  TensorId bias = -1;
  bool has_activation = false;
  network::ActivationLayer activation;
  bool residual_after_activation = false;  // format version 17
};

// One kernel launch (or a short fixed sequence of them) of the engine.
// The tactic a timed step runs while its output has at most `up_to_elements` elements (the
// builder times the candidates at several shapes of a dynamic profile, not only at opt).
struct TacticRange {
  std::int64_t up_to_elements = 0;
  std::string tactic;
};

struct PlanStep {
  std::string name;                     // the network layers it implements, joined by " + "
  network::LayerParameters parameters;  // never a ConstantLayer
  std::vector<TensorId> inputs;
  TensorId output = -1;
  GemmEpilogue epilogue;  // MatrixMultiply steps only
  std::string tactic;     // timed steps: the tactic chosen at the first profile's opt shapes; else empty
  // Timed steps of dynamic engines whose best tactic changes with the shapes: ascending ranges of
  // output sizes, the last one unbounded (INT64_MAX). Empty: `tactic` at every shape.
  std::vector<TacticRange> tactic_ranges;
};

// "small_m1 up to 90, clblast beyond": a step's tactic ranges (bounds in output elements).
inline std::string tacticRangesText(const PlanStep& step) {
  std::string text;
  for (const TacticRange& range : step.tactic_ranges) {
    const bool unbounded = range.up_to_elements == std::numeric_limits<std::int64_t>::max();
    text += (text.empty() ? "" : ", ") + range.tactic +
            (unbounded ? std::string(" beyond") : " up to " + std::to_string(range.up_to_elements));
  }
  return text;
}

// The tactic `step` runs when its output has `output_elements` elements.
inline const std::string& tacticAt(const PlanStep& step, std::int64_t output_elements) {
  for (const TacticRange& range : step.tactic_ranges) {
    if (output_elements <= range.up_to_elements) return range.tactic;
  }
  return step.tactic;
}

// The min/opt/max shapes of one optimization profile, one entry per network input in input order.
struct ProfileShapes {
  std::vector<Dims> min;
  std::vector<Dims> opt;
  std::vector<Dims> max;
};

// Two axes of network inputs that must have one extent at run time (ONNX inputs that share a
// dim_param, "batch", "sequence"): the parser relies on it, the execution context checks it.
struct SharedExtent {
  int first_input = 0;   // index into the network inputs
  int first_axis = 0;
  int second_input = 0;
  int second_axis = 0;
  std::string label;     // what the model calls the extent
};

// A compiled OpenCL program of the engine: kernel family, build options and the device binary.
struct ProgramBinary {
  std::string family;
  std::string options;
  std::string source_hash;  // FNV-1a of the family's source text, hex: binaries of edited kernels are ignored
  std::vector<std::uint8_t> binary;
};

// The device and driver an engine was built for (as cl::DeviceInfo reports them).
struct DeviceFingerprint {
  std::string platform;
  std::string device;
  std::string vendor;
  std::string driver;
  std::string opencl_version;

  bool operator==(const DeviceFingerprint& other) const {
    return platform == other.platform && device == other.device && vendor == other.vendor &&
           driver == other.driver && opencl_version == other.opencl_version;
  }
  bool operator!=(const DeviceFingerprint& other) const { return !(*this == other); }
};

struct EnginePlan {
  std::string mlprt_version;  // of the library that built it
  DeviceFingerprint device;
  bool fp16 = false;  // BuilderFlag.FP16 was set
  std::vector<PlanTensor> tensors;
  std::vector<TensorId> inputs;   // network inputs, in the network's order
  std::vector<TensorId> outputs;  // network outputs, in the network's order
  std::vector<PlanStep> steps;    // in execution order
  std::vector<ProfileShapes> profiles;
  std::vector<SharedExtent> shared_extents;  // format 9 on, in the profiles section
  std::uint64_t arena_bytes = 0;  // activation memory an execution context needs
  std::vector<std::uint8_t> weights;
  std::vector<ProgramBinary> programs;
};

}  // namespace mlprt::engine
