// libFuzzer target over the engine file reader (csrc/engine/format.cpp).
//
// Each input is read twice:
//  1. as it is: the header checks (magic, version, reserved field, sizes, checksum) see it;
//  2. with its first 32 bytes replaced by a header that is valid for the bytes after them
//     (version kept in range, payload size and checksum recomputed), so that mutations reach the
//     payload parser instead of stopping at the checksum.
// Either read must return a plan or throw EngineFormatError; any other exception escapes and
// libFuzzer reports it, as it reports ASan/UBSan errors, timeouts and (with -malloc_limit_mb)
// allocations larger than the limit. A plan that is accepted must also survive a round trip:
// writing it gives back exactly the payload it was read from (the encoding has one spelling per
// plan), and reading that again gives the same bytes once more.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/hash.h"
#include "engine/format.h"

namespace {

namespace eng = mlprt::engine;
using Bytes = std::vector<std::uint8_t>;

constexpr std::size_t kHeaderBytes = 32;

[[noreturn]] void finding(const char* what) {
  std::fprintf(stderr, "fuzz_engine_format: %s\n", what);
  std::abort();
}

void storeLittleEndian(std::uint8_t* at, std::uint64_t value, std::size_t width) {
  for (std::size_t i = 0; i < width; ++i) at[i] = static_cast<std::uint8_t>(value >> (8 * i));
}

// The input with a header that passes every header check, its version taken from the input's
// version field folded into 1..kFormatVersion (both versions of the payload get fuzzed).
Bytes withValidHeader(const std::uint8_t* data, std::size_t size) {
  Bytes file(data, data + size);
  std::memcpy(file.data(), "MLPRTENG", 8);
  const std::uint32_t version = 1 + file[8] % eng::kFormatVersion;
  storeLittleEndian(file.data() + 8, version, 4);
  storeLittleEndian(file.data() + 12, 0, 4);
  const std::size_t payload_size = size - kHeaderBytes;
  storeLittleEndian(file.data() + 16, payload_size, 8);
  storeLittleEndian(file.data() + 24, mlprt::fnv1a64(file.data() + kHeaderBytes, payload_size), 8);
  return file;
}

// Writing an accepted plan reproduces its payload (when it was read at the version the writer
// writes: version 9 added a field to the profiles section), and the written file reads back to
// itself.
void checkRoundTrip(const eng::EnginePlan& plan, std::uint32_t version, const std::uint8_t* payload,
                    std::size_t payload_size) {
  const Bytes written = eng::serializePlan(plan);
  if (version == eng::kFormatVersion && (written.size() != kHeaderBytes + payload_size ||
                                         std::memcmp(written.data() + kHeaderBytes, payload, payload_size) != 0)) {
    finding("an accepted payload is written back differently");
  }
  const Bytes rewritten = eng::serializePlan(eng::deserializePlan(written.data(), written.size()));
  if (rewritten != written) finding("a written plan does not read back to the same bytes");
}

// Reads `file`; a plan or an EngineFormatError are the only allowed results.
void read(const std::uint8_t* file, std::size_t size) {
  try {
    const eng::EnginePlan plan = eng::deserializePlan(file, size);
    const auto version = static_cast<std::uint32_t>(file[8] | file[9] << 8 | file[10] << 16 | file[11] << 24);
    checkRoundTrip(plan, version, file + kHeaderBytes, size - kHeaderBytes);
  } catch (const eng::EngineFormatError&) {
    // The clean refusal every malformed file must end in.
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  read(data, size);
  if (size >= kHeaderBytes) {
    const Bytes fixed = withValidHeader(data, size);
    read(fixed.data(), fixed.size());
  }
  return 0;
}
