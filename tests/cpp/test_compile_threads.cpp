// The builder's compile pool and what it rests on, with threads (built into scripts/sanitize.sh's
// ThreadSanitizer suite): Program::build telling a deferring thread of another thread's compile
// (in any context) instead of waiting, the wait for the next build to end, and the whole build's
// pool under each MLPRT_PARALLEL_BUILD setting (builder/tactic_choice.cpp's runAhead).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "backend/opencl/compile_helper.h"
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

// The engine `built` (input "x" of (batch, 3, 64), output "y" of (batch, 3, 24)) run at batch 5 on
// `input`: its output.
std::vector<float> runAtBatchFive(const std::vector<std::uint8_t>& built, const std::vector<float>& input) {
  runtime::ExecutionContext execution(runtime::Engine::deserialize(context(), built.data(), built.size()));
  execution.setInputShape("x", Dims{5, 3, 64});
  auto stream = cl::Stream::create(context());
  const BoundXY bound = bindXY(execution, *stream, input, 5 * 3 * 24);
  execution.enqueue(*stream);
  return download<float>(*stream, at(bound.y), 5 * 3 * 24);
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
// five timing points do on two cores), each thread has a context of its own (in a smaller pool each
// but the first), whose programs reach the build's through the disk cache (one timed step starts no helper processes, so =1 and
// =contexts do the same here); =shared keeps the threads on the build's context. =waiting: the
// pool, no run put back behind the others. =0 (and CPU devices by default): no threads.
TEST(EngineTactics, CandidatesCompileAheadInThreadsWhereAsked) {
  const std::vector<float> weights = randomFloats(64 * 24, 64);
  const ScopedEnv binaries("MLPRT_PROGRAM_BINARIES", std::string("1"));
  builder::BuilderConfig config;
  builder::OptimizationProfile profile;
  profile.setShape("x", Dims{1, 3, 64}, Dims{16, 3, 64}, Dims{64, 3, 64});
  config.addOptimizationProfile(profile);
  const std::size_t threads = std::max(1u, std::thread::hardware_concurrency());
  for (const char* setting : {"1", "contexts", "shared", "waiting", "0"}) {
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
      const bool contexts_asked = std::string(setting) == "1" || std::string(setting) == "contexts";
      const bool own = contexts_asked && runs >= 4 * threads;
      EXPECT_EQ(line.find(" threads, a context each (") != std::string::npos, own) << line;
      // A smaller pool: the first thread on the build's context, the others on their own.
      const std::size_t workers = std::min(runs, threads);
      EXPECT_EQ(line.find(" threads, " + std::to_string(workers - 1) + " with a context of its own (") != std::string::npos,
                contexts_asked && !own && workers > 1)
          << line;
      if (threads <= 2 && contexts_asked) {  // CI's case: the threads' own contexts run
        EXPECT_TRUE(own) << line;
      }
    }
    EXPECT_TRUE(per_step.empty()) << ::testing::PrintToString(per_step);
    const std::vector<float> input = randomFloats(5 * 3 * 64, 65);
    expectProductOf(input, weights, runAtBatchFive(built, input));
  }
}

// ---- Compile helper processes ----

// The helper built beside these tests, set for the scope (restored to none after), with binaries
// kept and a cache directory of the scope's own, as on NVIDIA's devices.
struct HelperScope {
  HelperScope() { cl::setCompileHelperPath(MLPRT_TEST_COMPILE_HELPER); }
  ~HelperScope() { cl::setCompileHelperPath(""); }
  const ScopedEnv binaries{"MLPRT_PROGRAM_BINARIES", std::string("1")};
  const ScopedEnv no_override{"MLPRT_COMPILE_HELPER", std::nullopt};
  const TemporaryDirectory directory;
  const ScopedEnv cache{"MLPRT_CACHE_DIR", directory.path().string()};
};

std::size_t cachedBinaries() {
  namespace fs = std::filesystem;
  const fs::path directory = cl::programCacheDirectory();
  if (!fs::exists(directory)) return 0;
  return static_cast<std::size_t>(std::distance(fs::directory_iterator(directory), fs::directory_iterator()));
}

// The kernel `fill` of a program from uniqueSource(), run over 4 floats: every one is 1.
void expectFillRuns(const std::shared_ptr<const cl::Program>& program) {
  cl::Kernel fill(program, "fill");
  auto stream = cl::Stream::create(context());
  const auto buffer = allocate(4 * sizeof(float));
  upload(*stream, at(buffer), std::vector<float>(4, 0.0f));
  fill.setBuffer(0, *buffer);
  fill.launch(*stream, {4}, {1});
  EXPECT_EQ(download<float>(*stream, at(buffer), 4), std::vector<float>(4, 1.0f));
}

TEST(CompileHelper, CompilesIntoTheDiskCacheForTheCallerToLoad) {
  const HelperScope scope;
  const std::unique_ptr<cl::CompileHelper> helper = cl::CompileHelper::start(context()->device(), cl::programCacheDirectory());
  ASSERT_TRUE(helper) << "the helper at " << MLPRT_TEST_COMPILE_HELPER << " did not start";
  // Asked directly: the binary is on disk, and this process loads it instead of compiling.
  const std::string first = uniqueSource();
  const std::optional<double> seconds = helper->compile(first, "");
  ASSERT_TRUE(seconds.has_value());
  EXPECT_GE(*seconds, 0.0);
  EXPECT_EQ(cachedBinaries(), 1u);
  const std::shared_ptr<const cl::Program> loaded = cl::Program::build(context(), first);
  EXPECT_EQ(loaded->origin(), cl::Program::Origin::kDiskCache);
  expectFillRuns(loaded);
  // Through Program::build on a thread that has the helper: counted as this thread's compile.
  const cl::ProgramCacheStats before = cl::programCacheStats();
  const std::uint64_t compiled_here = cl::programsCompiledOnThisThread();
  std::shared_ptr<const cl::Program> built;
  {
    const LogCapture log;
    const cl::CompileInHelper compile_in(helper.get());
    built = cl::Program::build(context(), uniqueSource());
    EXPECT_TRUE(log.saw("program compiled in "));
  }
  EXPECT_EQ(built->origin(), cl::Program::Origin::kCompiled);
  EXPECT_EQ(cl::programsCompiledOnThisThread(), compiled_here + 1);
  EXPECT_EQ(cl::programCacheStats().compiled_by_helpers, before.compiled_by_helpers + 1);
  EXPECT_EQ(cachedBinaries(), 2u);
  expectFillRuns(built);
  EXPECT_EQ(cl::activeCompileHelper(), nullptr);
}

TEST(CompileHelper, ASourceThatDoesNotCompileIsReportedByTheCaller) {
  // The helper answers that it could not; the caller compiles and throws the compiler's log; the
  // helper serves the next program.
  const HelperScope scope;
  const std::unique_ptr<cl::CompileHelper> helper = cl::CompileHelper::start(context()->device(), cl::programCacheDirectory());
  ASSERT_TRUE(helper);
  const std::string broken = uniqueSource() + "\n__kernel void broken(__global float* x) { x[0] = undeclared_name; }\n";
  EXPECT_FALSE(helper->compile(broken, "").has_value());
  {
    const cl::CompileInHelper compile_in(helper.get());
    EXPECT_TRUE(throwsWith<BuildError>([&] { cl::Program::build(context(), broken); }, "undeclared_name"));
  }
  EXPECT_TRUE(helper->compile(uniqueSource(), "").has_value());
}

TEST(CompileHelper, NoHelperStartsWithoutAnExecutableAndOneThatStopsLeavesTheCompileToTheCaller) {
  const HelperScope scope;
  {
    const ScopedEnv none("MLPRT_COMPILE_HELPER", std::string(""));
    EXPECT_EQ(cl::compileHelperPath(), "");
    EXPECT_FALSE(cl::CompileHelper::start(context()->device(), cl::programCacheDirectory()));
  }
  {
    const ScopedEnv missing("MLPRT_COMPILE_HELPER", std::string("/nonexistent/mlprt-compile-helper"));
    EXPECT_FALSE(cl::CompileHelper::start(context()->device(), cl::programCacheDirectory()));
  }
  // An executable that exits at once: no answer, no hang; Program::build compiles itself.
  const ScopedEnv exits("MLPRT_COMPILE_HELPER", std::string("/bin/true"));
  const std::unique_ptr<cl::CompileHelper> helper = cl::CompileHelper::start(context()->device(), cl::programCacheDirectory());
  ASSERT_TRUE(helper);
  const std::string source = uniqueSource();
  EXPECT_FALSE(helper->compile(source, "").has_value());
  const cl::ProgramCacheStats before = cl::programCacheStats();
  const cl::CompileInHelper compile_in(helper.get());
  const std::shared_ptr<const cl::Program> program = cl::Program::build(context(), source);
  EXPECT_EQ(program->origin(), cl::Program::Origin::kCompiled);
  EXPECT_EQ(cl::programCacheStats().compiled_by_helpers, before.compiled_by_helpers);
  expectFillRuns(program);
}

// For its lifetime, the helper executable is a script that never answers (a driver hanging while
// it makes the helper's context).
struct HangingHelper {
  HangingHelper() {
    std::ofstream(script) << "#!/bin/sh\nexec sleep 120\n";
    std::filesystem::permissions(script, std::filesystem::perms::owner_all);
  }
  const TemporaryDirectory directory;
  const std::filesystem::path script = directory.path() / "hangs.sh";
  const ScopedEnv executable{"MLPRT_COMPILE_HELPER", script.string()};
};

// A helper that never answers (a driver hanging while it makes the helper's context) is given up
// at the readiness deadline (kReadySeconds; 1 s here) and stopped: the compile goes back to the
// caller, not a wait of the helpers' 300 s per compile.
TEST(CompileHelper, AHelperThatNeverGetsReadyIsStoppedAtItsDeadline) {
  const HelperScope scope;
  const HangingHelper hangs;
  struct OneSecondToGetReady {
    OneSecondToGetReady() { cl::CompileHelper::setReadySecondsForTesting(1); }
    ~OneSecondToGetReady() { cl::CompileHelper::setReadySecondsForTesting(0); }
  } deadline;
  std::unique_ptr<cl::CompileHelper> helper = cl::CompileHelper::start(context()->device(), cl::programCacheDirectory());
  ASSERT_TRUE(helper);
  const auto start = std::chrono::steady_clock::now();
  const std::string source = uniqueSource();
  EXPECT_FALSE(helper->compile(source, "").has_value());
  EXPECT_FALSE(helper->compile(source, "").has_value());  // not asked again
  helper.reset();  // stopped already: no wait for the sleep
  const std::chrono::duration<double> seconds = std::chrono::steady_clock::now() - start;
  EXPECT_LT(seconds.count(), 10.0);
}

// A pool's helpers that nobody took and that are still making their contexts (here: never will)
// are told to exit together when the pool ends, and killed together after kExitSeconds (2 s), not
// one after another (3 helpers: 6 s so).
TEST(CompileHelper, APoolsUnreadyHelpersAreStoppedTogether) {
  const HelperScope scope;
  const HangingHelper hangs;
  auto pool = std::make_unique<cl::CompileHelperPool>(context()->device(), cl::programCacheDirectory(), 3);
  ASSERT_EQ(pool->size(), 3u);
  const auto start = std::chrono::steady_clock::now();
  pool.reset();
  const std::chrono::duration<double> seconds = std::chrono::steady_clock::now() - start;
  EXPECT_GE(seconds.count(), 0.5 * cl::CompileHelper::kExitSeconds);  // they were waited for
  EXPECT_LT(seconds.count(), 2.0 * cl::CompileHelper::kExitSeconds);
}

// Products at a dynamic batch, MLPRT_PARALLEL_BUILD=1 (what GPUs do unasked; =processes, which the
// Python tests use, is the same): eight timed steps start the whole build's helpers
// (startCompileHelpers), and the pool's threads compile through them, however few its runs (two
// signatures here). One timed step starts none (CandidatesCompileAheadInThreadsWhereAsked).
network::Network chainOfProducts(std::size_t count, const std::vector<float>& square, const std::vector<float>& last) {
  network::Network net;
  network::TensorId x = net.addInput("x", DataType::kFLOAT, Dims{-1, 3, 64});
  for (std::size_t i = 0; i + 1 < count; ++i) {
    x = addLayer(net, network::MatrixMultiplyLayer{}, {x, addConstant(net, Dims{64, 64}, square)});
  }
  x = addLayer(net, network::MatrixMultiplyLayer{}, {x, addConstant(net, Dims{64, 24}, last)});
  net.setTensorName(x, "y");
  net.markOutput(x);
  return net;
}

TEST(EngineTactics, CandidatesCompileAheadInHelperProcesses) {
  const HelperScope scope;
  const ScopedEnv parallel("MLPRT_PARALLEL_BUILD", std::string("1"));
  const std::size_t products = 8;
  std::vector<float> square = randomFloats(64 * 64, 66);
  for (float& value : square) value *= 0.125f;  // values stay near 1 through the chain
  const std::vector<float> last = randomFloats(64 * 24, 67);
  builder::BuilderConfig config;
  builder::OptimizationProfile profile;
  profile.setShape("x", Dims{1, 3, 64}, Dims{16, 3, 64}, Dims{64, 3, 64});
  config.addOptimizationProfile(profile);
  // Where one process runs the whole suite (the GPU machine's part 7) an earlier test may have left
  // these products' programs in memory: dropped, so that the pool compiles them (the disk cache is
  // HelperScope's new one).
  cl::forgetPrograms(*context());
  const cl::ProgramCacheStats before = cl::programCacheStats();
  std::vector<std::string> ahead;
  const std::vector<std::uint8_t> built = [&] {
    const LogCapture log;
    std::vector<std::uint8_t> bytes = builder::buildSerializedNetwork(chainOfProducts(products, square, last), config);
    ahead = log.matching("compiled ahead: ");
    return bytes;
  }();
  ASSERT_EQ(ahead.size(), 1u);
  EXPECT_NE(ahead.front().find(" with a compile process ("), std::string::npos) << ahead.front();
  EXPECT_GT(cl::programCacheStats().compiled_by_helpers, before.compiled_by_helpers);
  const std::vector<float> input = randomFloats(5 * 3 * 64, 68);
  const std::vector<float> result = runAtBatchFive(built, input);
  std::vector<double> rows(input.begin(), input.end());
  for (std::size_t i = 0; i + 1 < products; ++i) {
    std::vector<double> next(15 * 64, 0.0);
    for (std::size_t r = 0; r < 15; ++r)
      for (std::size_t j = 0; j < 64; ++j)
        for (std::size_t p = 0; p < 64; ++p) next[r * 64 + j] += rows[r * 64 + p] * square[p * 64 + j];
    rows = std::move(next);
  }
  double scale = 0.0, error = 0.0;
  for (std::size_t r = 0; r < 15; ++r) {
    for (std::size_t j = 0; j < 24; ++j) {
      double sum = 0.0;
      for (std::size_t p = 0; p < 64; ++p) sum += rows[r * 64 + p] * last[p * 24 + j];
      scale = std::max(scale, std::abs(sum));
      error = std::max(error, std::abs(result[r * 24 + j] - sum));
    }
  }
  EXPECT_LE(error, 1e-4 * scale);
}

}  // namespace
}  // namespace mlprt::test
