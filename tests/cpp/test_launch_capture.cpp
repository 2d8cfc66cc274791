// Launch captures (backend/opencl/launch_capture.h): kernel launches recorded while a step ran,
// replayed later with the arguments they had, and refused when replaying would not repeat the step.
// Kernel-timing logs (kernel_timing.h), which the same launch paths feed, are tested here too.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "backend/opencl/copy.h"
#include "backend/opencl/kernel_timing.h"
#include "backend/opencl/launch_capture.h"
#include "backend/opencl/program.h"
#include "core/error.h"
#include "test_util.h"

namespace mlprt::test {
namespace {

// y = a * x + y, with a local scratch argument so that local-memory sizes are captured too.
const char kSaxpy[] = R"(
__kernel void saxpy(const float a, __global const float* x, __global float* y, __local float* scratch,
                    const int n) {
  const int i = get_global_id(0);
  scratch[get_local_id(0)] = i < n ? x[i] : 0.0f;
  barrier(CLK_LOCAL_MEM_FENCE);
  if (i < n) y[i] = a * scratch[get_local_id(0)] + y[i];
}
)";

constexpr std::size_t kGroup = 16;

class LaunchCaptureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    program_ = cl::Program::build(context(), kSaxpy);
    stream_ = cl::Stream::create(context());
    kernel_ = std::make_unique<cl::Kernel>(program_, "saxpy");
  }

  std::shared_ptr<cl::DeviceBuffer> filled(const std::vector<float>& values) {
    auto buffer = allocate(values.size() * sizeof(float));
    upload(*stream_, at(buffer), values);
    return buffer;
  }

  // Sets every argument of the shared kernel and launches it over n (an awkward n: rounded up).
  void launchSaxpy(float a, const cl::DeviceBuffer& x, const cl::DeviceBuffer& y, int n) {
    kernel_->setValue(0, a);
    kernel_->setBuffer(1, x);
    kernel_->setBuffer(2, y);
    kernel_->setArgument(3, kGroup * sizeof(float), nullptr);
    kernel_->setValue(4, n);
    const std::size_t global = (static_cast<std::size_t>(n) + kGroup - 1) / kGroup * kGroup;
    kernel_->launch(*stream_, {global}, {kGroup});
  }

  std::shared_ptr<const cl::Program> program_;
  std::shared_ptr<cl::Stream> stream_;
  std::unique_ptr<cl::Kernel> kernel_;
};

TEST_F(LaunchCaptureTest, ReplayRepeatsTheCapturedArgumentsAfterTheKernelWasReused) {
  const int n = 37;
  const std::vector<float> x = randomFloats(n, 1), y = randomFloats(n, 2), other = randomFloats(n, 3);
  const auto x_buffer = filled(x), y_buffer = filled(y), other_buffer = filled(other);

  cl::LaunchCapture capture({x_buffer->mem(), y_buffer->mem()});
  {
    cl::CaptureScope scope(capture);
    launchSaxpy(0.5f, *x_buffer, *y_buffer, n);
  }
  ASSERT_TRUE(capture.replayable()) << capture.whyNotReplayable();
  EXPECT_EQ(capture.launchCount(), 1u);
  EXPECT_EQ(capture.whyNotReplayable(), "");

  // The cached kernel now runs with other arguments; the capture keeps its own copy.
  launchSaxpy(-3.0f, *x_buffer, *other_buffer, 5);
  capture.replay(*stream_);
  capture.replay(*stream_);
  const std::vector<float> result = download<float>(*stream_, at(y_buffer), n);
  for (int i = 0; i < n; ++i) {
    const float once = 0.5f * x[i] + y[i];
    const float twice = 0.5f * x[i] + once;
    EXPECT_FLOAT_EQ(result[i], 0.5f * x[i] + twice) << "element " << i;
  }
  const std::vector<float> changed = download<float>(*stream_, at(other_buffer), n);
  for (int i = 0; i < n; ++i) EXPECT_FLOAT_EQ(changed[i], i < 5 ? -3.0f * x[i] + other[i] : other[i]);
}

TEST_F(LaunchCaptureTest, ACopyInTheStepMakesTheCaptureForeign) {
  const std::vector<float> x = randomFloats(8, 4);
  const auto x_buffer = filled(x), y_buffer = filled(x);
  cl::LaunchCapture capture({x_buffer->mem(), y_buffer->mem()});
  {
    cl::CaptureScope scope(capture);
    launchSaxpy(1.0f, *x_buffer, *y_buffer, 8);
    cl::copyDeviceToDevice(*stream_, at(y_buffer), at(x_buffer), 8 * sizeof(float), cl::CopyMode::kAsync);
  }
  EXPECT_FALSE(capture.replayable());
  EXPECT_EQ(capture.launchCount(), 0u);
  EXPECT_NE(capture.whyNotReplayable().find("other than kernel launches"), std::string::npos);
  EXPECT_THROW(capture.replay(*stream_), InvalidArgument);
}

TEST_F(LaunchCaptureTest, AMarkerOrAHoldInTheStepMakesTheCaptureForeign) {
  cl::LaunchCapture marked({}), held({});
  {
    cl::CaptureScope scope(marked);
    stream_->record();
  }
  {
    cl::CaptureScope scope(held);
    stream_->holdUntilQueuedWorkRan(std::make_shared<int>(1));
  }
  EXPECT_FALSE(marked.replayable());
  EXPECT_FALSE(held.replayable());
  stream_->synchronize();
}

TEST_F(LaunchCaptureTest, ABufferOutsideTheLastingOnesIsRefusedByName) {
  const std::vector<float> x = randomFloats(8, 5);
  const auto x_buffer = filled(x), temporary = filled(x);
  cl::LaunchCapture capture({x_buffer->mem()});
  {
    cl::CaptureScope scope(capture);
    launchSaxpy(1.0f, *x_buffer, *temporary, 8);
  }
  EXPECT_FALSE(capture.replayable());
  EXPECT_EQ(capture.whyNotReplayable(), "kernel 'saxpy' argument 2 is a buffer the step does not keep (a temporary)");
}

TEST_F(LaunchCaptureTest, AnotherThreadsCommandsNeitherEnterNorSpoilTheCapture) {
  const std::vector<float> x = randomFloats(8, 6);
  const auto x_buffer = filled(x), y_buffer = filled(x), z_buffer = filled(x);
  cl::LaunchCapture capture({x_buffer->mem(), y_buffer->mem()});
  {
    cl::CaptureScope scope(capture);
    launchSaxpy(1.0f, *x_buffer, *y_buffer, 8);
    std::thread other([&] {
      EXPECT_EQ(cl::activeCapture(), nullptr);
      cl::Kernel kernel(program_, "saxpy");
      kernel.setValue(0, 2.0f);
      kernel.setBuffer(1, *x_buffer);
      kernel.setBuffer(2, *z_buffer);
      kernel.setArgument(3, kGroup * sizeof(float), nullptr);
      kernel.setValue(4, 8);
      kernel.launch(*stream_, {kGroup}, {kGroup});
      cl::copyDeviceToDevice(*stream_, at(z_buffer), at(x_buffer), 4, cl::CopyMode::kAsync);
    });
    other.join();
    EXPECT_EQ(cl::activeCapture(), &capture);
  }
  EXPECT_EQ(cl::activeCapture(), nullptr);
  EXPECT_TRUE(capture.replayable()) << capture.whyNotReplayable();
  EXPECT_EQ(capture.launchCount(), 1u);
  stream_->synchronize();
}

TEST_F(LaunchCaptureTest, ScopesNestAndRestoreTheOuterCapture) {
  cl::LaunchCapture outer({}), inner({});
  {
    cl::CaptureScope outer_scope(outer);
    {
      cl::CaptureScope inner_scope(inner);
      EXPECT_EQ(cl::activeCapture(), &inner);
    }
    EXPECT_EQ(cl::activeCapture(), &outer);
  }
  EXPECT_EQ(cl::activeCapture(), nullptr);
}

TEST_F(LaunchCaptureTest, ATimingLogGetsAnEventPerLaunchAndPerReplayedLaunch) {
  const int n = 4099;
  const std::vector<float> x = randomFloats(n, 5);
  const auto x_buffer = filled(x), y_buffer = filled(x);
  cl::LaunchCapture capture({x_buffer->mem(), y_buffer->mem()});
  cl::KernelTimingLog log;
  {
    cl::KernelTimingScope timing(log);
    {
      cl::CaptureScope scope(capture);
      launchSaxpy(2.0f, *x_buffer, *y_buffer, n);
    }
    capture.replay(*stream_);
  }
  launchSaxpy(2.0f, *x_buffer, *y_buffer, n);  // outside the scope: not logged
  EXPECT_TRUE(capture.replayable()) << capture.whyNotReplayable();
  EXPECT_TRUE(log.complete());
  EXPECT_EQ(log.kernelCount(), 2u);
  const double milliseconds = log.kernelMilliseconds();
  EXPECT_GT(milliseconds, 0.0);
  EXPECT_LT(milliseconds, 1000.0);
  // The logged launches still did their work: y = x + 3 * (2 x).
  const std::vector<float> result = download<float>(*stream_, at(y_buffer), n);
  for (int i = 0; i < n; i += 97) EXPECT_FLOAT_EQ(result[i], 7.0f * x[i]) << "element " << i;
}

TEST_F(LaunchCaptureTest, ACopyOrAMarkerUnderATimingLogMakesItIncomplete) {
  const std::vector<float> x = randomFloats(8, 6);
  const auto x_buffer = filled(x), y_buffer = filled(x);
  cl::KernelTimingLog copied, marked, outer, inner;
  {
    cl::KernelTimingScope timing(copied);
    launchSaxpy(1.0f, *x_buffer, *y_buffer, 8);
    cl::copyDeviceToDevice(*stream_, at(y_buffer), at(x_buffer), 8 * sizeof(float), cl::CopyMode::kAsync);
  }
  {
    cl::KernelTimingScope timing(marked);
    stream_->record();
  }
  {
    cl::KernelTimingScope outer_scope(outer);
    {
      cl::KernelTimingScope inner_scope(inner);
      launchSaxpy(1.0f, *x_buffer, *y_buffer, 8);
    }
    launchSaxpy(1.0f, *x_buffer, *y_buffer, 8);
  }
  EXPECT_FALSE(copied.complete());
  EXPECT_EQ(copied.kernelCount(), 1u);
  EXPECT_FALSE(marked.complete());
  EXPECT_TRUE(inner.complete());
  EXPECT_EQ(inner.kernelCount(), 1u);
  EXPECT_EQ(outer.kernelCount(), 1u);  // the outer scope is restored after the inner one
  EXPECT_EQ(cl::activeKernelTimingLog(), nullptr);
  stream_->synchronize();
}

}  // namespace
}  // namespace mlprt::test
