// The builder's compile pool and what it rests on, with threads (built into scripts/sanitize.sh's
// ThreadSanitizer suite): Program::build telling a deferring thread of another thread's compile
// (in any context) instead of waiting, the wait for the next build to end, and the whole build's
// pool under each MLPRT_PARALLEL_BUILD setting (builder/tactic_choice.cpp's runAhead).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "backend/opencl/program.h"
#include "builder/builder.h"
#include "engine/format.h"
#include "product_network.h"
#include "runtime/engine.h"
#include "runtime/execution_context.h"
#include "test_util.h"

namespace mlprt::test {
namespace {

// A program source no cache holds: one trivial kernel, `fill`.
std::string uniqueSource() {
  std::random_device random;
  return "// mlprt compile-threads test " + std::to_string(random()) + "-" + std::to_string(random()) +
         "\n__kernel void fill(__global float* x) { x[get_global_id(0)] = 1.0f; }\n";
}

TEST(ProgramCache, ADeferringThreadIsToldOfAnotherThreadsCompileInsteadOfWaiting) {
  // The builder's compile pool (DeferWaitsForPrograms) takes other work where a program it needs
  // is compiling on another thread: Program::build throws ProgramBuildingElsewhere there instead
  // of waiting; once the compile is done it hands out the program. A thread without the guard (or
  // whose guard has ended) waits, as before.
  const std::string source = uniqueSource();
  auto held = cl::holdProgramAsBuilding(context(), source);  // another thread's compile, in progress
  std::atomic<int> told{0};
  std::atomic<bool> done{false};
  std::thread deferring([&] {
    const cl::DeferWaitsForPrograms defer;
    try {
      cl::Program::build(context(), source);
    } catch (const cl::ProgramBuildingElsewhere&) {
      ++told;
    }
    {
      const cl::DeferWaitsForPrograms nested;
    }
    try {
      cl::Program::build(context(), source);  // the outer guard still holds after the nested one
    } catch (const cl::ProgramBuildingElsewhere&) {
      ++told;
    }
    done = true;
  });
  // Were it to wait instead, the hold ends after 10 s and the test fails rather than hangs.
  for (int i = 0; i < 1000 && !done; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (!done) held.reset();
  deferring.join();
  ASSERT_TRUE(held) << "a deferring thread waited for another thread's compile";
  EXPECT_EQ(told.load(), 2);

  std::atomic<bool> returned{false};
  std::shared_ptr<const cl::Program> waited;
  std::thread waiting([&] {
    {
      const cl::DeferWaitsForPrograms ended;
    }
    waited = cl::Program::build(context(), source);  // no guard now: waits for the compile
    returned = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(returned.load());
  const std::uint64_t before = cl::programCacheStats().compiled;
  held.reset();  // the compile "fails" without a program: the waiting thread builds it itself
  waiting.join();
  ASSERT_NE(waited, nullptr);
  EXPECT_EQ(cl::programCacheStats().compiled - before, 1u);
  EXPECT_NO_THROW(cl::Kernel(waited, "fill"));

  const cl::DeferWaitsForPrograms defer;  // built programs are handed out to a deferring thread
  EXPECT_EQ(cl::Program::build(context(), source), waited);
}

TEST(ProgramCache, AProgramBuildingInOneContextIsBuildingForAnother) {
  // The compile pool's threads each have a context of their own: a program one of them compiles
  // is not compiled again by another (it defers, or waits and then loads it from the disk cache),
  // and a context's programs can be forgotten, so that the context is freed.
  const std::string source = uniqueSource();
  auto other = std::make_shared<cl::Context>(context()->device());
  auto held = cl::holdProgramAsBuilding(context(), source);
  bool told = false;
  std::thread([&] {
    const cl::DeferWaitsForPrograms defer;
    try {
      cl::Program::build(other, source);
    } catch (const cl::ProgramBuildingElsewhere&) {
      told = true;
    }
  }).join();
  EXPECT_TRUE(told);
  held.reset();

  std::shared_ptr<const cl::Program> program = cl::Program::build(other, source);
  EXPECT_EQ(program->context(), other);
  EXPECT_NO_THROW(cl::Kernel(program, "fill"));
  EXPECT_EQ(cl::Program::build(other, source), program);  // kept in memory for its context
  const std::weak_ptr<cl::Context> freed = other;
  cl::forgetPrograms(*other);
  other.reset();
  EXPECT_FALSE(freed.expired());  // `program` holds it still
  program.reset();
  EXPECT_TRUE(freed.expired());
}

TEST(ProgramCache, AWaitForTheNextBuildEndsWhenABuildEnds) {
  // What the compile pool waits on when every run it has left waits for a program: the count of
  // finished builds, and a wait that ends when it grows.
  const std::uint64_t finished = cl::programBuildsFinished();
  std::atomic<bool> returned{false};
  std::thread waiting([&] {
    cl::waitForProgramBuildsAfter(finished);
    returned = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(returned.load());
  cl::Program::build(context(), uniqueSource());  // one build ends: the wait with it
  waiting.join();
  EXPECT_GT(cl::programBuildsFinished(), finished);
  cl::waitForProgramBuildsAfter(finished);  // already more: returns at once
}


// MLPRT_PARALLEL_BUILD=1: before any step is timed, every candidate runs once in a pool of threads
// (their programs compile at the same time), so the step's own pass finds none left; the engine
// gives the right answer. Where binaries are kept (MLPRT_PROGRAM_BINARIES=1 here; NVIDIA's by
// default) and the pool has four runs or more per thread (this dynamic product's candidates at its
// five timing points do on two cores), each thread has a context of its own, whose programs reach
// the build's through the disk cache; =shared keeps the threads on the build's context. =waiting: the pool, no run put back
// behind the others. =0 (and CPU devices by default): no threads.
TEST(EngineTactics, CandidatesCompileAheadInThreadsWhereAsked) {
  const std::vector<float> weights = randomFloats(64 * 24, 64);
  const ScopedEnv binaries("MLPRT_PROGRAM_BINARIES", std::string("1"));
  builder::BuilderConfig config;
  builder::OptimizationProfile profile;
  profile.setShape("x", Dims{1, 3, 64}, Dims{16, 3, 64}, Dims{64, 3, 64});
  config.addOptimizationProfile(profile);
  const std::size_t threads = std::max(1u, std::thread::hardware_concurrency());
  for (const char* setting : {"1", "shared", "waiting", "0"}) {
    SCOPED_TRACE(std::string("MLPRT_PARALLEL_BUILD=") + setting);
    const ScopedEnv parallel("MLPRT_PARALLEL_BUILD", std::string(setting));
    const TemporaryDirectory directory;
    const ScopedEnv cache("MLPRT_CACHE_DIR", directory.path().string());
    std::vector<std::string> ahead, per_step;
    const std::vector<std::uint8_t> built = [&] {
      const LogCapture log;
      std::vector<std::uint8_t> bytes = builder::buildSerializedNetwork(dynamicProduct(-1, weights), config);
      ahead = log.matching("compiled ahead: ");
      per_step = log.matching("candidates run ahead in");
      return bytes;
    }();
    EXPECT_EQ(ahead.size(), std::string(setting) == "0" ? 0u : 1u) << ::testing::PrintToString(ahead);
    for (const std::string& line : ahead) {  // runs that met another thread's compile are counted
      EXPECT_NE(line.find(" deferred behind another thread's compile)"), std::string::npos) << line;
      if (std::string(setting) == "waiting") {
        EXPECT_NE(line.find("; 0 deferred"), std::string::npos) << line;
      }
      const std::size_t runs = std::stoul(line.substr(std::string("compiled ahead: ").size()));
      const bool own = std::string(setting) == "1" && runs >= 4 * threads;
      EXPECT_EQ(line.find(" threads, a context each (") != std::string::npos, own) << line;
      if (threads <= 2 && std::string(setting) == "1") {  // CI's case: the threads' own contexts run
        EXPECT_TRUE(own) << line;
      }
    }
    EXPECT_TRUE(per_step.empty()) << ::testing::PrintToString(per_step);
    runtime::ExecutionContext execution(runtime::Engine::deserialize(context(), built.data(), built.size()));
    execution.setInputShape("x", Dims{5, 3, 64});
    auto stream = cl::Stream::create(context());
    const std::vector<float> input = randomFloats(5 * 3 * 64, 65);
    const BoundXY bound = bindXY(execution, *stream, input, 5 * 3 * 24);
    execution.enqueue(*stream);
    const std::vector<float> result = download<float>(*stream, at(bound.y), 5 * 3 * 24);
    for (std::size_t i = 0; i < 15; ++i) {
      for (std::size_t j = 0; j < 24; ++j) {
        double sum = 0.0;
        for (std::size_t p = 0; p < 64; ++p) sum += double(input[i * 64 + p]) * weights[p * 24 + j];
        EXPECT_NEAR(result[i * 24 + j], sum, 1e-5 * 64) << i << ", " << j;
      }
    }
  }
}

}  // namespace
}  // namespace mlprt::test
