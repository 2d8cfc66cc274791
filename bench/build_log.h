// What NVIDIA's compiler said about a program, for the bench/ tools that report registers and
// spills (mma_profile.cpp, conv_profile.cpp): build with -cl-nv-verbose, then print
// resourceLines(buildLog(...)).
#pragma once
#include <string>

#include "backend/opencl/cl.h"

namespace bench {

// The program's build log for `device`, without trailing blanks.
inline std::string buildLog(cl_program program, cl_device_id device) {
  std::size_t size = 0;
  clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, 0, nullptr, &size);
  std::string log(size, '\0');
  if (size > 0) clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, size, &log[0], nullptr);
  while (!log.empty() && (log.back() == '\0' || log.back() == '\n' || log.back() == ' ')) log.pop_back();
  return log;
}

// The lines of a build log that say something about resources (ptxas info) or errors, indented.
inline std::string resourceLines(const std::string& log) {
  std::string lines;
  std::size_t start = 0;
  while (start < log.size()) {
    std::size_t end = log.find('\n', start);
    if (end == std::string::npos) end = log.size();
    const std::string line = log.substr(start, end - start);
    if (line.find("ptxas") != std::string::npos || line.find("error") != std::string::npos) {
      lines += "    " + line + "\n";
    }
    start = end + 1;
  }
  return lines;
}

}  // namespace bench
