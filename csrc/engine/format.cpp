// The engine file format; docs/engine-format.md describes it byte by byte.
//
// Writing: a ByteWriter appends little-endian fields; sections are framed by a tag and a length
// that is patched in once the body is written. Reading: the header is checked (magic, version,
// sizes, checksum) before a bounds-checked ByteReader parses the payload, section by section,
// validating each value as soon as what it depends on has been read. Every failure names its
// section, the element and field, and the byte offset in the file.
#include "engine/format.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <set>
#include <string>
#include <type_traits>
#include <utility>

#include "core/hash.h"

namespace mlprt::engine {
namespace {

using network::LayerParameters;

constexpr std::array<char, 8> kMagic = {'M', 'L', 'P', 'R', 'T', 'E', 'N', 'G'};
constexpr std::size_t kHeaderBytes = 32;
constexpr std::size_t kVersionOffset = 8;
constexpr std::size_t kReservedOffset = 12;
constexpr std::size_t kPayloadSizeOffset = 16;
constexpr std::size_t kChecksumOffset = 24;

// Counts and string lengths are u32; byte arrays (weights, program binaries) have u64 lengths.
constexpr std::uint64_t kMaxCount = std::numeric_limits<std::uint32_t>::max();

// The sections of the payload, in the order they appear.
constexpr char kMetaTag[] = "META";
constexpr char kTensorsTag[] = "TENS";
constexpr char kBindingsTag[] = "BIND";
constexpr char kStepsTag[] = "STEP";
constexpr char kProfilesTag[] = "PROF";
constexpr char kWeightsTag[] = "WGHT";
constexpr char kProgramsTag[] = "PROG";
constexpr std::size_t kTagBytes = 4;

// The largest valid role; the layer enums' limits are lastEnumerator() in core/operations.h (both
// the writer and the reader check against them).
constexpr auto kLastTensorRole = TensorRole::kConstant;
constexpr std::size_t kLayerKinds = std::variant_size_v<LayerParameters>;

std::uint64_t loadLittleEndian(const std::uint8_t* bytes, std::size_t width) noexcept {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < width; ++i) value |= static_cast<std::uint64_t>(bytes[i]) << (8 * i);
  return value;
}

std::string hex(std::uint64_t value) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text = "0x";
  for (int shift = 60; shift >= 0; shift -= 4) text += kDigits[(value >> shift) & 0xf];
  return text;
}

// Whether `text` is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, at most
// U+10FFFF). Names and other text the Python module hands out as str must be.
bool isUtf8(const std::string& text) noexcept {
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t size = text.size();
  std::size_t i = 0;
  while (i < size) {
    const unsigned char lead = bytes[i];
    std::size_t length = 0;
    unsigned char low = 0x80, high = 0xbf;  // the allowed range of the second byte
    if (lead < 0x80) {
      ++i;
      continue;
    }
    if (lead >= 0xc2 && lead <= 0xdf) {
      length = 2;
    } else if (lead >= 0xe0 && lead <= 0xef) {
      length = 3;
      if (lead == 0xe0) low = 0xa0;   // overlong
      if (lead == 0xed) high = 0x9f;  // surrogates
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      length = 4;
      if (lead == 0xf0) low = 0x90;   // overlong
      if (lead == 0xf4) high = 0x8f;  // above U+10FFFF
    } else {
      return false;
    }
    if (size - i < length || bytes[i + 1] < low || bytes[i + 1] > high) return false;
    for (std::size_t k = 2; k < length; ++k) {
      if (bytes[i + k] < 0x80 || bytes[i + k] > 0xbf) return false;
    }
    i += length;
  }
  return true;
}

// A name from the file, safe to put in a message: quoted, printable ASCII only, bounded length.
std::string quoted(const std::string& name) {
  constexpr std::size_t kMaxShown = 64;
  std::string text = "\"";
  for (std::size_t i = 0; i < name.size() && i < kMaxShown; ++i) {
    const unsigned char c = static_cast<unsigned char>(name[i]);
    text += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
  }
  if (name.size() > kMaxShown) text += "...";
  return text + "\"";
}

// ---------------------------------------------------------------------------------------------
// Writing

[[noreturn]] void failWrite(const std::string& what) {
  throw EngineFormatError("cannot write the engine: " + what);
}

template <typename Enum>
std::uint8_t enumByte(Enum value, Enum last, const char* field) {
  const auto raw = static_cast<std::underlying_type_t<Enum>>(value);
  if (raw < 0 || raw > static_cast<std::underlying_type_t<Enum>>(last)) {
    failWrite(std::string(field) + " has the value " + std::to_string(raw) + ", which the format has no code for");
  }
  return static_cast<std::uint8_t>(raw);
}

class ByteWriter {
 public:
  void u8(std::uint8_t value) { bytes_.push_back(value); }
  void u32(std::uint32_t value) { append(value, 4); }
  void u64(std::uint64_t value) { append(value, 8); }
  void i32(std::int32_t value) { u32(static_cast<std::uint32_t>(value)); }
  void i64(std::int64_t value) { u64(static_cast<std::uint64_t>(value)); }
  void boolean(bool value) { u8(value ? 1 : 0); }
  void f32(float value) {
    std::uint32_t bits = 0;
    std::memcpy(&bits, &value, sizeof bits);  // the exact bits: NaN payloads survive
    u32(bits);
  }
  void count(std::size_t value, const char* field) {
    if (value > kMaxCount) failWrite(std::string(field) + " has " + std::to_string(value) + " elements, more than 2^32-1");
    u32(static_cast<std::uint32_t>(value));
  }
  void string(const std::string& text, const char* field) {
    count(text.size(), field);
    bytes_.insert(bytes_.end(), text.begin(), text.end());
  }
  // A string the reader requires to be UTF-8 (names, and what the Python module returns as str).
  void text(const std::string& value, const char* field) {
    if (!isUtf8(value)) failWrite(std::string(field) + " " + quoted(value) + " is not valid UTF-8");
    string(value, field);
  }
  void byteArray(const std::vector<std::uint8_t>& data) {
    u64(data.size());
    bytes_.insert(bytes_.end(), data.begin(), data.end());
  }
  void tag(const char* text) {
    // Byte by byte: GCC 12 warns (-Warray-bounds, wrongly) about a range insert here.
    for (std::size_t i = 0; i < kTagBytes; ++i) u8(static_cast<std::uint8_t>(text[i]));
  }

  // A section: its tag and a length patched in by endSection.
  std::size_t beginSection(const char* section_tag) {
    tag(section_tag);
    const std::size_t length_at = bytes_.size();
    u64(0);
    return length_at;
  }
  void endSection(std::size_t length_at) {
    const std::uint64_t length = bytes_.size() - length_at - 8;
    for (std::size_t i = 0; i < 8; ++i) bytes_[length_at + i] = static_cast<std::uint8_t>(length >> (8 * i));
  }

  std::size_t size() const noexcept { return bytes_.size(); }
  std::vector<std::uint8_t>& bytes() noexcept { return bytes_; }

 private:
  void append(std::uint64_t value, std::size_t width) {
    for (std::size_t i = 0; i < width; ++i) bytes_.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
  }

  std::vector<std::uint8_t> bytes_;
};

void writeDims(ByteWriter& out, const Dims& dims) {
  out.count(dims.rank(), "a shape");
  for (std::int64_t extent : dims.extents()) out.i64(extent);
}

void writeDimsList(ByteWriter& out, const std::vector<Dims>& list) {
  out.count(list.size(), "a profile's shape list");
  for (const Dims& dims : list) writeDims(out, dims);
}

template <typename Int>
void writeList(ByteWriter& out, const std::vector<Int>& values, const char* field) {
  out.count(values.size(), field);
  for (Int value : values) {
    if constexpr (std::is_same_v<Int, float>) {
      out.f32(value);
    } else if constexpr (sizeof(Int) == 8) {
      out.i64(value);
    } else {
      out.i32(value);
    }
  }
}

// Writes each field of a layer as its type's encoding, in the order of the kind's description
// (layers.h): that order is the file layout of the kind's body.
struct FieldWriter {
  ByteWriter& out;

  template <typename Value>
  void operator()(const char* field, const Value& value) const {
    if constexpr (std::is_same_v<Value, bool>) {
      out.boolean(value);
    } else if constexpr (std::is_same_v<Value, DataType>) {
      out.i32(static_cast<std::int32_t>(value));
    } else if constexpr (std::is_enum_v<Value>) {
      out.u8(enumByte(value, lastEnumerator<Value>(), field));
    } else if constexpr (std::is_same_v<Value, std::int32_t>) {
      out.i32(value);
    } else if constexpr (std::is_same_v<Value, std::uint32_t>) {
      out.u32(value);
    } else if constexpr (std::is_same_v<Value, std::int64_t>) {
      out.i64(value);
    } else if constexpr (std::is_same_v<Value, float>) {
      out.f32(value);
    } else if constexpr (std::is_same_v<Value, Dims>) {
      writeDims(out, value);
    } else if constexpr (std::is_same_v<Value, network::Weights>) {
      out.i32(static_cast<std::int32_t>(value.type));
      out.byteArray(value.bytes);
    } else if constexpr (std::is_same_v<Value, std::vector<int>> || std::is_same_v<Value, std::vector<std::int64_t>> ||
                         std::is_same_v<Value, std::vector<float>>) {
      writeList(out, value, field);
    } else if constexpr (std::is_same_v<Value, std::vector<network::MlpStage>>) {
      out.count(value.size(), field);
      for (const auto& item : value) network::forEachField(item, *this);
    } else {
      network::forEachField(value, *this);  // a nested description
    }
  }
};

void writeMeta(ByteWriter& out, const EnginePlan& plan) {
  out.text(plan.mlprt_version, "mlprt_version");
  out.string(plan.device.platform, "device.platform");
  out.string(plan.device.device, "device.device");
  out.string(plan.device.vendor, "device.vendor");
  out.string(plan.device.driver, "device.driver");
  out.string(plan.device.opencl_version, "device.opencl_version");
  out.boolean(plan.fp16);
}

void writeTensors(ByteWriter& out, const EnginePlan& plan) {
  out.u64(plan.arena_bytes);
  out.count(plan.tensors.size(), "tensors");
  for (const PlanTensor& tensor : plan.tensors) {
    out.text(tensor.name, "a tensor name");
    out.i32(static_cast<std::int32_t>(tensor.type));
    writeDims(out, tensor.shape);
    out.u8(enumByte(tensor.role, kLastTensorRole, "PlanTensor.role"));
    out.u64(tensor.offset);
    out.u64(tensor.capacity);
  }
}

void writeBindings(ByteWriter& out, const EnginePlan& plan) {
  writeList(out, plan.inputs, "inputs");
  writeList(out, plan.outputs, "outputs");
}

void writeTacticRanges(ByteWriter& out, const EnginePlan& plan, std::size_t ranged);

void writeSteps(ByteWriter& out, const EnginePlan& plan) {
  out.count(plan.steps.size(), "steps");
  for (const PlanStep& step : plan.steps) {
    out.text(step.name, "a step name");
    out.u8(static_cast<std::uint8_t>(step.parameters.index()));
    std::visit([&](const auto& layer) { network::forEachField(layer, FieldWriter{out}); }, step.parameters);
    writeList(out, step.inputs, "a step's inputs");
    out.i32(step.output);
    out.i32(step.epilogue.bias);
    out.boolean(step.epilogue.has_activation);
    network::forEachField(step.epilogue.activation, FieldWriter{out});
    out.text(step.tactic, "a step tactic");
  }
  // Version 11: the steps that have tactic ranges, after the steps, only when some step has them
  // (so an engine without them reads as it did before). Version 17: then the convolutions that add
  // their residual after the activation, only when some step does (the ranges' count, perhaps 0,
  // is written before them).
  const auto ranged = static_cast<std::size_t>(std::count_if(
      plan.steps.begin(), plan.steps.end(), [](const PlanStep& step) { return !step.tactic_ranges.empty(); }));
  const auto residuals_after = static_cast<std::size_t>(
      std::count_if(plan.steps.begin(), plan.steps.end(),
                    [](const PlanStep& step) { return step.epilogue.residual_after_activation; }));
  if (ranged == 0 && residuals_after == 0) return;
  writeTacticRanges(out, plan, ranged);
  if (residuals_after == 0) return;
  out.count(residuals_after, "steps adding their residual after the activation");
  for (std::size_t i = 0; i < plan.steps.size(); ++i) {
    if (plan.steps[i].epilogue.residual_after_activation) out.count(i, "a step index");
  }
}

void writeTacticRanges(ByteWriter& out, const EnginePlan& plan, std::size_t ranged) {
  out.count(ranged, "steps with tactic ranges");
  for (std::size_t i = 0; i < plan.steps.size(); ++i) {
    const PlanStep& step = plan.steps[i];
    if (step.tactic_ranges.empty()) continue;
    out.count(i, "a step index");
    out.count(step.tactic_ranges.size(), "a step's tactic ranges");
    for (const TacticRange& range : step.tactic_ranges) {
      out.i64(range.up_to_elements);
      out.text(range.tactic, "a range's tactic");
    }
  }
}

void writeProfiles(ByteWriter& out, const EnginePlan& plan) {
  out.count(plan.profiles.size(), "profiles");
  for (const ProfileShapes& profile : plan.profiles) {
    writeDimsList(out, profile.min);
    writeDimsList(out, profile.opt);
    writeDimsList(out, profile.max);
  }
  out.count(plan.shared_extents.size(), "shared extents");
  for (const SharedExtent& shared : plan.shared_extents) {
    out.i32(shared.first_input);
    out.i32(shared.first_axis);
    out.i32(shared.second_input);
    out.i32(shared.second_axis);
    out.text(shared.label, "a shared extent's label");
  }
}

void writeWeights(ByteWriter& out, const EnginePlan& plan) { out.byteArray(plan.weights); }

void writePrograms(ByteWriter& out, const EnginePlan& plan) {
  out.count(plan.programs.size(), "programs");
  for (const ProgramBinary& program : plan.programs) {
    out.text(program.family, "a program family");
    out.text(program.options, "program options");
    out.text(program.source_hash, "a program source hash");
    out.byteArray(program.binary);
  }
}

void writeHeader(std::vector<std::uint8_t>& file) {
  const std::uint8_t* payload = file.data() + kHeaderBytes;
  const std::uint64_t payload_size = file.size() - kHeaderBytes;
  const std::uint64_t checksum = fnv1a64(payload, payload_size);
  std::memcpy(file.data(), kMagic.data(), kMagic.size());
  const auto store = [&file](std::size_t at, std::uint64_t value, std::size_t width) {
    for (std::size_t i = 0; i < width; ++i) file[at + i] = static_cast<std::uint8_t>(value >> (8 * i));
  };
  store(kVersionOffset, kFormatVersion, 4);
  store(kReservedOffset, 0, 4);
  store(kPayloadSizeOffset, payload_size, 8);
  store(kChecksumOffset, checksum, 8);
}

// ---------------------------------------------------------------------------------------------
// Reading

// Where the parser is: "section STEP", "step 2 \"fc1\"", ...; joined into error messages.
class Location {
 public:
  class Scope {
   public:
    Scope(Location& location, std::string label) : location_(location) { location_.parts_.push_back(std::move(label)); }
    ~Scope() { location_.parts_.pop_back(); }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;
    void relabel(std::string label) { location_.parts_.back() = std::move(label); }

   private:
    Location& location_;
  };

  std::string describe(const std::string& field) const {
    std::string text;
    for (const std::string& part : parts_) text += part + ", ";
    return text + field;
  }

 private:
  std::vector<std::string> parts_;
};

// Reads little-endian fields from [data, data + size), whose first byte is at `file_offset` in
// the file. Never reads past the end: every read checks what remains first.
class ByteReader {
 public:
  ByteReader(const std::uint8_t* data, std::size_t size, std::size_t file_offset, Location& location)
      : data_(data), size_(size), file_offset_(file_offset), location_(location) {}

  [[noreturn]] void failAt(std::size_t file_offset, const std::string& field, const std::string& what) const {
    throw EngineFormatError("engine file is malformed: " + location_.describe(field) + ": " + what + " (at byte " +
                            std::to_string(file_offset) + ")");
  }
  [[noreturn]] void fail(const std::string& field, const std::string& what) const { failAt(offset(), field, what); }

  std::size_t offset() const noexcept { return file_offset_ + position_; }
  std::size_t remaining() const noexcept { return size_ - position_; }

  std::uint8_t u8(const char* field) { return static_cast<std::uint8_t>(fixed(1, field)); }
  std::uint32_t u32(const char* field) { return static_cast<std::uint32_t>(fixed(4, field)); }
  std::uint64_t u64(const char* field) { return fixed(8, field); }
  std::int32_t i32(const char* field) { return static_cast<std::int32_t>(u32(field)); }
  std::int64_t i64(const char* field) { return static_cast<std::int64_t>(u64(field)); }
  float f32(const char* field) {
    const std::uint32_t bits = u32(field);
    float value = 0.0f;
    std::memcpy(&value, &bits, sizeof value);
    return value;
  }
  bool boolean(const char* field) {
    const std::size_t at = offset();
    const std::uint8_t value = u8(field);
    if (value > 1) failAt(at, field, "a boolean must be 0 or 1, not " + std::to_string(value));
    return value == 1;
  }

  // A u32 element count, checked against the bytes left: each element takes at least
  // `min_element_bytes`, so a count the data cannot hold fails before anything is allocated.
  std::size_t count(const char* field, std::size_t min_element_bytes) {
    const std::size_t at = offset();
    const std::uint64_t value = u32(field);
    if (value > remaining() / min_element_bytes) {
      failAt(at, field,
             "count " + std::to_string(value) + " needs at least " + std::to_string(value * min_element_bytes) +
                 " bytes but only " + std::to_string(remaining()) + " remain");
    }
    return static_cast<std::size_t>(value);
  }

  std::string string(const char* field) {
    const std::size_t length = count(field, 1);
    std::string text(reinterpret_cast<const char*>(data_ + position_), length);
    position_ += length;
    return text;
  }
  // A string that must be UTF-8: a name, or text the Python module hands out as str.
  std::string text(const char* field) {
    const std::size_t at = offset();
    std::string value = string(field);
    if (!isUtf8(value)) failAt(at, field, quoted(value) + " is not valid UTF-8");
    return value;
  }

  std::vector<std::uint8_t> byteArray(const char* field) {
    const std::size_t at = offset();
    const std::uint64_t length = u64(field);
    if (length > remaining()) {
      failAt(at, field,
             "length " + std::to_string(length) + " is more than the " + std::to_string(remaining()) +
                 " bytes that remain");
    }
    std::vector<std::uint8_t> bytes(data_ + position_, data_ + position_ + length);
    position_ += static_cast<std::size_t>(length);
    return bytes;
  }

  std::array<char, kTagBytes> tag(const char* field) {
    need(kTagBytes, field);
    std::array<char, kTagBytes> text{};
    std::memcpy(text.data(), data_ + position_, kTagBytes);
    position_ += kTagBytes;
    return text;
  }

  // The next `length` bytes as a reader of their own; this reader moves past them.
  ByteReader take(std::size_t length) {
    need(length, "body");
    ByteReader part(data_ + position_, length, offset(), location_);
    position_ += length;
    return part;
  }

 private:
  void need(std::size_t bytes, const char* field) const {
    if (bytes > remaining()) {
      fail(field, "needs " + std::to_string(bytes) + " bytes but only " + std::to_string(remaining()) + " remain");
    }
  }
  std::uint64_t fixed(std::size_t width, const char* field) {
    need(width, field);
    const std::uint64_t value = loadLittleEndian(data_ + position_, width);
    position_ += width;
    return value;
  }

  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t file_offset_;
  std::size_t position_ = 0;
  Location& location_;
};

template <typename Enum>
Enum readEnum(ByteReader& in, Enum last, const char* field) {
  const std::size_t at = in.offset();
  const std::uint8_t value = in.u8(field);
  const auto last_value = static_cast<unsigned>(last);
  if (value > last_value) {
    in.failAt(at, field, "value " + std::to_string(value) + " is not valid (0 to " + std::to_string(last_value) + ")");
  }
  return static_cast<Enum>(value);
}

DataType readDataType(ByteReader& in, const char* field) {
  const std::size_t at = in.offset();
  const std::int32_t value = in.i32(field);
  if (!isDataType(value)) in.failAt(at, field, "value " + std::to_string(value) + " is not a DataType");
  return static_cast<DataType>(value);
}

Dims readDims(ByteReader& in, const char* field) {
  const std::size_t at = in.offset();
  const std::uint32_t rank = in.u32(field);
  if (rank > Dims::kMaxRank) {
    in.failAt(at, field, "rank " + std::to_string(rank) + " exceeds the maximum of " + std::to_string(Dims::kMaxRank));
  }
  std::vector<std::int64_t> extents(rank);  // at most kMaxRank: each read below is bounds-checked
  for (std::int64_t& extent : extents) {
    const std::size_t extent_at = in.offset();
    extent = in.i64(field);
    if (extent < Dims::kDynamic) {
      in.failAt(extent_at, field, "extent " + std::to_string(extent) + " is negative (only -1, dynamic, is allowed)");
    }
  }
  return Dims(std::move(extents));
}

// A list of up to Dims::kMaxRank values (per-axis data: a shuffle's, a resize's scales).
template <typename Int>
std::vector<Int> readAxisList(ByteReader& in, const char* field) {
  const std::size_t at = in.offset();
  const std::uint32_t length = in.u32(field);
  if (length > Dims::kMaxRank) {
    in.failAt(at, field,
              "has " + std::to_string(length) + " entries; at most " + std::to_string(Dims::kMaxRank) + " axes exist");
  }
  std::vector<Int> values(length);
  for (Int& value : values) {
    if constexpr (std::is_same_v<Int, float>) {
      value = in.f32(field);
    } else if constexpr (sizeof(Int) == 8) {
      value = in.i64(field);
    } else {
      value = in.i32(field);
    }
  }
  return values;
}


// The LayerParameters alternative at `index`, default-constructed; std::variant has no
// run-time emplace, so this walks the alternatives at compile time.
template <std::size_t Index = 0>
LayerParameters layerOfKind(std::size_t index) {
  if constexpr (Index + 1 < kLayerKinds) {
    if (index != Index) return layerOfKind<Index + 1>(index);
  }
  return LayerParameters(std::in_place_index<Index>);
}

// Fills the alternative that `parameters` holds from the file, fields in declaration order.
// The last layer kind and operation codes each format version knows: a file may use only those of
// its own version (a damaged version field is caught, not read as another layout).
std::size_t lastLayerKind(std::uint32_t version) {
  return version >= 10 ? kLayerKinds - 1 : version >= 8 ? 23 : version == 7 ? 22 : version >= 5 ? 20 : version == 4 ? 19 : version == 3 ? 12 : version == 2 ? 11 : 10;
}
template <typename Enum>
Enum lastCode(std::uint32_t version) {
  if constexpr (std::is_same_v<Enum, ElementWiseOperation>) {
    if (version < 3) return ElementWiseOperation::kPOW;
    if (version < 7) return ElementWiseOperation::kFMOD;
  } else if constexpr (std::is_same_v<Enum, UnaryOperation>) {
    if (version < 3) return UnaryOperation::kERF;
    if (version < 6) return UnaryOperation::kNOT;
  }
  return lastEnumerator<Enum>();
}

// Fields added to a layer kind after the kind itself: files older than `since` lack them, and
// readers leave them at their defaults.
struct LaterField {
  const char* layer;  // the kind's kName
  const char* field;
  std::uint32_t since;
};
constexpr LaterField kLaterFields[] = {
    {network::AttentionLayer::kName, "packed", 10},
    {network::AttentionLayer::kName, "heads", 10},
    {network::AttentionLayer::kName, "kv_heads", 10},
    {network::AttentionLayer::kName, "softcap", 11},
    {network::AttentionLayer::kName, "mask_batch_period", 12},
    {network::AttentionLayer::kName, "merged_qkv", 12},
    {network::AttentionLayer::kName, "mask_if_true", 16},
    {network::AttentionLayer::kName, "mask_if_false", 16},
};

bool fieldInVersion(const char* layer, const char* field, std::uint32_t version) {
  for (const LaterField& later : kLaterFields) {
    if (std::strcmp(later.layer, layer) == 0 && std::strcmp(later.field, field) == 0) return version >= later.since;
  }
  return true;
}

// Reads each field of a layer in the order FieldWriter wrote it, validating as it goes.
struct FieldReader {
  ByteReader& in;
  std::uint32_t version;
  std::string prefix;  // "epilogue.activation.", "stages[1].": where a nested field sits
  const char* layer = "";  // the kind's kName for a layer's own fields ("" for nested ones)

  template <typename Value>
  void operator()(const char* name, Value& value) const {
    if (!fieldInVersion(layer, name, version)) return;
    const std::string full_name = prefix + name;
    const char* field = full_name.c_str();
    if constexpr (std::is_same_v<Value, bool>) {
      value = in.boolean(field);
    } else if constexpr (std::is_same_v<Value, DataType>) {
      value = readDataType(in, field);
    } else if constexpr (std::is_enum_v<Value>) {
      value = readEnum(in, lastCode<Value>(version), field);
    } else if constexpr (std::is_same_v<Value, std::int32_t>) {
      value = in.i32(field);
    } else if constexpr (std::is_same_v<Value, std::uint32_t>) {
      value = in.u32(field);
    } else if constexpr (std::is_same_v<Value, std::int64_t>) {
      value = in.i64(field);
    } else if constexpr (std::is_same_v<Value, float>) {
      value = in.f32(field);
    } else if constexpr (std::is_same_v<Value, Dims>) {
      value = readDims(in, field);
    } else if constexpr (std::is_same_v<Value, network::Weights>) {
      value.type = readDataType(in, (full_name + ".type").c_str());
      value.bytes = in.byteArray((full_name + ".bytes").c_str());
    } else if constexpr (std::is_same_v<Value, std::vector<int>> || std::is_same_v<Value, std::vector<std::int64_t>> ||
                         std::is_same_v<Value, std::vector<float>>) {
      value = readAxisList<typename Value::value_type>(in, field);
    } else if constexpr (std::is_same_v<Value, std::vector<network::MlpStage>>) {
      // Each item takes at least one byte: the count is bounded by what remains before allocating.
      value.resize(in.count(field, 1));
      for (std::size_t i = 0; i < value.size(); ++i) {
        network::forEachField(value[i], FieldReader{in, version, full_name + "[" + std::to_string(i) + "]."});
      }
    } else {
      network::forEachField(value, FieldReader{in, version, full_name + "."});
    }
  }
};

// Smallest encodings, used to bound counts before allocating.
constexpr std::size_t kMinTensorBytes = 4 + 4 + 4 + 1 + 8 + 8;   // name, type, rank, role, offset, capacity
constexpr std::size_t kMinStepBytes = 4 + 1 + 4 + 4 + 4 + 1 + 9 + 4;  // ... + epilogue + tactic
constexpr std::size_t kMinProfileBytes = 3 * 4;
constexpr std::size_t kMinProgramBytes = 4 + 4 + 4 + 8;

bool fitsWithin(std::uint64_t offset, std::uint64_t length, std::uint64_t limit) noexcept {
  return offset <= limit && length <= limit - offset;
}

// Parses and validates a payload into an EnginePlan.
class PlanParser {
 public:
  PlanParser(const std::uint8_t* payload, std::size_t size, std::uint32_t version)
      : payload_(payload, size, kHeaderBytes, location_), version_(version) {}

  EnginePlan parse() {
    section(kMetaTag, &PlanParser::parseMeta);
    section(kTensorsTag, &PlanParser::parseTensors);
    section(kBindingsTag, &PlanParser::parseBindings);
    section(kStepsTag, &PlanParser::parseSteps);
    section(kProfilesTag, &PlanParser::parseProfiles);
    section(kWeightsTag, &PlanParser::parseWeights);
    section(kProgramsTag, &PlanParser::parsePrograms);
    if (payload_.remaining() != 0) {
      payload_.fail("end of payload", std::to_string(payload_.remaining()) + " unexpected bytes after the last section");
    }
    return std::move(plan_);
  }

 private:
  using SectionParser = void (PlanParser::*)(ByteReader&);

  void section(const char* expected_tag, SectionParser parse_body) {
    Location::Scope scope(location_, std::string("section ") + expected_tag);
    const std::size_t tag_at = payload_.offset();
    const std::array<char, kTagBytes> tag = payload_.tag("tag");
    if (std::memcmp(tag.data(), expected_tag, kTagBytes) != 0) {
      payload_.failAt(tag_at, "tag", "found " + quoted(std::string(tag.data(), kTagBytes)) + " where this section belongs");
    }
    const std::size_t length_at = payload_.offset();
    const std::uint64_t length = payload_.u64("length");
    if (length > payload_.remaining()) {
      payload_.failAt(length_at, "length",
                      std::to_string(length) + " bytes, but only " + std::to_string(payload_.remaining()) +
                          " bytes of the payload remain");
    }
    ByteReader body = payload_.take(static_cast<std::size_t>(length));
    (this->*parse_body)(body);
    if (body.remaining() != 0) body.fail("end of section", std::to_string(body.remaining()) + " unread bytes");
  }

  void parseMeta(ByteReader& in) {
    plan_.mlprt_version = in.text("mlprt_version");
    plan_.device.platform = in.string("device.platform");
    plan_.device.device = in.string("device.device");
    plan_.device.vendor = in.string("device.vendor");
    plan_.device.driver = in.string("device.driver");
    plan_.device.opencl_version = in.string("device.opencl_version");
    plan_.fp16 = in.boolean("fp16");
  }

  void parseTensors(ByteReader& in) {
    plan_.arena_bytes = in.u64("arena_bytes");
    const std::size_t count = in.count("tensor count", kMinTensorBytes);
    plan_.tensors.reserve(count);
    tensor_offsets_.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
      Location::Scope scope(location_, "tensor " + std::to_string(i));
      tensor_offsets_.push_back(in.offset());
      plan_.tensors.push_back(parseTensor(in, scope, i));
    }
  }

  PlanTensor parseTensor(ByteReader& in, Location::Scope& scope, std::size_t index) {
    PlanTensor tensor;
    tensor.name = in.text("name");
    scope.relabel("tensor " + std::to_string(index) + " " + quoted(tensor.name));
    tensor.type = readDataType(in, "type");
    tensor.shape = readDims(in, "shape");
    tensor.role = readEnum(in, kLastTensorRole, "role");
    tensor.offset = in.u64("offset");
    const std::size_t capacity_at = in.offset();
    tensor.capacity = in.u64("capacity");
    if (tensor.role == TensorRole::kActivation && !fitsWithin(tensor.offset, tensor.capacity, plan_.arena_bytes)) {
      in.failAt(capacity_at, "capacity",
                "offset " + std::to_string(tensor.offset) + " + capacity " + std::to_string(tensor.capacity) +
                    " lies outside the arena of " + std::to_string(plan_.arena_bytes) + " bytes");
    }
    if (tensor.role == TensorRole::kConstant) checkConstantFits(in, tensor, capacity_at);
    return tensor;
  }

  // A constant's shape is static and its bytes fit in its capacity (its place in the weights is
  // checked once the weights have been read).
  static void checkConstantFits(ByteReader& in, const PlanTensor& tensor, std::size_t capacity_at) {
    std::uint64_t bytes = elementSize(tensor.type);
    for (std::int64_t extent : tensor.shape.extents()) {
      if (extent < 0) in.failAt(capacity_at, "shape", "a constant's shape must not be dynamic");
      const auto size = static_cast<std::uint64_t>(extent);
      if (size != 0 && bytes > std::numeric_limits<std::uint64_t>::max() / size) {
        in.failAt(capacity_at, "shape", "a constant of shape " + tensor.shape.toString() + " has too many bytes");
      }
      bytes *= size;
    }
    if (bytes > tensor.capacity) {
      in.failAt(capacity_at, "capacity",
                std::to_string(tensor.capacity) + " bytes is less than the " + std::to_string(bytes) +
                    " bytes of its shape " + tensor.shape.toString());
    }
  }

  TensorId readTensorId(ByteReader& in, const char* field, bool allow_none = false) {
    const std::size_t at = in.offset();
    const TensorId id = in.i32(field);
    if (allow_none && id == -1) return id;
    if (id < 0 || static_cast<std::size_t>(id) >= plan_.tensors.size()) {
      in.failAt(at, field,
                "tensor id " + std::to_string(id) + " is out of range (the engine has " +
                    std::to_string(plan_.tensors.size()) + " tensors)");
    }
    return id;
  }

  std::vector<TensorId> readBindingList(ByteReader& in, const char* field, TensorRole role, const char* role_name) {
    const std::size_t count = in.count(field, 4);
    std::vector<TensorId> ids;
    ids.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
      const std::size_t at = in.offset();
      const TensorId id = readTensorId(in, field);
      const PlanTensor& tensor = plan_.tensors[static_cast<std::size_t>(id)];
      if (tensor.role != role) {
        in.failAt(at, field, "tensor " + std::to_string(id) + " " + quoted(tensor.name) + " does not have the role " + role_name);
      }
      if (!bound_names_.insert(tensor.name).second) {
        in.failAt(at, field, "a second input or output is named " + quoted(tensor.name));
      }
      ids.push_back(id);
    }
    return ids;
  }

  void parseBindings(ByteReader& in) {
    plan_.inputs = readBindingList(in, "inputs", TensorRole::kInput, "kInput");
    plan_.outputs = readBindingList(in, "outputs", TensorRole::kOutput, "kOutput");
  }

  void parseSteps(ByteReader& in) {
    const std::size_t count = in.count("step count", kMinStepBytes);
    plan_.steps.reserve(count);
    std::vector<bool> written(plan_.tensors.size(), false);
    for (std::size_t i = 0; i < count; ++i) {
      Location::Scope scope(location_, "step " + std::to_string(i));
      PlanStep step;
      step.name = in.text("name");
      scope.relabel("step " + std::to_string(i) + " " + quoted(step.name));
      step.parameters = readParameters(in);
      const std::size_t input_count = in.count("inputs", 4);
      step.inputs.reserve(input_count);
      for (std::size_t k = 0; k < input_count; ++k) step.inputs.push_back(readTensorId(in, "inputs"));
      step.output = readStepOutput(in, written);
      step.epilogue.bias = readTensorId(in, "epilogue.bias", true);
      step.epilogue.has_activation = in.boolean("epilogue.has_activation");
      network::forEachField(step.epilogue.activation, FieldReader{in, version_, "epilogue.activation."});
      const std::size_t tactic_at = in.offset();
      step.tactic = in.text("tactic");
      // Identity steps with a tactic (reformats between layouts) came with version 13; an older
      // reader would run them as copies.
      if (version_ < 13 && !step.tactic.empty() && std::holds_alternative<network::IdentityLayer>(step.parameters)) {
        in.failAt(tactic_at, "tactic", "an Identity step's tactic ('" + step.tactic + "') needs format version 13");
      }
      // Channels-last convolution tactics ("hwc_...") read their kernel LINEAR in version 13 and
      // channels-last from 14 on: a version-13 engine's kernels are stored the old way.
      if (version_ < 14 && std::holds_alternative<network::ConvolutionLayer>(step.parameters) &&
          step.tactic.rfind("hwc_", 0) == 0) {
        in.failAt(tactic_at, "tactic",
                  "channels-last convolution tactic '" + step.tactic + "' read its kernel LINEAR in format version " +
                      std::to_string(version_) + "; this mlprt reads it channels-last (version " +
                      std::to_string(kFormatVersion) + "): rebuild the engine");
      }
      // Two residuals, or one of x's trailing axes repeated, came with version 15; an older
      // reader would leave the second out.
      if (version_ < 15 && std::holds_alternative<network::NormalizationLayer>(step.parameters) &&
          step.inputs.size() > 4) {
        in.failAt(tactic_at, "inputs",
                  "a Normalization step with " + std::to_string(step.inputs.size() - 3) +
                      " residuals needs format version 15");
      }
      plan_.steps.push_back(std::move(step));
    }
    if (version_ >= 11 && in.remaining() > 0) parseTacticRanges(in);
    if (version_ >= 17 && in.remaining() > 0) parseResidualsAfterActivation(in);
  }

  // A trailer's step index: a step of the plan after `next` (the previous index + 1), which it
  // moves past this one.
  std::size_t readLaterStepIndex(ByteReader& in, std::size_t& next) {
    const std::size_t at = in.offset();
    const std::size_t index = in.u32("step index");
    if (index < next || index >= plan_.steps.size()) {
      in.failAt(at, "step index",
                "value " + std::to_string(index) + " is not a later step than the previous one (" +
                    std::to_string(plan_.steps.size()) + " steps)");
    }
    next = index + 1;
    return index;
  }

  // Version 11's optional trailer: the steps with tactic ranges, in ascending order.
  void parseTacticRanges(ByteReader& in) {
    Location::Scope scope(location_, "tactic ranges");
    const std::size_t count = in.count("steps with tactic ranges", 8);
    std::size_t next = 0;
    for (std::size_t k = 0; k < count; ++k) {
      const std::size_t index = readLaterStepIndex(in, next);
      plan_.steps[index].tactic_ranges = readTacticRanges(in);
    }
  }

  // Ascending indices of convolution steps that add a residual (input 3) after their activation.
  void parseResidualsAfterActivation(ByteReader& in) {
    Location::Scope scope(location_, "residuals after the activation");
    const std::size_t count = in.count("steps adding their residual after the activation", 4);
    std::size_t next = 0;
    for (std::size_t k = 0; k < count; ++k) {
      const std::size_t at = in.offset();
      const std::size_t index = readLaterStepIndex(in, next);
      PlanStep& step = plan_.steps[index];
      if (!std::holds_alternative<network::ConvolutionLayer>(step.parameters) || step.inputs.size() != 4) {
        in.failAt(at, "step index",
                  "step " + std::to_string(index) + " " + quoted(step.name) +
                      " is no convolution with a residual (input 3) to add after its activation");
      }
      step.epilogue.residual_after_activation = true;
    }
  }

  // Ascending bounds, the last unbounded, each with a tactic.
  std::vector<TacticRange> readTacticRanges(ByteReader& in) {
    const std::size_t count = in.count("tactic ranges", 12);
    std::vector<TacticRange> ranges(count);
    for (std::size_t k = 0; k < count; ++k) {
      const std::size_t at = in.offset();
      ranges[k].up_to_elements = in.i64("tactic range bound");
      const bool last = k + 1 == count;
      if ((k > 0 && ranges[k].up_to_elements <= ranges[k - 1].up_to_elements) || ranges[k].up_to_elements < 0 ||
          (last && ranges[k].up_to_elements != std::numeric_limits<std::int64_t>::max())) {
        in.failAt(at, "tactic range bound",
                  "value " + std::to_string(ranges[k].up_to_elements) +
                      (last ? " must be the largest 64-bit integer (the last range is unbounded)"
                            : " does not exceed the previous range's bound"));
      }
      ranges[k].tactic = in.text("tactic range tactic");
      if (ranges[k].tactic.empty()) in.failAt(at, "tactic range tactic", "a tactic range names no tactic");
    }
    return ranges;
  }

  LayerParameters readParameters(ByteReader& in) {
    const std::size_t at = in.offset();
    const std::uint8_t kind = in.u8("layer kind");
    if (kind >= kLayerKinds) {
      in.failAt(at, "layer kind",
                "value " + std::to_string(kind) + " is not a layer kind (0 to " + std::to_string(kLayerKinds - 1) + ")");
    }
    if (kind > lastLayerKind(version_)) {
      in.failAt(at, "layer kind",
                "value " + std::to_string(kind) + " is not a layer kind of format version " + std::to_string(version_) +
                    " (0 to " + std::to_string(lastLayerKind(version_)) + ")");
    }
    LayerParameters parameters = layerOfKind(kind);
    std::visit(
        [&](auto& layer) {
          network::forEachField(layer, FieldReader{in, version_, "", std::decay_t<decltype(layer)>::kName});
        },
        parameters);
    return parameters;
  }

  TensorId readStepOutput(ByteReader& in, std::vector<bool>& written) {
    const std::size_t at = in.offset();
    const TensorId output = readTensorId(in, "output");
    const auto index = static_cast<std::size_t>(output);
    const TensorRole role = plan_.tensors[index].role;
    if (role != TensorRole::kActivation && role != TensorRole::kOutput) {
      in.failAt(at, "output", "tensor " + std::to_string(output) + " is an input or a constant; no step may write it");
    }
    if (written[index]) in.failAt(at, "output", "tensor " + std::to_string(output) + " is written by an earlier step too");
    written[index] = true;
    return output;
  }

  void parseProfiles(ByteReader& in) {
    const std::size_t count = in.count("profile count", kMinProfileBytes);
    plan_.profiles.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
      Location::Scope scope(location_, "profile " + std::to_string(i));
      ProfileShapes profile;
      profile.min = readProfileShapes(in, "min");
      profile.opt = readProfileShapes(in, "opt");
      profile.max = readProfileShapes(in, "max");
      plan_.profiles.push_back(std::move(profile));
    }
    if (version_ >= 9) parseSharedExtents(in);
  }

  // Pairs of input axes with one extent: each names an input and an axis of its rank.
  void parseSharedExtents(ByteReader& in) {
    const std::size_t count = in.count("shared extent count", 4 * 4 + 4);
    for (std::size_t i = 0; i < count; ++i) {
      Location::Scope scope(location_, "shared extent " + std::to_string(i));
      SharedExtent shared;
      shared.first_input = checkedInputAxis(in, "first_input", "first_axis", shared.first_axis);
      shared.second_input = checkedInputAxis(in, "second_input", "second_axis", shared.second_axis);
      shared.label = in.text("label");
      plan_.shared_extents.push_back(std::move(shared));
    }
  }

  int checkedInputAxis(ByteReader& in, const char* input_field, const char* axis_field, int& axis) {
    const std::size_t at = in.offset();
    const std::int32_t input = in.i32(input_field);
    if (input < 0 || static_cast<std::size_t>(input) >= plan_.inputs.size()) {
      in.failAt(at, input_field, std::to_string(input) + " is not one of the " + std::to_string(plan_.inputs.size()) +
                                     " network inputs");
    }
    const std::size_t axis_at = in.offset();
    axis = in.i32(axis_field);
    const std::size_t rank = plan_.tensors[static_cast<std::size_t>(plan_.inputs[static_cast<std::size_t>(input)])].shape.rank();
    if (axis < 0 || static_cast<std::size_t>(axis) >= rank) {
      in.failAt(axis_at, axis_field, std::to_string(axis) + " is not an axis of a rank-" + std::to_string(rank) + " input");
    }
    return input;
  }

  // One of min/opt/max: a shape per network input, of that input's rank.
  std::vector<Dims> readProfileShapes(ByteReader& in, const char* field) {
    const std::size_t at = in.offset();
    const std::size_t count = in.count(field, 4);
    if (count != plan_.inputs.size()) {
      in.failAt(at, field,
                std::to_string(count) + " shapes for " + std::to_string(plan_.inputs.size()) + " network inputs");
    }
    std::vector<Dims> shapes;
    shapes.reserve(count);
    for (std::size_t k = 0; k < count; ++k) {
      const std::size_t dims_at = in.offset();
      shapes.push_back(readDims(in, field));
      const PlanTensor& input = plan_.tensors[static_cast<std::size_t>(plan_.inputs[k])];
      if (shapes.back().rank() != input.shape.rank()) {
        in.failAt(dims_at, field,
                  "shape " + shapes.back().toString() + " for input " + quoted(input.name) + " of rank " +
                      std::to_string(input.shape.rank()));
      }
    }
    return shapes;
  }

  void parseWeights(ByteReader& in) {
    plan_.weights = in.byteArray("weights");
    // Reported at the tensor's own bytes, in section TENS, which this check could not run in.
    for (std::size_t i = 0; i < plan_.tensors.size(); ++i) {
      const PlanTensor& tensor = plan_.tensors[i];
      if (tensor.role == TensorRole::kConstant && !fitsWithin(tensor.offset, tensor.capacity, plan_.weights.size())) {
        in.failAt(tensor_offsets_[i], "weights",
                  "constant tensor " + std::to_string(i) + " " + quoted(tensor.name) + " (offset " +
                      std::to_string(tensor.offset) + ", capacity " + std::to_string(tensor.capacity) +
                      ") lies outside the " + std::to_string(plan_.weights.size()) + " bytes of weights");
      }
    }
  }

  void parsePrograms(ByteReader& in) {
    const std::size_t count = in.count("program count", kMinProgramBytes);
    plan_.programs.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
      Location::Scope scope(location_, "program " + std::to_string(i));
      ProgramBinary program;
      program.family = in.text("family");
      program.options = in.text("options");
      program.source_hash = in.text("source_hash");
      program.binary = in.byteArray("binary");
      plan_.programs.push_back(std::move(program));
    }
  }

  Location location_;
  ByteReader payload_;
  EnginePlan plan_;
  std::uint32_t version_;
  std::vector<std::size_t> tensor_offsets_;  // where each tensor starts in the file
  std::set<std::string> bound_names_;  // of inputs and outputs: the runtime binds them by name
};

// The header checks, in the order the messages promise: magic, version, sizes, checksum.
void checkMagic(const std::uint8_t* data, std::size_t size) {
  if (size == 0) throw EngineFormatError("not an mlprt engine file: it is empty");
  const std::size_t compared = std::min(size, kMagic.size());
  if (std::memcmp(data, kMagic.data(), compared) != 0) {
    throw EngineFormatError("not an mlprt engine file: it does not start with \"MLPRTENG\"");
  }
  if (size < kHeaderBytes) {
    throw EngineFormatError("engine file is truncated: " + std::to_string(size) + " bytes, less than its " +
                            std::to_string(kHeaderBytes) + "-byte header");
  }
}

void checkVersion(const std::uint8_t* data) {
  const auto version = static_cast<std::uint32_t>(loadLittleEndian(data + kVersionOffset, 4));
  if (version > kFormatVersion) {
    throw EngineFormatError("engine file format version " + std::to_string(version) +
                            " is newer than this mlprt supports (up to " + std::to_string(kFormatVersion) +
                            "); rebuild the engine with this version");
  }
  if (version == 0) throw EngineFormatError("engine file is corrupted: format version 0 does not exist");
  const std::uint64_t reserved = loadLittleEndian(data + kReservedOffset, 4);
  if (reserved != 0) {
    throw EngineFormatError("engine file is corrupted: the reserved header field at byte " +
                            std::to_string(kReservedOffset) + " is " + std::to_string(reserved) + ", not 0");
  }
}

std::size_t checkPayloadSize(const std::uint8_t* data, std::size_t size) {
  const std::uint64_t payload_size = loadLittleEndian(data + kPayloadSizeOffset, 8);
  const std::size_t present = size - kHeaderBytes;
  if (payload_size > present) {
    throw EngineFormatError("engine file is truncated: the header announces a payload of " +
                            std::to_string(payload_size) + " bytes but only " + std::to_string(present) +
                            " bytes follow the header");
  }
  if (payload_size < present) {
    throw EngineFormatError("engine file is corrupted: " + std::to_string(present - payload_size) +
                            " unexpected bytes follow the " + std::to_string(payload_size) + "-byte payload");
  }
  return static_cast<std::size_t>(payload_size);
}

void checkChecksum(const std::uint8_t* data, std::size_t payload_size) {
  const std::uint64_t expected = loadLittleEndian(data + kChecksumOffset, 8);
  const std::uint64_t actual = fnv1a64(data + kHeaderBytes, payload_size);
  if (expected != actual) {
    throw EngineFormatError("engine file is corrupted: checksum mismatch (the header says " + hex(expected) +
                            ", the payload hashes to " + hex(actual) + ")");
  }
}

}  // namespace

std::vector<std::uint8_t> serializePlan(const EnginePlan& plan) {
  ByteWriter out;
  out.bytes().resize(kHeaderBytes);  // filled in last, once the checksum is known
  const auto section = [&out, &plan](const char* tag, void (*write_body)(ByteWriter&, const EnginePlan&)) {
    const std::size_t length_at = out.beginSection(tag);
    write_body(out, plan);
    out.endSection(length_at);
  };
  section(kMetaTag, writeMeta);
  section(kTensorsTag, writeTensors);
  section(kBindingsTag, writeBindings);
  section(kStepsTag, writeSteps);
  section(kProfilesTag, writeProfiles);
  section(kWeightsTag, writeWeights);
  section(kProgramsTag, writePrograms);
  writeHeader(out.bytes());
  return std::move(out.bytes());
}

EnginePlan deserializePlan(const std::uint8_t* data, std::size_t size) {
  if (data == nullptr && size != 0) throw EngineFormatError("engine file data is null but its size is " + std::to_string(size));
  checkMagic(data, size);
  checkVersion(data);
  const std::size_t payload_size = checkPayloadSize(data, size);
  checkChecksum(data, payload_size);
  const auto version = static_cast<std::uint32_t>(loadLittleEndian(data + kVersionOffset, 4));
  return PlanParser(data + kHeaderBytes, payload_size, version).parse();
}

bool looksLikeEngine(const std::uint8_t* data, std::size_t size) noexcept {
  return data != nullptr && size >= kHeaderBytes && std::memcmp(data, kMagic.data(), kMagic.size()) == 0;
}

}  // namespace mlprt::engine
