// INetworkDefinition, ITensor and the ILayer family, with TensorRT 10's Python names. Tensors and
// layers are light handles (network + index); changing a layer's parameters re-infers shapes.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <memory>
#include <type_traits>

#include "core/error.h"
#include "network/network.h"
#include "python/bindings.h"

namespace py = pybind11;

namespace mlprt::python {
namespace {

using network::Network;
using NetworkPtr = std::shared_ptr<Network>;

struct TensorRef {
  NetworkPtr network;
  network::TensorId id;
  const network::Tensor& get() const { return network->tensor(id); }
};

struct LayerRef {
  NetworkPtr network;
  int index;
  const network::Layer& get() const { return network->layer(index); }
};

// One handle type per layer kind, so Python sees IShuffleLayer, IActivationLayer, ...
template <typename Parameters>
struct KindRef : LayerRef {};

std::uint32_t axisBit(int axis) { return 1u << axis; }

void requireSameNetwork(const NetworkPtr& net, const TensorRef& tensor) {
  if (tensor.network != net) {
    throw InvalidArgument("tensor '" + tensor.get().name + "' belongs to another network");
  }
}

py::object layerHandle(const NetworkPtr& net, int index);

// Reads and writes one field of a layer's parameters as a Python property.
template <typename Parameters, typename Field>
void parameterProperty(py::class_<KindRef<Parameters>, LayerRef>& cls, const char* name,
                       Field Parameters::*field, const char* doc) {
  cls.def_property(
      name,
      [field](const KindRef<Parameters>& self) { return std::get<Parameters>(self.get().parameters).*field; },
      [field](KindRef<Parameters>& self, const Field& value) {
        Parameters updated = std::get<Parameters>(self.get().parameters);
        updated.*field = value;
        self.network->setParameters(self.index, updated);
      },
      doc);
}

// A per-axis list (kernel_size_nd, stride_nd, ...) as a tuple, as TensorRT hands out Dims.
template <typename Parameters>
void axisListProperty(py::class_<KindRef<Parameters>, LayerRef>& cls, const char* name,
                      std::vector<std::int64_t> Parameters::*field, const char* doc) {
  cls.def_property(
      name,
      [field](const KindRef<Parameters>& self) {
        return py::tuple(py::cast(std::get<Parameters>(self.get().parameters).*field));
      },
      [field](KindRef<Parameters>& self, const std::vector<std::int64_t>& value) {
        Parameters updated = std::get<Parameters>(self.get().parameters);
        updated.*field = value;
        self.network->setParameters(self.index, updated);
      },
      doc);
}

// The Python class of a layer kind with a property for each field of its description
// (layers.h), except those in `custom`, which the caller binds in TensorRT's own form.
// Weights and nested descriptions have no generic Python form: kinds holding them bind them.
template <typename Parameters>
py::class_<KindRef<Parameters>, LayerRef> kindClass(py::module_& m, const char* name,
                                                     std::initializer_list<const char*> custom = {}) {
  py::class_<KindRef<Parameters>, LayerRef> cls(m, name);
  Parameters::fields([&](const char* field_name, auto member, const char* doc) {
    using Field = std::remove_reference_t<decltype(std::declval<Parameters&>().*member)>;
    for (const char* skipped : custom) {
      if (std::string(skipped) == field_name) return;
    }
    if constexpr (std::is_same_v<Field, std::vector<std::int64_t>>) {
      axisListProperty(cls, field_name, member, doc);
    } else if constexpr (std::is_arithmetic_v<Field> || std::is_enum_v<Field> ||
                         std::is_same_v<Field, std::vector<int>> || std::is_same_v<Field, std::vector<float>>) {
      parameterProperty(cls, field_name, member, doc);
    }
  });
  return cls;
}

network::Weights weightsFrom(const py::array& array) {
  const py::dtype dt = array.dtype();
  network::Weights weights;
  if (dt.is(py::dtype::of<float>())) {
    weights.type = DataType::kFLOAT;
  } else if (dt.kind() == 'f' && dt.itemsize() == 2) {
    weights.type = DataType::kHALF;
  } else if (dt.is(py::dtype::of<std::int32_t>())) {
    weights.type = DataType::kINT32;
  } else if (dt.is(py::dtype::of<std::int64_t>())) {
    weights.type = DataType::kINT64;
  } else if (dt.is(py::dtype::of<std::int8_t>())) {
    weights.type = DataType::kINT8;
  } else if (dt.is(py::dtype::of<std::uint8_t>())) {
    weights.type = DataType::kUINT8;
  } else if (dt.is(py::dtype::of<bool>())) {
    weights.type = DataType::kBOOL;
  } else {
    throw py::type_error("constant weights of dtype " + std::string(py::str(dt)) + " are not supported");
  }
  const py::array contiguous = py::array::ensure(array, py::array::c_style);
  weights.bytes.resize(static_cast<std::size_t>(contiguous.nbytes()));
  if (!weights.bytes.empty()) std::memcpy(weights.bytes.data(), contiguous.data(), weights.bytes.size());
  return weights;
}

// The NumPy dtype holding elements of `type`.
py::dtype dtypeOf(DataType type) {
  switch (type) {
    case DataType::kFLOAT: return py::dtype::of<float>();
    case DataType::kHALF: return py::dtype("float16");
    case DataType::kINT8: return py::dtype::of<std::int8_t>();
    case DataType::kINT32: return py::dtype::of<std::int32_t>();
    case DataType::kINT64: return py::dtype::of<std::int64_t>();
    case DataType::kUINT8: return py::dtype::of<std::uint8_t>();
    case DataType::kBOOL: return py::dtype::of<bool>();
  }
  throw py::type_error(std::string("no NumPy dtype for ") + dataTypeName(type));
}

void bindTensor(py::module_& m) {
  py::class_<TensorRef>(m, "ITensor", "A tensor of a network definition.")
      .def_property("name", [](const TensorRef& t) { return t.get().name; },
                    [](TensorRef& t, const std::string& name) { t.network->setTensorName(t.id, name); })
      .def_property_readonly("shape", [](const TensorRef& t) { return tupleOf(t.get().shape); },
                             "Dimensions; -1 where they depend on input shapes.")
      .def_property_readonly("dtype", [](const TensorRef& t) { return t.get().type; })
      .def_property_readonly("is_network_input", [](const TensorRef& t) { return t.get().producer < 0; })
      .def_property_readonly("is_network_output", [](const TensorRef& t) {
        const auto& outputs = t.network->outputs();
        return std::find(outputs.begin(), outputs.end(), t.id) != outputs.end();
      })
      .def("__eq__", [](const TensorRef& a, const TensorRef& b) { return a.network == b.network && a.id == b.id; })
      .def("__hash__", [](const TensorRef& t) { return std::hash<const void*>()(t.network.get()) ^ t.id; })
      .def("__repr__", [](const TensorRef& t) {
        return "<ITensor '" + t.get().name + "' " + t.get().shape.toString() + " " + dataTypeName(t.get().type) + ">";
      });
}

void bindEnums(py::module_& m) {
  py::enum_<network::LayerType>(m, "LayerType")
      .value("CONSTANT", network::LayerType::kCONSTANT)
      .value("MATRIX_MULTIPLY", network::LayerType::kMATRIX_MULTIPLY)
      .value("ELEMENTWISE", network::LayerType::kELEMENTWISE)
      .value("ACTIVATION", network::LayerType::kACTIVATION)
      .value("UNARY", network::LayerType::kUNARY)
      .value("SHUFFLE", network::LayerType::kSHUFFLE)
      .value("SOFTMAX", network::LayerType::kSOFTMAX)
      .value("REDUCE", network::LayerType::kREDUCE)
      .value("NORMALIZATION", network::LayerType::kNORMALIZATION)
      .value("CONCATENATION", network::LayerType::kCONCATENATION)
      .value("IDENTITY", network::LayerType::kIDENTITY)
      .value("SELECT", network::LayerType::kSELECT)
      .value("CONVOLUTION", network::LayerType::kCONVOLUTION)
      .value("POOLING", network::LayerType::kPOOLING)
      .value("DECONVOLUTION", network::LayerType::kDECONVOLUTION)
      .value("SLICE", network::LayerType::kSLICE)
      .value("RESIZE", network::LayerType::kRESIZE)
      .value("LRN", network::LayerType::kLRN)
      .value("GATHER", network::LayerType::kGATHER)
      .value("TOPK", network::LayerType::kTOPK)
      .value("SCATTER", network::LayerType::kSCATTER)
      .value("CUMULATIVE", network::LayerType::kCUMULATIVE)
      .value("ATTENTION", network::LayerType::kATTENTION)
      .value("AXIS_RANGE", network::LayerType::kAXIS_RANGE);
  py::enum_<ScatterMode>(m, "ScatterMode")
      .value("ELEMENT", ScatterMode::kELEMENT)
      .value("ND", ScatterMode::kND);
  py::enum_<ScatterReduction>(m, "ScatterReduction",
                              "mlprt's own: how IScatterLayer combines an update with its target (ONNX's reduction).")
      .value("NONE", ScatterReduction::kNONE)
      .value("SUM", ScatterReduction::kSUM)
      .value("PROD", ScatterReduction::kPROD)
      .value("MAX", ScatterReduction::kMAX)
      .value("MIN", ScatterReduction::kMIN);
  py::enum_<CumulativeOperation>(m, "CumulativeOperation")
      .value("SUM", CumulativeOperation::kSUM)
      .value("PROD", CumulativeOperation::kPROD);
  py::enum_<TopKOperation>(m, "TopKOperation")
      .value("MAX", TopKOperation::kMAX)
      .value("MIN", TopKOperation::kMIN);
  py::enum_<GatherMode>(m, "GatherMode")
      .value("DEFAULT", GatherMode::kDEFAULT)
      .value("ELEMENT", GatherMode::kELEMENT);
  py::enum_<InterpolationMode>(m, "InterpolationMode")
      .value("NEAREST", InterpolationMode::kNEAREST)
      .value("LINEAR", InterpolationMode::kLINEAR)
      .value("CUBIC", InterpolationMode::kCUBIC);
  py::enum_<ResizeCoordinateTransformation>(m, "ResizeCoordinateTransformation")
      .value("ALIGN_CORNERS", ResizeCoordinateTransformation::kALIGN_CORNERS)
      .value("ASYMMETRIC", ResizeCoordinateTransformation::kASYMMETRIC)
      .value("HALF_PIXEL", ResizeCoordinateTransformation::kHALF_PIXEL);
  py::enum_<ResizeSelector>(m, "ResizeSelector")
      .value("FORMULA", ResizeSelector::kFORMULA)
      .value("UPPER", ResizeSelector::kUPPER);
  py::enum_<ResizeRoundMode>(m, "ResizeRoundMode")
      .value("HALF_UP", ResizeRoundMode::kHALF_UP)
      .value("HALF_DOWN", ResizeRoundMode::kHALF_DOWN)
      .value("FLOOR", ResizeRoundMode::kFLOOR)
      .value("CEIL", ResizeRoundMode::kCEIL);
  py::enum_<SampleMode>(m, "SampleMode")
      .value("STRICT_BOUNDS", SampleMode::kSTRICT_BOUNDS)
      .value("WRAP", SampleMode::kWRAP)
      .value("CLAMP", SampleMode::kCLAMP)
      .value("FILL", SampleMode::kFILL)
      .value("REFLECT", SampleMode::kREFLECT);
  py::enum_<PaddingMode>(m, "PaddingMode")
      .value("EXPLICIT_ROUND_DOWN", PaddingMode::kEXPLICIT_ROUND_DOWN)
      .value("EXPLICIT_ROUND_UP", PaddingMode::kEXPLICIT_ROUND_UP)
      .value("SAME_UPPER", PaddingMode::kSAME_UPPER)
      .value("SAME_LOWER", PaddingMode::kSAME_LOWER);
  py::enum_<PoolingType>(m, "PoolingType")
      .value("MAX", PoolingType::kMAX)
      .value("AVERAGE", PoolingType::kAVERAGE);
  py::enum_<network::MatrixOperation>(m, "MatrixOperation")
      .value("NONE", network::MatrixOperation::kNONE)
      .value("TRANSPOSE", network::MatrixOperation::kTRANSPOSE);
  py::enum_<network::ElementWiseOperation>(m, "ElementWiseOperation")
      .value("SUM", network::ElementWiseOperation::kSUM)
      .value("PROD", network::ElementWiseOperation::kPROD)
      .value("MAX", network::ElementWiseOperation::kMAX)
      .value("MIN", network::ElementWiseOperation::kMIN)
      .value("SUB", network::ElementWiseOperation::kSUB)
      .value("DIV", network::ElementWiseOperation::kDIV)
      .value("POW", network::ElementWiseOperation::kPOW)
      .value("FLOOR_DIV", network::ElementWiseOperation::kFLOOR_DIV)
      .value("AND", network::ElementWiseOperation::kAND)
      .value("OR", network::ElementWiseOperation::kOR)
      .value("XOR", network::ElementWiseOperation::kXOR)
      .value("EQUAL", network::ElementWiseOperation::kEQUAL)
      .value("GREATER", network::ElementWiseOperation::kGREATER)
      .value("LESS", network::ElementWiseOperation::kLESS)
      .value("MOD", network::ElementWiseOperation::kMOD)
      .value("FMOD", network::ElementWiseOperation::kFMOD)
      .value("BITWISE_AND", network::ElementWiseOperation::kBITWISE_AND)
      .value("BITWISE_OR", network::ElementWiseOperation::kBITWISE_OR)
      .value("BITWISE_XOR", network::ElementWiseOperation::kBITWISE_XOR)
      .value("SHIFT_LEFT", network::ElementWiseOperation::kSHIFT_LEFT)
      .value("SHIFT_RIGHT", network::ElementWiseOperation::kSHIFT_RIGHT);
  py::enum_<network::ActivationType>(m, "ActivationType")
      .value("RELU", network::ActivationType::kRELU)
      .value("SIGMOID", network::ActivationType::kSIGMOID)
      .value("TANH", network::ActivationType::kTANH)
      .value("LEAKY_RELU", network::ActivationType::kLEAKY_RELU)
      .value("ELU", network::ActivationType::kELU)
      .value("SELU", network::ActivationType::kSELU)
      .value("SOFTPLUS", network::ActivationType::kSOFTPLUS)
      .value("CLIP", network::ActivationType::kCLIP)
      .value("HARD_SIGMOID", network::ActivationType::kHARD_SIGMOID)
      .value("GELU_ERF", network::ActivationType::kGELU_ERF)
      .value("GELU_TANH", network::ActivationType::kGELU_TANH)
      .value("HARD_SWISH", network::ActivationType::kHARD_SWISH)
      .value("SILU", network::ActivationType::kSILU);
  py::enum_<network::UnaryOperation>(m, "UnaryOperation")
      .value("EXP", network::UnaryOperation::kEXP)
      .value("LOG", network::UnaryOperation::kLOG)
      .value("SQRT", network::UnaryOperation::kSQRT)
      .value("RECIP", network::UnaryOperation::kRECIP)
      .value("ABS", network::UnaryOperation::kABS)
      .value("NEG", network::UnaryOperation::kNEG)
      .value("ERF", network::UnaryOperation::kERF)
      .value("NOT", network::UnaryOperation::kNOT)
      .value("FLOOR", network::UnaryOperation::kFLOOR)
      .value("CEIL", network::UnaryOperation::kCEIL)
      .value("ROUND", network::UnaryOperation::kROUND)
      .value("SIGN", network::UnaryOperation::kSIGN)
      .value("ISNAN", network::UnaryOperation::kISNAN)
      .value("ISINF", network::UnaryOperation::kISINF)
      .value("SIN", network::UnaryOperation::kSIN)
      .value("COS", network::UnaryOperation::kCOS)
      .value("TAN", network::UnaryOperation::kTAN)
      .value("ASIN", network::UnaryOperation::kASIN)
      .value("ACOS", network::UnaryOperation::kACOS)
      .value("ATAN", network::UnaryOperation::kATAN)
      .value("SINH", network::UnaryOperation::kSINH)
      .value("COSH", network::UnaryOperation::kCOSH)
      .value("ASINH", network::UnaryOperation::kASINH)
      .value("ACOSH", network::UnaryOperation::kACOSH)
      .value("ATANH", network::UnaryOperation::kATANH);
  py::enum_<network::ReduceOperation>(m, "ReduceOperation")
      .value("SUM", network::ReduceOperation::kSUM)
      .value("PROD", network::ReduceOperation::kPROD)
      .value("MAX", network::ReduceOperation::kMAX)
      .value("MIN", network::ReduceOperation::kMIN)
      .value("AVG", network::ReduceOperation::kAVG);
}

// Sets the fields of `parameters` named in `fields` (Python names from the kind's description;
// "padding_nd" sets pre_padding and post_padding), so that a layer can be added with every
// attribute at once and checked once. An unknown name is a TypeError that names it.
template <typename Parameters>
void applyFields(Parameters& parameters, const py::kwargs& fields) {
  for (const auto& item : fields) {
    const std::string name = py::str(item.first);
    bool found = false;
    if constexpr (std::is_same_v<Parameters, network::ConvolutionLayer> ||
                  std::is_same_v<Parameters, network::DeconvolutionLayer> ||
                  std::is_same_v<Parameters, network::PoolingLayer>) {
      if (name == "padding_nd") {
        parameters.pre_padding = item.second.template cast<std::vector<std::int64_t>>();
        parameters.post_padding = parameters.pre_padding;
        found = true;
      }
    }
    Parameters::fields([&](const char* field_name, auto member, const char*) {
      using Field = std::remove_reference_t<decltype(parameters.*member)>;
      if (found || name != field_name) return;
      if constexpr (std::is_arithmetic_v<Field> || std::is_enum_v<Field> ||
                    std::is_same_v<Field, std::vector<std::int64_t>> || std::is_same_v<Field, std::vector<int>> ||
                    std::is_same_v<Field, std::vector<float>>) {
        parameters.*member = item.second.template cast<Field>();
        found = true;
      }
    });
    if (!found) throw py::type_error(std::string(Parameters::kName) + " layers have no attribute '" + name + "'");
  }
}

// padding_nd: symmetric padding, read and written as pre_padding = post_padding.
template <typename Parameters>
void symmetricPaddingProperty(py::class_<KindRef<Parameters>, LayerRef>& cls) {
  cls.def_property("padding_nd", [](const KindRef<Parameters>& self) {
    const auto& p = std::get<Parameters>(self.get().parameters);
    return py::tuple(py::cast(p.pre_padding));
  }, [](KindRef<Parameters>& self, const std::vector<std::int64_t>& padding) {
    Parameters updated = std::get<Parameters>(self.get().parameters);
    updated.pre_padding = padding;
    updated.post_padding = padding;
    self.network->setParameters(self.index, updated);
  }, "Padding on both sides of each spatial axis (sets pre_padding and post_padding).");
}

// The constant weights feeding input `index` of a layer, or None when another layer computes them.
py::object constantInput(const LayerRef& layer, std::size_t index) {
  const network::Layer& l = layer.get();
  if (index >= l.inputs.size()) return py::none();
  const int producer = layer.network->tensor(l.inputs[index]).producer;
  if (producer < 0) return py::none();
  const auto* constant = std::get_if<network::ConstantLayer>(&layer.network->layer(producer).parameters);
  if (!constant) return py::none();
  py::array result(dtypeOf(constant->weights.type), constant->shape.extents());
  if (!constant->weights.bytes.empty()) {
    std::memcpy(result.mutable_data(), constant->weights.bytes.data(), constant->weights.bytes.size());
  }
  return std::move(result);
}

// add_cumulative's axis: an int, or (TensorRT's form) a 0-D integer tensor that a constant layer makes.
int cumulativeAxis(const NetworkPtr& n, const py::object& axis) {
  if (py::isinstance<py::int_>(axis)) return axis.cast<int>();
  const auto& tensor = axis.cast<const TensorRef&>();
  requireSameNetwork(n, tensor);
  const int producer = n->tensor(tensor.id).producer;
  const auto* constant = producer < 0 ? nullptr : std::get_if<network::ConstantLayer>(&n->layer(producer).parameters);
  if (!constant || constant->shape.volume() != 1 ||
      (constant->weights.type != DataType::kINT32 && constant->weights.type != DataType::kINT64)) {
    throw InvalidArgument("add_cumulative: axis must be an int or a one-element INT32/INT64 tensor made by add_constant");
  }
  std::int64_t value = 0;
  if (constant->weights.type == DataType::kINT32) {
    std::int32_t narrow = 0;
    std::memcpy(&narrow, constant->weights.bytes.data(), sizeof narrow);
    value = narrow;
  } else {
    std::memcpy(&value, constant->weights.bytes.data(), sizeof value);
  }
  return static_cast<int>(value);
}

void bindSpatialLayers(py::module_& m) {
  auto convolution = kindClass<network::ConvolutionLayer>(m, "IConvolutionLayer");
  symmetricPaddingProperty(convolution);
  convolution.def_property_readonly("kernel", [](const LayerRef& l) { return constantInput(l, 1); },
                                    "A NumPy copy of the kernel (output maps, input channels / groups, spatial...).");
  convolution.def_property_readonly("bias", [](const LayerRef& l) { return constantInput(l, 2); },
                                    "A NumPy copy of the bias, or None.");
  auto deconvolution = kindClass<network::DeconvolutionLayer>(m, "IDeconvolutionLayer");
  symmetricPaddingProperty(deconvolution);
  deconvolution.def_property_readonly("kernel", [](const LayerRef& l) { return constantInput(l, 1); },
                                      "A NumPy copy of the kernel (input channels, output maps / groups, spatial...).");
  deconvolution.def_property_readonly("bias", [](const LayerRef& l) { return constantInput(l, 2); },
                                      "A NumPy copy of the bias, or None.");
  kindClass<network::SliceLayer>(m, "ISliceLayer");
  kindClass<network::ResizeLayer>(m, "IResizeLayer");
  kindClass<network::LrnLayer>(m, "ILRNLayer");
  kindClass<network::GatherLayer>(m, "IGatherLayer");
  kindClass<network::TopKLayer>(m, "ITopKLayer");
  kindClass<network::ScatterLayer>(m, "IScatterLayer");
  kindClass<network::CumulativeLayer>(m, "ICumulativeLayer");
  kindClass<network::AxisRangeLayer>(m, "IAxisRangeLayer");
  auto pooling = kindClass<network::PoolingLayer>(m, "IPoolingLayer");
  symmetricPaddingProperty(pooling);
}

void bindLayers(py::module_& m) {
  py::class_<LayerRef>(m, "ILayer", "A layer of a network definition.")
      .def_property("name", [](const LayerRef& l) { return l.get().name; },
                    [](LayerRef& l, const std::string& name) { l.network->setLayerName(l.index, name); })
      .def_property_readonly("type", [](const LayerRef& l) { return network::layerType(l.get().parameters); },
                             "The layer kind (IActivationLayer.type is the activation instead, as in TensorRT).")
      .def_property_readonly("num_inputs", [](const LayerRef& l) { return l.get().inputs.size(); })
      .def_property_readonly("num_outputs", [](const LayerRef& l) { return l.get().outputs.size(); })
      .def("get_input", [](const LayerRef& l, std::size_t i) {
        if (i >= l.get().inputs.size()) throw py::index_error("layer '" + l.get().name + "' has no input " + std::to_string(i));
        return TensorRef{l.network, l.get().inputs[i]};
      }, py::arg("index"))
      .def("get_output", [](const LayerRef& l, std::size_t i) {
        if (i >= l.get().outputs.size()) throw py::index_error("layer '" + l.get().name + "' has no output " + std::to_string(i));
        return TensorRef{l.network, l.get().outputs[i]};
      }, py::arg("index"))
      .def("set_input", [](LayerRef& l, std::size_t i, const TensorRef& t) {
        requireSameNetwork(l.network, t);
        l.network->setInput(l.index, i, t.id);
      }, py::arg("index"), py::arg("tensor"))
      .def("__repr__", [](const LayerRef& l) { return "<" + l.network->describeLayer(l.index) + ">"; });

  auto matmul = kindClass<network::MatrixMultiplyLayer>(m, "IMatrixMultiplyLayer", {"op0", "op1"});
  matmul.def("get_operation", [](const LayerRef& l, int i) {
    const auto& p = std::get<network::MatrixMultiplyLayer>(l.get().parameters);
    if (i != 0 && i != 1) throw py::index_error("a matrix multiply has operands 0 and 1");
    return i == 0 ? p.op0 : p.op1;
  }, py::arg("index"))
  .def("set_operation", [](LayerRef& l, int i, network::MatrixOperation op) {
    auto p = std::get<network::MatrixMultiplyLayer>(l.get().parameters);
    if (i != 0 && i != 1) throw py::index_error("a matrix multiply has operands 0 and 1");
    (i == 0 ? p.op0 : p.op1) = op;
    l.network->setParameters(l.index, p);
  }, py::arg("index"), py::arg("op"));
  kindClass<network::ElementWiseLayer>(m, "IElementWiseLayer");
  kindClass<network::ActivationLayer>(m, "IActivationLayer");
  kindClass<network::UnaryLayer>(m, "IUnaryLayer");
  auto shuffle = kindClass<network::ShuffleLayer>(m, "IShuffleLayer", {"has_reshape", "reshape"});
  shuffle.def_property("reshape_dims", [](const LayerRef& l) -> py::object {
    const auto& p = std::get<network::ShuffleLayer>(l.get().parameters);
    if (!p.has_reshape) return py::none();
    return py::cast(p.reshape);
  }, [](LayerRef& l, const std::vector<std::int64_t>& dims) {
    auto p = std::get<network::ShuffleLayer>(l.get().parameters);
    p.has_reshape = true;
    p.reshape = dims;
    l.network->setParameters(l.index, p);
  }, "New shape: 0 copies the input extent, -1 is inferred.");
  auto softmax = kindClass<network::SoftmaxLayer>(m, "ISoftMaxLayer", {"axis", "log"});
  softmax.def_property("axes", [](const LayerRef& l) {
    return axisBit(std::get<network::SoftmaxLayer>(l.get().parameters).axis);
  }, [](LayerRef& l, std::uint32_t axes) {
    if (axes == 0 || (axes & (axes - 1)) != 0) throw py::value_error("softmax axes must select exactly one axis");
    auto p = std::get<network::SoftmaxLayer>(l.get().parameters);
    p.axis = 0;
    while (!(axes & 1u)) { axes >>= 1; ++p.axis; }
    l.network->setParameters(l.index, p);
  }, "Bit mask with the one axis softmax runs over.");
  kindClass<network::ReduceLayer>(m, "IReduceLayer");
  kindClass<network::NormalizationLayer>(m, "INormalizationLayer");
  kindClass<network::ConcatenationLayer>(m, "IConcatenationLayer");
  auto constant = kindClass<network::ConstantLayer>(m, "IConstantLayer", {"shape"});
  constant.def_property_readonly("shape", [](const LayerRef& l) {
    return tupleOf(std::get<network::ConstantLayer>(l.get().parameters).shape);
  });
  constant.def_property_readonly("weights", [](const LayerRef& l) {
    const auto& p = std::get<network::ConstantLayer>(l.get().parameters);
    py::array result(dtypeOf(p.weights.type), p.shape.extents());
    if (!p.weights.bytes.empty()) std::memcpy(result.mutable_data(), p.weights.bytes.data(), p.weights.bytes.size());
    return result;
  }, "A NumPy copy of the values, shaped like the constant.");
  kindClass<network::SelectLayer>(m, "ISelectLayer");
  kindClass<network::IdentityLayer>(m, "IIdentityLayer");
  bindSpatialLayers(m);
}

// The handle of the layer's own kind (IShuffleLayer, ...), so its parameters are reachable.
py::object layerHandle(const NetworkPtr& net, int index) {
  return std::visit(
      [&](const auto& parameters) {
        using Parameters = std::decay_t<decltype(parameters)>;
        return py::cast(KindRef<Parameters>{{net, index}});
      },
      net->layer(index).parameters);
}

void requireSameNetwork(const NetworkPtr& net, const TensorRef& a, const TensorRef& b) {
  requireSameNetwork(net, a);
  requireSameNetwork(net, b);
}

// The kernel and bias become constant layers feeding inputs 1 and 2, as TensorRT's
// set_input(1, tensor) would make them; stride 1, no padding and the groups the kernel implies
// until set. A convolution's kernel is (maps, channels / groups, k...), a deconvolution's
// (channels, maps / groups, k...): its channel count comes from the input.
template <typename Parameters>
int addWindowedLayer(const NetworkPtr& n, const TensorRef& x, std::int64_t num_output_maps,
                     const std::vector<std::int64_t>& kernel_shape, const py::array& kernel, const py::object& bias,
                     const py::kwargs& attributes) {
  constexpr bool transposed = std::is_same_v<Parameters, network::DeconvolutionLayer>;
  const std::string call = transposed ? "add_deconvolution_nd" : "add_convolution_nd";
  if (num_output_maps <= 0) throw InvalidArgument(call + ": num_output_maps must be positive");
  const auto count = static_cast<std::int64_t>(kernel.size());
  // Products beyond the kernel's values stop at count + 1 (which the check below refuses): huge
  // extents (a fuzzed model's) would otherwise overflow, to 0 at worst, a divisor below.
  const auto beyondCount = [count](std::int64_t a, std::int64_t b) {
    return a > count / b ? count + 1 : a * b;
  };
  std::int64_t window = 1;
  for (std::int64_t extent : kernel_shape) {
    if (extent <= 0) throw InvalidArgument(call + ": kernel_shape " + Dims(kernel_shape).toString() + " has a non-positive extent");
    window = beyondCount(window, extent);
  }
  const std::int64_t channels = x.get().shape.rank() > 1 ? x.get().shape[1] : Dims::kDynamic;
  if (transposed && channels <= 0) {
    throw InvalidArgument(call + ": the input's channel axis must be known, got " + x.get().shape.toString());
  }
  const std::int64_t leading = transposed ? channels : num_output_maps;
  const std::int64_t per_kernel = beyondCount(leading, window);
  if (count == 0 || count % per_kernel != 0) {
    throw InvalidArgument(call + ": the kernel's " + std::to_string(count) + " values are not " + std::to_string(leading) +
                          (transposed ? " input channels" : " output maps") + " x channels x kernel_shape " +
                          Dims(kernel_shape).toString());
  }
  std::vector<std::int64_t> shape{leading, count / per_kernel};
  shape.insert(shape.end(), kernel_shape.begin(), kernel_shape.end());
  const int kernel_layer = n->addLayer("", network::ConstantLayer{Dims(shape), weightsFrom(kernel)}, {});
  std::vector<network::TensorId> inputs{x.id, n->layer(kernel_layer).outputs.at(0)};
  if (!bias.is_none()) {
    const py::array bias_values = py::array::ensure(bias);
    if (!bias_values || (bias_values.size() != 0 && bias_values.size() != num_output_maps)) {
      throw InvalidArgument(call + ": bias must hold " + std::to_string(num_output_maps) + " values");
    }
    if (bias_values.size() != 0) {
      const int bias_layer = n->addLayer("", network::ConstantLayer{Dims{num_output_maps}, weightsFrom(bias_values)}, {});
      inputs.push_back(n->layer(bias_layer).outputs.at(0));
    }
  }
  Parameters layer;
  layer.num_output_maps = num_output_maps;
  layer.kernel_size = kernel_shape;
  // TensorRT checks a layer when the network is built, so its scripts may set num_groups after
  // adding the layer; mlprt checks at once, so the groups the kernel implies come first.
  const std::int64_t whole = transposed ? num_output_maps : channels;
  if (whole > 0 && whole != shape[1] && whole % shape[1] == 0) layer.num_groups = whole / shape[1];
  applyFields(layer, attributes);
  return n->addLayer("", layer, inputs);
}

void bindNetwork(py::module_& m) {
  py::class_<Network, NetworkPtr>(m, "INetworkDefinition", "The layers and tensors of a model.")
      .def(py::init<>())
      .def("add_input", [](const NetworkPtr& n, const std::string& name, DataType dtype,
                           const std::vector<std::int64_t>& shape) {
        return TensorRef{n, n->addInput(name, dtype, Dims(shape))};
      }, py::arg("name"), py::arg("dtype"), py::arg("shape"))
      .def("mark_output", [](const NetworkPtr& n, const TensorRef& t) {
        requireSameNetwork(n, t);
        n->markOutput(t.id);
      }, py::arg("tensor"))
      .def("share_extent", [](const NetworkPtr& n, const TensorRef& first, int first_axis, const TensorRef& second,
                              int second_axis, const std::string& label) {
        requireSameNetwork(n, first, second);
        n->shareExtent(first.id, first_axis, second.id, second_axis, label);
      }, py::arg("first"), py::arg("first_axis"), py::arg("second"), py::arg("second_axis"), py::arg("label"),
      "mlprt's own: axis first_axis of input `first` and axis second_axis of input `second` have one extent "
      "(ONNX inputs sharing a dim_param, `label`); engines refuse input shapes that differ there.")
      .def("unmark_output", [](const NetworkPtr& n, const TensorRef& t) {
        requireSameNetwork(n, t);
        n->unmarkOutput(t.id);
      }, py::arg("tensor"))
      .def_property_readonly("num_inputs", [](const Network& n) { return n.inputs().size(); })
      .def_property_readonly("num_outputs", [](const Network& n) { return n.outputs().size(); })
      .def_property_readonly("num_layers", [](const Network& n) { return n.layerCount(); })
      .def("get_input", [](const NetworkPtr& n, std::size_t i) {
        if (i >= n->inputs().size()) throw py::index_error("the network has " + std::to_string(n->inputs().size()) + " inputs");
        return TensorRef{n, n->inputs()[i]};
      }, py::arg("index"))
      .def("get_output", [](const NetworkPtr& n, std::size_t i) {
        if (i >= n->outputs().size()) throw py::index_error("the network has " + std::to_string(n->outputs().size()) + " outputs");
        return TensorRef{n, n->outputs()[i]};
      }, py::arg("index"))
      .def("get_layer", [](const NetworkPtr& n, int i) {
        if (i < 0 || static_cast<std::size_t>(i) >= n->layerCount()) {
          throw py::index_error("the network has " + std::to_string(n->layerCount()) + " layers");
        }
        return layerHandle(n, i);
      }, py::arg("index"))
      .def("add_constant", [](const NetworkPtr& n, const std::vector<std::int64_t>& shape, const py::array& weights) {
        return layerHandle(n, n->addLayer("", network::ConstantLayer{Dims(shape), weightsFrom(weights)}, {}));
      }, py::arg("shape"), py::arg("weights"))
      .def("add_matrix_multiply", [](const NetworkPtr& n, const TensorRef& a, network::MatrixOperation op0,
                                     const TensorRef& b, network::MatrixOperation op1) {
        requireSameNetwork(n, a, b);
        return layerHandle(n, n->addLayer("", network::MatrixMultiplyLayer{op0, op1}, {a.id, b.id}));
      }, py::arg("input0"), py::arg("op0"), py::arg("input1"), py::arg("op1"))
      .def("add_elementwise", [](const NetworkPtr& n, const TensorRef& a, const TensorRef& b,
                                 network::ElementWiseOperation op) {
        requireSameNetwork(n, a, b);
        return layerHandle(n, n->addLayer("", network::ElementWiseLayer{op}, {a.id, b.id}));
      }, py::arg("input1"), py::arg("input2"), py::arg("op"))
      .def("add_activation", [](const NetworkPtr& n, const TensorRef& x, network::ActivationType type) {
        requireSameNetwork(n, x);
        return layerHandle(n, n->addLayer("", network::ActivationLayer{type, 0.0f, 0.0f}, {x.id}));
      }, py::arg("input"), py::arg("type"))
      .def("add_unary", [](const NetworkPtr& n, const TensorRef& x, network::UnaryOperation op) {
        requireSameNetwork(n, x);
        return layerHandle(n, n->addLayer("", network::UnaryLayer{op}, {x.id}));
      }, py::arg("input"), py::arg("op"))
      .def("add_shuffle", [](const NetworkPtr& n, const TensorRef& x) {
        requireSameNetwork(n, x);
        return layerHandle(n, n->addLayer("", network::ShuffleLayer{}, {x.id}));
      }, py::arg("input"))
      .def("add_softmax", [](const NetworkPtr& n, const TensorRef& x) {
        requireSameNetwork(n, x);
        const int rank = static_cast<int>(x.get().shape.rank());
        return layerHandle(n, n->addLayer("", network::SoftmaxLayer{rank - 1, false}, {x.id}));
      }, py::arg("input"), "Softmax over the last axis (change with .axes).")
      .def("add_reduce", [](const NetworkPtr& n, const TensorRef& x, network::ReduceOperation op,
                            std::uint32_t axes, bool keep_dims) {
        requireSameNetwork(n, x);
        return layerHandle(n, n->addLayer("", network::ReduceLayer{op, axes, keep_dims}, {x.id}));
      }, py::arg("input"), py::arg("op"), py::arg("axes"), py::arg("keep_dims"))
      .def("add_normalization", [](const NetworkPtr& n, const TensorRef& x, const TensorRef& scale,
                                   const TensorRef& bias, std::uint32_t axes) {
        requireSameNetwork(n, x, scale);
        requireSameNetwork(n, bias);
        return layerHandle(n, n->addLayer("", network::NormalizationLayer{axes, 1e-5f}, {x.id, scale.id, bias.id}));
      }, py::arg("input"), py::arg("scale"), py::arg("bias"), py::arg("axesMask"))
      .def("add_convolution_nd", [](const NetworkPtr& n, const TensorRef& x, std::int64_t num_output_maps,
                                    const std::vector<std::int64_t>& kernel_shape, const py::array& kernel,
                                    const py::object& bias, const py::kwargs& attributes) {
        requireSameNetwork(n, x);
        return layerHandle(n, addWindowedLayer<network::ConvolutionLayer>(n, x, num_output_maps, kernel_shape, kernel, bias, attributes));
      }, py::arg("input"), py::arg("num_output_maps"), py::arg("kernel_shape"), py::arg("kernel"),
      py::arg("bias") = py::none(),
      "Convolution over the spatial axes of `input` (N, C, ...): `kernel` holds num_output_maps x "
      "(C / num_groups) x kernel_shape values, `bias` num_output_maps values or None. mlprt's own: "
      "attributes (stride_nd=..., padding_nd=..., num_groups=..., ...) may be given here, checked once.")
      .def("add_deconvolution_nd", [](const NetworkPtr& n, const TensorRef& x, std::int64_t num_output_maps,
                                      const std::vector<std::int64_t>& kernel_shape, const py::array& kernel,
                                      const py::object& bias, const py::kwargs& attributes) {
        requireSameNetwork(n, x);
        return layerHandle(n, addWindowedLayer<network::DeconvolutionLayer>(n, x, num_output_maps, kernel_shape, kernel,
                                                                             bias, attributes));
      }, py::arg("input"), py::arg("num_output_maps"), py::arg("kernel_shape"), py::arg("kernel"),
      py::arg("bias") = py::none(),
      "Transposed convolution of `input` (N, C, ...): `kernel` holds C x (num_output_maps / num_groups) x "
      "kernel_shape values, `bias` num_output_maps values or None. Attributes may be given here, as for "
      "add_convolution_nd.")
      .def("add_slice", [](const NetworkPtr& n, const TensorRef& x, const std::vector<std::int64_t>& start,
                           const std::vector<std::int64_t>& shape, const std::vector<std::int64_t>& stride,
                           const py::kwargs& attributes) {
        requireSameNetwork(n, x);
        network::SliceLayer slice{start, shape, stride, SampleMode::kSTRICT_BOUNDS, 0.0f};
        applyFields(slice, attributes);
        return layerHandle(n, n->addLayer("", slice, {x.id}));
      }, py::arg("input"), py::arg("start"), py::arg("shape"), py::arg("stride"),
      "out[i] = input[start + i * stride] per axis (TensorRT's ISliceLayer); mode=SampleMode... and "
      "fill_value=... may be given here.")
      .def("add_resize", [](const NetworkPtr& n, const TensorRef& x, const py::kwargs& attributes) {
        requireSameNetwork(n, x);
        network::ResizeLayer resize;
        resize.scales.assign(x.get().shape.rank(), 1.0f);  // the identity until shape or scales are set
        applyFields(resize, attributes);
        if (attributes.contains("shape") && !attributes.contains("scales")) resize.scales.clear();
        return layerHandle(n, n->addLayer("", resize, {x.id}));
      }, py::arg("input"),
      "Resamples `input` (TensorRT's IResizeLayer: set shape or scales, resize_mode, ...; mlprt also takes "
      "them here). Setting shape makes scales follow the extents, unless scales are given too.")
      .def("add_gather", [](const NetworkPtr& n, const TensorRef& data, const TensorRef& indices, int axis) {
        requireSameNetwork(n, data, indices);
        const int rank = static_cast<int>(data.get().shape.rank());
        return layerHandle(n, n->addLayer("", network::GatherLayer{axis < 0 ? axis + rank : axis, GatherMode::kDEFAULT},
                                          {data.id, indices.id}));
      }, py::arg("input"), py::arg("indices"), py::arg("axis"),
      "data gathered along `axis` by INT32/INT64 indices (set .mode = GatherMode.ELEMENT for GatherElements).")
      .def("add_gather_v2", [](const NetworkPtr& n, const TensorRef& data, const TensorRef& indices, GatherMode mode) {
        requireSameNetwork(n, data, indices);
        return layerHandle(n, n->addLayer("", network::GatherLayer{0, mode}, {data.id, indices.id}));
      }, py::arg("input"), py::arg("indices"), py::arg("mode"), "TensorRT 8.5's form: the mode first, axis 0.")
      .def("add_topk", [](const NetworkPtr& n, const TensorRef& x, TopKOperation op, std::int32_t k,
                          std::uint32_t axes) {
        requireSameNetwork(n, x);
        return layerHandle(n, n->addLayer("", network::TopKLayer{op, k, axes}, {x.id}));
      }, py::arg("input"), py::arg("op"), py::arg("k"), py::arg("axes"),
      "The k largest (MAX) or smallest (MIN) elements along the one axis set in the `axes` bit mask: output 0 "
      "the values, output 1 their INT32 indices along the axis (ties: the lower index first).")
      .def("add_scatter", [](const NetworkPtr& n, const TensorRef& data, const TensorRef& indices,
                             const TensorRef& updates, ScatterMode mode) {
        requireSameNetwork(n, data, indices);
        requireSameNetwork(n, data, updates);
        return layerHandle(n, n->addLayer("", network::ScatterLayer{mode, 0, ScatterReduction::kNONE},
                                          {data.id, indices.id, updates.id}));
      }, py::arg("data"), py::arg("indices"), py::arg("updates"), py::arg("mode"),
      "data with updates written at INT32/INT64 indices (ScatterMode.ELEMENT: along .axis, ONNX ScatterElements; "
      "ND: at index tuples, ScatterND); .reduction (mlprt's own) combines them with what is there.")
      .def("add_cumulative", [](const NetworkPtr& n, const TensorRef& x, const py::object& axis,
                                CumulativeOperation op, bool exclusive, bool reverse) {
        requireSameNetwork(n, x);
        const int rank = static_cast<int>(x.get().shape.rank());
        int a = cumulativeAxis(n, axis);
        if (a < 0) a += rank;
        return layerHandle(n, n->addLayer("", network::CumulativeLayer{op, a, exclusive, reverse}, {x.id}));
      }, py::arg("input"), py::arg("axis"), py::arg("op"), py::arg("exclusive"), py::arg("reverse"),
      "Running sums along `axis` (an int, or as in TensorRT a 0-D INT32/INT64 tensor made by add_constant).")
      .def("add_axis_range", [](const NetworkPtr& n, const TensorRef& x, int axis, DataType type) {
        requireSameNetwork(n, x);
        const int rank = static_cast<int>(x.get().shape.rank());
        if (axis < 0) axis += rank;
        return layerHandle(n, n->addLayer("", network::AxisRangeLayer{axis, type}, {x.id}));
      }, py::arg("input"), py::arg("axis"), py::arg("type") = DataType::kINT64,
      "mlprt's own: 0, 1, ..., n - 1 (of `type`: FLOAT, HALF, INT32 or INT64), n the run-time extent of "
      "`axis` of `input`, whose values are not read. Such steps (and what depends on nothing else) run once "
      "per set of input shapes.")
      .def("add_lrn", [](const NetworkPtr& n, const TensorRef& x, std::int64_t window, float alpha, float beta,
                         float k) {
        requireSameNetwork(n, x);
        return layerHandle(n, n->addLayer("", network::LrnLayer{window, alpha, beta, k}, {x.id}));
      }, py::arg("input"), py::arg("window"), py::arg("alpha"), py::arg("beta"), py::arg("k"),
      "Local response normalization across channels (N, C, ...).")
      .def("add_pooling_nd", [](const NetworkPtr& n, const TensorRef& x, PoolingType type,
                                const std::vector<std::int64_t>& window_size, const py::kwargs& attributes) {
        requireSameNetwork(n, x);
        network::PoolingLayer pooling;
        pooling.type = type;
        pooling.window_size = window_size;
        applyFields(pooling, attributes);
        return layerHandle(n, n->addLayer("", pooling, {x.id}));
      }, py::arg("input"), py::arg("type"), py::arg("window_size"),
      "Max or average pooling of `input` (N, C, ...). mlprt's own: attributes (stride_nd=..., "
      "padding_nd=..., ...) may be given here, checked once.")
      .def("add_concatenation", [](const NetworkPtr& n, const std::vector<TensorRef>& inputs, int axis) {
        std::vector<network::TensorId> ids;
        for (const TensorRef& t : inputs) {
          requireSameNetwork(n, t);
          ids.push_back(t.id);
        }
        return layerHandle(n, n->addLayer("", network::ConcatenationLayer{axis}, ids));
      }, py::arg("inputs"), py::arg("axis") = 0,
      "Joins the inputs along `axis` (0 unless given; change with .axis). Shapes are checked at once, "
      "so inputs that differ on axis 0 need `axis` here.")
      .def("add_select", [](const NetworkPtr& n, const TensorRef& condition, const TensorRef& then_input,
                            const TensorRef& else_input) {
        requireSameNetwork(n, condition, then_input);
        requireSameNetwork(n, else_input);
        return layerHandle(n, n->addLayer("", network::SelectLayer{}, {condition.id, then_input.id, else_input.id}));
      }, py::arg("condition"), py::arg("then_input"), py::arg("else_input"),
      "condition ? then_input : else_input elementwise, all three broadcast (ONNX's Where).")
      .def("add_identity", [](const NetworkPtr& n, const TensorRef& x) {
        requireSameNetwork(n, x);
        return layerHandle(n, n->addLayer("", network::IdentityLayer{x.get().type}, {x.id}));
      }, py::arg("input"))
      .def("add_cast", [](const NetworkPtr& n, const TensorRef& x, DataType to_type) {
        requireSameNetwork(n, x);
        return layerHandle(n, n->addLayer("", network::IdentityLayer{to_type}, {x.id}));
      }, py::arg("input"), py::arg("to_type"))
      .def("__len__", &Network::layerCount)
      .def("__getitem__", [](const NetworkPtr& n, int i) {
        if (i < 0 || static_cast<std::size_t>(i) >= n->layerCount()) throw py::index_error("layer index out of range");
        return layerHandle(n, i);
      });
}

}  // namespace

void bindNetworkDefinition(py::module_& module) {
  bindEnums(module);
  bindTensor(module);
  bindLayers(module);
  bindNetwork(module);
}

}  // namespace mlprt::python
