// Process-wide logging with TensorRT's severities. The core writes through `log()`; a sink set
// by the embedding application (the Python module routes it to mlprt.Logger) receives messages at
// or above its minimum severity. Without a sink, warnings and errors go to stderr.
#pragma once

#include <functional>
#include <memory>
#include <string>

namespace mlprt {

enum class Severity : int {
  kINTERNAL_ERROR = 0,
  kERROR = 1,
  kWARNING = 2,
  kINFO = 3,
  kVERBOSE = 4,
};

const char* severityName(Severity severity) noexcept;

using LogSink = std::function<void(Severity, const std::string&)>;

// Replaces the sink; messages more verbose than `min_severity` are dropped before formatting.
void setLogSink(LogSink sink, Severity min_severity);
void resetLogSink();

bool logEnabled(Severity severity) noexcept;
void log(Severity severity, const std::string& message);

}  // namespace mlprt
