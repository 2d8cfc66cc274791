// Whether kernels on a device can read and write pinned host memory through its host address.
//
// NVIDIA's OpenCL driver maps pinned host memory into the GPU's address space (unified virtual
// addressing): a kernel handed the host pointer as a 64-bit integer reads and writes the host's
// memory over the bus, with no copy command. On CPU devices host pointers are device pointers.
// Execution contexts use this for inputs and outputs bound to pinned host memory; elsewhere
// they copy. OpenCL 1.2 promises none of this, so it is used only where a probe, run in a
// throwaway context, gave the right values.
#pragma once

#include <optional>
#include <string>

#include "backend/opencl/context.h"

namespace mlprt::cl {

// True when kernels on the context's device may take pinned host addresses. The probe runs once
// per device and process. MLPRT_HOST_ADDRESSING=0 in the environment turns the feature off.
bool kernelsReadPinnedHostMemory(const Context& context);

// Why the answer is what it is, for logs and diagnostics.
std::string pinnedHostAccessReport(const Context& context);

// Test hook: forces the answer for every device (nullopt: back to the probe).
void overridePinnedHostAccess(std::optional<bool> allowed);

}  // namespace mlprt::cl
