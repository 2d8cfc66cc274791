// The process-wide log sink and its severity filter.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "core/logging.h"

namespace mlprt {
namespace {

using Entry = std::pair<Severity, std::string>;

// Installs a recording sink for the test and restores the default sink afterwards.
class Logging : public ::testing::Test {
 protected:
  void TearDown() override { resetLogSink(); }

  void record(Severity min_severity) {
    setLogSink([this](Severity severity, const std::string& message) {
      entries_.emplace_back(severity, message);
    }, min_severity);
  }

  static void logOneOfEach() {
    log(Severity::kINTERNAL_ERROR, "internal");
    log(Severity::kERROR, "error");
    log(Severity::kWARNING, "warning");
    log(Severity::kINFO, "info");
    log(Severity::kVERBOSE, "verbose");
  }

  std::vector<Entry> entries_;
};

TEST_F(Logging, SinkReceivesMessagesAtOrAboveMinimumSeverity) {
  record(Severity::kINFO);
  logOneOfEach();
  const std::vector<Entry> expected = {{Severity::kINTERNAL_ERROR, "internal"},
                                       {Severity::kERROR, "error"},
                                       {Severity::kWARNING, "warning"},
                                       {Severity::kINFO, "info"}};
  EXPECT_EQ(entries_, expected);
}

TEST_F(Logging, MinimumSeverityIsHonouredAtEachLevel) {
  const std::vector<Severity> levels = {Severity::kINTERNAL_ERROR, Severity::kERROR,
                                        Severity::kWARNING, Severity::kINFO, Severity::kVERBOSE};
  for (Severity minimum : levels) {
    SCOPED_TRACE(severityName(minimum));
    entries_.clear();
    record(minimum);
    logOneOfEach();
    ASSERT_EQ(entries_.size(), static_cast<std::size_t>(minimum) + 1);
    for (const Entry& entry : entries_) EXPECT_LE(entry.first, minimum);
    for (Severity level : levels) EXPECT_EQ(logEnabled(level), level <= minimum);
  }
}

TEST_F(Logging, ResetRestoresDefaultFilterAndDropsTheSink) {
  record(Severity::kVERBOSE);
  EXPECT_TRUE(logEnabled(Severity::kVERBOSE));
  resetLogSink();
  EXPECT_TRUE(logEnabled(Severity::kWARNING));
  EXPECT_FALSE(logEnabled(Severity::kINFO));
  EXPECT_FALSE(logEnabled(Severity::kVERBOSE));
  ::testing::internal::CaptureStderr();
  log(Severity::kWARNING, "to stderr");
  log(Severity::kINFO, "dropped");
  const std::string stderr_text = ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(entries_.empty());
  EXPECT_NE(stderr_text.find("WARNING: to stderr"), std::string::npos) << stderr_text;
  EXPECT_EQ(stderr_text.find("dropped"), std::string::npos) << stderr_text;
}

TEST_F(Logging, SinkMayLogFromInsideItself) {
  int calls = 0;
  setLogSink([&calls](Severity severity, const std::string& message) {
    ++calls;
    if (severity == Severity::kERROR) log(Severity::kWARNING, "nested: " + message);
  }, Severity::kWARNING);
  log(Severity::kERROR, "outer");
  EXPECT_EQ(calls, 2);
}

TEST(SeverityName, NamesEverySeverity) {
  EXPECT_STREQ(severityName(Severity::kINTERNAL_ERROR), "INTERNAL_ERROR");
  EXPECT_STREQ(severityName(Severity::kERROR), "ERROR");
  EXPECT_STREQ(severityName(Severity::kWARNING), "WARNING");
  EXPECT_STREQ(severityName(Severity::kINFO), "INFO");
  EXPECT_STREQ(severityName(Severity::kVERBOSE), "VERBOSE");
}

}  // namespace
}  // namespace mlprt
