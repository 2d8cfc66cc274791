// IHostMemory: bytes owned by C++ (a serialized engine, a timing cache) that Python reads
// through the buffer protocol without a copy: bytes(plan), len(plan), file.write(plan).
#pragma once

#include <cstdint>
#include <vector>

namespace mlprt::python {

struct HostMemory {
  std::vector<std::uint8_t> bytes;
};

}  // namespace mlprt::python
