// The parameters of any layer as text, read from each kind's field description (layers.h).
#include <sstream>

#include "network/layers.h"

namespace mlprt::network {
namespace {

template <typename Value>
void appendValue(std::ostringstream& text, const Value& value);

template <typename Item>
void appendList(std::ostringstream& text, const std::vector<Item>& items) {
  text << "(";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) text << ", ";
    appendValue(text, items[i]);
  }
  text << ")";
}

// A nested description (an MLP stage, its activation) in braces.
template <typename Struct>
void appendStruct(std::ostringstream& text, const Struct& value) {
  text << "{";
  bool first = true;
  forEachField(value, [&](const char* name, const auto& field) {
    text << (first ? "" : " ") << name << "=";
    appendValue(text, field);
    first = false;
  });
  text << "}";
}

template <typename Value>
void appendValue(std::ostringstream& text, const Value& value) {
  if constexpr (std::is_same_v<Value, bool>) {
    text << (value ? "true" : "false");
  } else if constexpr (std::is_enum_v<Value>) {
    text << static_cast<int>(value);
  } else if constexpr (std::is_arithmetic_v<Value>) {
    text << value;
  } else if constexpr (std::is_same_v<Value, Dims>) {
    text << value.toString();
  } else if constexpr (std::is_same_v<Value, Weights>) {
    text << dataTypeName(value.type) << "[" << value.bytes.size() << " bytes]";
  } else if constexpr (std::is_same_v<Value, std::vector<int>> || std::is_same_v<Value, std::vector<std::int64_t>> ||
                       std::is_same_v<Value, std::vector<float>> ||
                       std::is_same_v<Value, std::vector<MlpStage>>) {
    appendList(text, value);
  } else {
    appendStruct(text, value);
  }
}

}  // namespace

std::string parametersText(const LayerParameters& parameters) {
  std::ostringstream text;
  std::visit(
      [&](const auto& layer) {
        bool first = true;
        forEachField(layer, [&](const char* name, const auto& field) {
          text << (first ? "" : " ") << name << "=";
          appendValue(text, field);
          first = false;
        });
      },
      parameters);
  return text.str();
}

}  // namespace mlprt::network
