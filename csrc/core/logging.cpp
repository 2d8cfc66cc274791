#include "core/logging.h"

#include <atomic>
#include <iostream>
#include <mutex>

namespace mlprt {
namespace {

struct SinkState {
  std::mutex mutex;
  LogSink sink;
  std::atomic<int> min_severity{static_cast<int>(Severity::kWARNING)};
};

SinkState& state() {
  static SinkState instance;
  return instance;
}

}  // namespace

const char* severityName(Severity severity) noexcept {
  switch (severity) {
    case Severity::kINTERNAL_ERROR: return "INTERNAL_ERROR";
    case Severity::kERROR: return "ERROR";
    case Severity::kWARNING: return "WARNING";
    case Severity::kINFO: return "INFO";
    case Severity::kVERBOSE: return "VERBOSE";
  }
  return "UNKNOWN";
}

void setLogSink(LogSink sink, Severity min_severity) {
  std::lock_guard<std::mutex> lock(state().mutex);
  state().sink = std::move(sink);
  state().min_severity = static_cast<int>(min_severity);
}

void resetLogSink() { setLogSink(nullptr, Severity::kWARNING); }

bool logEnabled(Severity severity) noexcept {
  return static_cast<int>(severity) <= state().min_severity.load();
}

void log(Severity severity, const std::string& message) {
  if (!logEnabled(severity)) return;
  LogSink sink;
  {
    std::lock_guard<std::mutex> lock(state().mutex);
    sink = state().sink;
  }
  // The sink runs outside the lock so that it may itself log or take other locks.
  if (sink) {
    sink(severity, message);
  } else {
    std::cerr << "[mlprt] " << severityName(severity) << ": " << message << std::endl;
  }
}

}  // namespace mlprt
