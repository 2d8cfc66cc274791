// The one place that includes the OpenCL headers, so every file targets the same API version.
// OpenCL 1.2 is the newest version that NVIDIA, AMD, Intel and PoCL all implement fully.
#pragma once

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>

#include <string>

namespace mlprt::cl {

// The symbolic name of an OpenCL status code, e.g. "CL_OUT_OF_RESOURCES".
const char* statusName(cl_int status) noexcept;

// Throws OpenCLError ("<what> failed: CL_...") unless status is CL_SUCCESS. Allocation
// failures throw OutOfMemory so that callers can tell them apart.
void check(cl_int status, const std::string& what);

}  // namespace mlprt::cl
