// Execution contexts of one engine on several threads: every result equals the single-threaded
// one bit for bit, and one context used from two threads at once refuses the second caller and
// keeps working. scripts/sanitize.sh also runs these tests under ThreadSanitizer.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "builder/builder.h"
#include "core/error.h"
#include "core/logging.h"
#include "runtime/engine.h"
#include "runtime/execution_context.h"
#include "test_util.h"

namespace mlprt::test {
namespace {

using network::Network;
using network::TensorId;

constexpr std::int64_t kInputs = 16;
constexpr std::int64_t kHidden = 24;
constexpr std::int64_t kOutputs = 8;
constexpr std::int64_t kMaxRows = 32;
constexpr const char* kInUse = "in use by another thread";

// x (rows, 16) -> Linear 24 -> ReLU -> Linear 8 = y, rows from 1 to 32.
struct TwoLayerMlp {
  std::vector<float> w1 = randomFloats(kInputs * kHidden, 11);
  std::vector<float> b1 = randomFloats(kHidden, 12);
  std::vector<float> w2 = randomFloats(kHidden * kOutputs, 13);
  std::vector<float> b2 = randomFloats(kOutputs, 14);

  Network network() const {
    Network net;
    const TensorId x = net.addInput("x", DataType::kFLOAT, Dims{-1, kInputs});
    TensorId h = addLayer(net, network::MatrixMultiplyLayer{}, {x, addConstant(net, Dims{kInputs, kHidden}, w1)});
    h = addLayer(net, network::ElementWiseLayer{ElementWiseOperation::kSUM}, {h, addConstant(net, Dims{kHidden}, b1)});
    h = addLayer(net, network::ActivationLayer{ActivationType::kRELU}, {h});
    TensorId y = addLayer(net, network::MatrixMultiplyLayer{}, {h, addConstant(net, Dims{kHidden, kOutputs}, w2)});
    y = addLayer(net, network::ElementWiseLayer{ElementWiseOperation::kSUM}, {y, addConstant(net, Dims{kOutputs}, b2)});
    net.setTensorName(y, "y");
    net.markOutput(y);
    return net;
  }

  std::vector<double> reference(const std::vector<float>& x, std::int64_t rows) const {
    std::vector<double> out(static_cast<std::size_t>(rows * kOutputs));
    std::vector<double> hidden(kHidden);
    for (std::int64_t r = 0; r < rows; ++r) {
      for (std::int64_t j = 0; j < kHidden; ++j) {
        double sum = b1[j];
        for (std::int64_t i = 0; i < kInputs; ++i) sum += double(x[r * kInputs + i]) * w1[i * kHidden + j];
        hidden[j] = std::max(0.0, sum);
      }
      for (std::int64_t j = 0; j < kOutputs; ++j) {
        double sum = b2[j];
        for (std::int64_t i = 0; i < kHidden; ++i) sum += hidden[i] * w2[i * kOutputs + j];
        out[r * kOutputs + j] = sum;
      }
    }
    return out;
  }
};

std::vector<float> inputFor(std::int64_t rows) {
  return randomFloats(static_cast<std::size_t>(rows * kInputs), static_cast<std::uint32_t>(100 + rows));
}

// One execution context with its own stream and I/O buffers sized for the largest batch. The
// buffers are allocated again every `reallocate_every` inferences, so the shared address
// registry and the context's rebinding path are exercised too.
class Runner {
 public:
  Runner(runtime::ExecutionContext& execution, int reallocate_every)
      : execution_(execution), stream_(cl::Stream::create(context())), reallocate_every_(reallocate_every) {}

  std::vector<float> infer(const std::vector<float>& x, std::int64_t rows) {
    if (count_++ % reallocate_every_ == 0) bindFreshBuffers();
    if (!execution_.setInputShape("x", Dims{rows, kInputs})) throw Error("set_input_shape refused " + std::to_string(rows));
    upload(*stream_, at(input_), x);
    execution_.enqueue(*stream_);
    return download<float>(*stream_, at(output_), static_cast<std::size_t>(rows * kOutputs));
  }

  cl::Stream& stream() { return *stream_; }

 private:
  void bindFreshBuffers() {
    input_ = allocate(kMaxRows * kInputs * sizeof(float));
    output_ = allocate(kMaxRows * kOutputs * sizeof(float));
    execution_.setTensorAddress("x", input_->address());
    execution_.setTensorAddress("y", output_->address());
  }

  runtime::ExecutionContext& execution_;
  std::shared_ptr<cl::Stream> stream_;
  std::shared_ptr<cl::DeviceBuffer> input_;
  std::shared_ptr<cl::DeviceBuffer> output_;
  int reallocate_every_;
  int count_ = 0;
};

std::vector<std::uint8_t> buildTwoLayerMlp() {
  builder::BuilderConfig config;
  builder::OptimizationProfile profile;
  profile.setShape("x", Dims{1, kInputs}, Dims{8, kInputs}, Dims{kMaxRows, kInputs});
  config.addOptimizationProfile(profile);
  return builder::buildSerializedNetwork(TwoLayerMlp().network(), config);
}

// Largest |y - reference| relative to 1 + |reference|.
double relativeError(const std::vector<float>& y, const std::vector<double>& reference) {
  double error = 0.0;
  for (std::size_t i = 0; i < y.size(); ++i) error = std::max(error, std::abs(y[i] - reference[i]) / (1 + std::abs(reference[i])));
  return y.size() == reference.size() ? error : 1e30;
}

class RuntimeThreads : public ::testing::Test {
 protected:
  // One engine and its single-threaded results for every batch size, shared by the tests.
  static void SetUpTestSuite() {
    const std::vector<std::uint8_t> bytes = buildTwoLayerMlp();
    engine_ = runtime::Engine::deserialize(context(), bytes.data(), bytes.size());
    runtime::ExecutionContext execution(engine_);
    Runner runner(execution, 5);
    for (std::int64_t rows = 1; rows <= kMaxRows; ++rows) expected_[rows] = runner.infer(inputFor(rows), rows);
  }
  static void TearDownTestSuite() {
    expected_.clear();
    engine_.reset();
  }

  static std::shared_ptr<const runtime::Engine> engine_;
  static std::map<std::int64_t, std::vector<float>> expected_;
};

std::shared_ptr<const runtime::Engine> RuntimeThreads::engine_;
std::map<std::int64_t, std::vector<float>> RuntimeThreads::expected_;

TEST_F(RuntimeThreads, SingleThreadedResultsMatchTheReference) {
  // The baseline the other tests compare with is itself right (not, say, all zeros).
  const TwoLayerMlp model;
  for (const auto& [rows, y] : expected_) {
    EXPECT_LE(relativeError(y, model.reference(inputFor(rows), rows)), 1e-4) << "rows " << rows;
  }
}

TEST_F(RuntimeThreads, TwoBuildsAndLoadsOnTwoThreadsGiveWorkingEngines) {
  // Builds share the program cache, the device registry and the kernel sources; loads share the
  // program cache. Tactics are timed, so the engines may differ from engine_ in the last bits.
  std::shared_ptr<const runtime::Engine> engines[2];
  std::string errors[2];
  const auto buildAndLoad = [&](int t) {
    try {
      const std::vector<std::uint8_t> bytes = buildTwoLayerMlp();
      engines[t] = runtime::Engine::deserialize(context(), bytes.data(), bytes.size());
    } catch (const std::exception& error) {
      errors[t] = error.what();
    }
  };
  std::thread first(buildAndLoad, 0);
  std::thread second(buildAndLoad, 1);
  first.join();
  second.join();
  const TwoLayerMlp model;
  for (int t = 0; t < 2; ++t) {
    ASSERT_TRUE(errors[t].empty()) << errors[t];
    runtime::ExecutionContext execution(engines[t]);
    Runner runner(execution, 2);
    for (std::int64_t rows : {1, 13, 32}) {
      EXPECT_LE(relativeError(runner.infer(inputFor(rows), rows), model.reference(inputFor(rows), rows)), 1e-4)
          << "engine " << t << " rows " << rows;
    }
  }
}

TEST_F(RuntimeThreads, ContextsOfOneEngineOnSeveralThreadsMatchTheSingleThreadedResults) {
  constexpr int kThreads = 4;
  constexpr int kInferencesPerThread = 120;
  std::map<std::int64_t, std::vector<float>> inputs;
  for (std::int64_t rows = 1; rows <= kMaxRows; ++rows) inputs[rows] = inputFor(rows);
  // Each thread writes only its own slots; the main thread reads them after join.
  std::vector<std::vector<std::string>> failures(kThreads);
  std::vector<int> done(kThreads, 0);
  std::atomic<int> waiting{kThreads};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      try {
        runtime::ExecutionContext execution(engine_);
        Runner runner(execution, 7 + t);
        --waiting;
        while (waiting.load() > 0) std::this_thread::yield();  // start together, to overlap
        for (int i = 0; i < kInferencesPerThread; ++i) {
          const std::int64_t rows = 1 + (t * 11 + i * 7) % kMaxRows;
          if (runner.infer(inputs.at(rows), rows) != expected_.at(rows)) {
            failures[t].push_back("thread " + std::to_string(t) + " inference " + std::to_string(i) + " rows " +
                                  std::to_string(rows) + " differs");
          }
          ++done[t];
        }
      } catch (const std::exception& error) {
        --waiting;
        failures[t].push_back("thread " + std::to_string(t) + ": " + error.what());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_TRUE(failures[t].empty()) << failures[t].front() << " (" << failures[t].size() << " failures)";
    EXPECT_EQ(done[t], kInferencesPerThread) << "thread " << t;
  }
}

TEST_F(RuntimeThreads, ASecondThreadInsideABusyContextIsRefusedAndTheContextStillWorks) {
  runtime::ExecutionContext execution(engine_);
  Runner runner(execution, 1000);
  std::vector<float> before = runner.infer(inputFor(3), 3);
  ASSERT_EQ(before, expected_.at(3));
  // set_input_shape logs its refusal of an out-of-profile shape while it holds the context; the
  // log sink, on that thread, lets a second thread try every call that changes the context.
  std::vector<std::string> outcomes;
  setLogSink([&](Severity, const std::string&) {
    std::thread second([&] {
      const auto attempt = [&](const char* call, auto&& action) {
        try {
          action();
          outcomes.push_back(std::string(call) + ": not refused");
        } catch (const Error& error) {
          outcomes.push_back(std::string(call) + ": " + error.what());
        }
      };
      attempt("enqueue", [&] { execution.enqueue(runner.stream()); });
      attempt("setInputShape", [&] { execution.setInputShape("x", Dims{5, kInputs}); });
      attempt("setTensorAddress", [&] { execution.setTensorAddress("x", 0); });
      attempt("tensorShape", [&] { execution.tensorShape("y"); });
      attempt("setOptimizationProfile", [&] { execution.setOptimizationProfile(0); });
    });
    second.join();
  }, Severity::kERROR);
  const bool accepted = execution.setInputShape("x", Dims{kMaxRows + 1, kInputs});
  resetLogSink();
  EXPECT_FALSE(accepted);
  ASSERT_EQ(outcomes.size(), 5u);
  for (const std::string& outcome : outcomes) EXPECT_NE(outcome.find(kInUse), std::string::npos) << outcome;
  // Nothing the refused calls tried took effect: the bindings and shapes still serve inferences.
  for (std::int64_t rows : {3, 17, 32, 1}) EXPECT_EQ(runner.infer(inputFor(rows), rows), expected_.at(rows));
}

TEST_F(RuntimeThreads, TwoThreadsHammeringOneContextGetResultsOrRefusalsNeverCorruption) {
  runtime::ExecutionContext execution(engine_);
  Runner runner(execution, 1000);
  ASSERT_EQ(runner.infer(inputFor(9), 9), expected_.at(9));
  const std::uint64_t input = execution.tensorAddress("x");
  // Both threads enqueue the bound inference on the context's stream and rebind the same input,
  // until each has been refused at least once (or a time limit passes).
  std::atomic<int> refusals[2] = {0, 0};
  std::atomic<int> successes[2] = {0, 0};
  std::vector<std::string> other_errors[2];
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  std::atomic<int> waiting{2};
  const auto hammer = [&](int t) {
    --waiting;
    while (waiting.load() > 0) std::this_thread::yield();
    for (int i = 0; (refusals[0] == 0 || refusals[1] == 0 || i < 200) && std::chrono::steady_clock::now() < deadline;
         ++i) {
      try {
        if (i % 3 == 2) {
          execution.setTensorAddress("x", input);
        } else {
          execution.enqueue(runner.stream());
        }
        ++successes[t];
      } catch (const Error& error) {
        if (std::string(error.what()).find(kInUse) != std::string::npos) {
          ++refusals[t];
        } else {
          other_errors[t].push_back(error.what());
        }
      }
    }
  };
  std::thread first(hammer, 0);
  std::thread second(hammer, 1);
  first.join();
  second.join();
  runner.stream().synchronize();
  for (int t = 0; t < 2; ++t) {
    EXPECT_TRUE(other_errors[t].empty()) << other_errors[t].front();
    EXPECT_GT(refusals[t].load(), 0) << "thread " << t << " was never refused: the threads did not overlap";
    EXPECT_GT(successes[t].load(), 0) << "thread " << t;
  }
  // Every successful enqueue computed the same bound inference; the context is intact.
  EXPECT_EQ(download<float>(runner.stream(), at(cl::resolveDeviceAddress(execution.tensorAddress("y"), 0, "y").buffer),
                            9 * kOutputs),
            expected_.at(9));
  for (std::int64_t rows : {1, 32, 9}) EXPECT_EQ(runner.infer(inputFor(rows), rows), expected_.at(rows));
}

}  // namespace
}  // namespace mlprt::test
