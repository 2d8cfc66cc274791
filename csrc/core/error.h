// Exceptions thrown by the mlprt core. Every error carries a message that names the thing at
// fault; the Python module translates each kind once, at the boundary, to a Python exception.
#pragma once

#include <stdexcept>
#include <string>

namespace mlprt {

// Base of every mlprt exception (maps to mlprt.Error, a RuntimeError).
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A caller passed a bad value: a wrong size, an unknown name, a freed handle (maps to ValueError).
class InvalidArgument : public Error {
 public:
  using Error::Error;
};

// A device or host allocation could not be satisfied (maps to MemoryError).
class OutOfMemory : public Error {
 public:
  using Error::Error;
};

// An OpenCL call failed; `code` is the OpenCL status (maps to mlprt.OpenCLError).
class OpenCLError : public Error {
 public:
  OpenCLError(const std::string& message, int code) : Error(message), code_(code) {}
  int code() const noexcept { return code_; }

 private:
  int code_;
};

// A kernel failed to compile; the message holds the compiler's build log (maps to mlprt.BuildError).
class BuildError : public Error {
 public:
  using Error::Error;
};

}  // namespace mlprt
