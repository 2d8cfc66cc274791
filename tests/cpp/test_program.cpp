// Programs, kernels, and the in-memory and on-disk program caches.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "backend/opencl/program.h"
#include "core/error.h"
#include "core/logging.h"
#include "test_util.h"

namespace mlprt::test {
namespace {

namespace fs = std::filesystem;

constexpr char kMagic[] = "MLPRT-CL-BINARY-1";

const char kSaxpy[] = R"(
__kernel void saxpy(const float a, __global const float* x, __global float* y) {
  const size_t i = get_global_id(0);
  y[i] = a * x[i] + y[i];
}
)";

// The saxpy source with a comment no other build uses, so it is never in any cache.
std::string uniqueSaxpy() {
  std::random_device random;
  return "// mlprt test " + std::to_string(random()) + "-" + std::to_string(random()) + "\n" + kSaxpy;
}

// Runs saxpy from `program` on n random elements and checks it against the CPU.
void expectSaxpyWorks(const std::shared_ptr<const cl::Program>& program, std::size_t n = 1000) {
  const auto stream = cl::Stream::defaultFor(program->context());
  const float a = 0.625f;
  const std::vector<float> x = randomFloats(n, 31);
  const std::vector<float> y = randomFloats(n, 32);
  const auto x_buffer = cl::DeviceBuffer::allocate(program->context(), n * sizeof(float));
  const auto y_buffer = cl::DeviceBuffer::allocate(program->context(), n * sizeof(float));
  upload(*stream, at(x_buffer), x);
  upload(*stream, at(y_buffer), y);

  cl::Kernel kernel(program, "saxpy");
  ASSERT_EQ(kernel.argumentCount(), 3u);
  EXPECT_EQ(kernel.name(), "saxpy");
  kernel.setValue(0, a);
  kernel.setBuffer(1, *x_buffer);
  kernel.setBuffer(2, *y_buffer);
  kernel.launch(*stream, {n});
  const std::vector<float> result = download<float>(*stream, at(y_buffer), n);
  for (std::size_t i = 0; i < n; ++i) {
    const float expected = a * x[i] + y[i];
    ASSERT_NEAR(result[i], expected, 1e-6f * (std::fabs(a * x[i]) + std::fabs(y[i]))) << "at " << i;
  }
}

std::vector<fs::path> cacheFiles(const fs::path& directory) {
  std::vector<fs::path> files;
  if (!fs::exists(directory)) return files;
  for (const auto& entry : fs::directory_iterator(directory)) {
    if (entry.is_regular_file() && entry.path().extension() == ".bin") files.push_back(entry.path());
  }
  return files;
}

std::string readFile(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void writeFile(const fs::path& file, const std::string& contents) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
}

// A fresh disk cache: MLPRT_CACHE_DIR points to a new directory for the life of the fixture.
// Tests that build unique sources use it, so that nothing accumulates in the shared cache.
class ProgramDiskCache : public ::testing::Test {
 protected:
  TemporaryDirectory root_;
  ScopedEnv cache_dir_{"MLPRT_CACHE_DIR", root_.path().string()};
  // The disk cache itself, on every device (PoCL's binaries are kept only when asked for).
  ScopedEnv keep_binaries_{"MLPRT_PROGRAM_BINARIES", std::string("1")};
  fs::path programs_ = root_.path() / "programs";

  // A context other than the shared one, so that Program::build misses the memory cache.
  static std::shared_ptr<cl::Context> freshContext() {
    return std::make_shared<cl::Context>(context()->device());
  }

  // Builds `source` on the shared context and returns its single cache file.
  fs::path buildAndFindFile(const std::string& source) {
    cl::Program::build(context(), source);
    const std::vector<fs::path> files = cacheFiles(programs_);
    EXPECT_EQ(files.size(), 1u);
    return files.empty() ? fs::path() : files.front();
  }
};

TEST(Program, BuildsAndRunsSaxpy) { expectSaxpyWorks(cl::Program::build(context(), kSaxpy)); }

TEST(Program, RunsTwoDimensionalKernelWithLocalSize) {
  const auto program = cl::Program::build(context(), R"(
__kernel void index2d(__global int* out, const int columns) {
  const int row = (int)get_global_id(1);
  const int column = (int)get_global_id(0);
  out[row * columns + column] = row * 1000 + column + 1;
})");
  const auto stream = cl::Stream::create(context());
  const std::size_t columns = 24;
  const std::size_t rows = 12;
  const auto buffer = allocate(sizeof(int) * columns * rows);
  cl::Kernel kernel(program, "index2d");
  kernel.setBuffer(0, *buffer);
  kernel.setValue(1, static_cast<int>(columns));
  kernel.launch(*stream, {columns, rows}, {4, 4});
  stream->synchronize();
  const std::vector<int> out = download<int>(*stream, at(buffer), columns * rows);
  for (std::size_t row = 0; row < rows; ++row) {
    for (std::size_t column = 0; column < columns; ++column) {
      ASSERT_EQ(out[row * columns + column], static_cast<int>(row * 1000 + column + 1))
          << row << ", " << column;
    }
  }
}

TEST(Program, SyntaxErrorThrowsBuildErrorWithTheLog) {
  const std::string source = uniqueSaxpy() + R"(
__kernel void broken(__global float* out) {
  out[0] = mlprt_undeclared_identifier * 2.0f;
})";
  const cl::ProgramCacheStats before = cl::programCacheStats();
  EXPECT_TRUE(throwsWith<BuildError>([&] { cl::Program::build(context(), source); },
                                     "mlprt_undeclared_identifier"));
  EXPECT_TRUE(throwsWith<BuildError>([&] { cl::Program::build(context(), source); },
                                     context()->device().name));
  // A failed build leaves nothing behind in the caches.
  EXPECT_EQ(cl::programCacheStats().compiled, before.compiled);
  EXPECT_EQ(cl::programCacheStats().reused_in_memory, before.reused_in_memory);
}

// A compiler warning reaches stderr from the driver itself (PoCL: "1 warning generated."); the
// build log that names the line is logged at VERBOSE, so the kernel source can be fixed.
TEST(Program, CompilerWarningsAreLoggedWithTheBuildLog) {
  const LogCapture log;
  const auto program = cl::Program::build(context(), uniqueSaxpy() + "\n#warning mlprt_test_warning\n");
  expectSaxpyWorks(program);
  EXPECT_TRUE(log.saw("program built with warnings"));
  EXPECT_TRUE(log.saw("mlprt_test_warning"));
}

TEST(Program, InvalidBuildOptionThrowsBuildError) {
  EXPECT_TRUE(throwsWith<BuildError>(
      [] { cl::Program::build(context(), uniqueSaxpy(), "-mlprt-no-such-option"); },
      "-mlprt-no-such-option"));
}

TEST(Program, BinaryIsAvailable) {
  const auto program = cl::Program::build(context(), kSaxpy);
  EXPECT_NE(program->get(), nullptr);
  EXPECT_EQ(program->context(), context());
  EXPECT_FALSE(program->binary().empty());
}

TEST(Kernel, UnknownNameThrowsNamingIt) {
  const auto program = cl::Program::build(context(), kSaxpy);
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { cl::Kernel(program, "saxpy_missing"); },
                                          "'saxpy_missing'"));
}

TEST(Kernel, ArgumentIndexOutOfRangeThrows) {
  cl::Kernel kernel(cl::Program::build(context(), kSaxpy), "saxpy");
  const float value = 1.5f;
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { kernel.setValue(3, value); }, "argument 3"));
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { kernel.setValue(100, value); }, "3 arguments"));
  const auto buffer = allocate(16);
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { kernel.setBuffer(3, *buffer); }, "does not exist"));
}

TEST(Kernel, WrongArgumentSizeThrowsOpenCLError) {
  cl::Kernel kernel(cl::Program::build(context(), kSaxpy), "saxpy");
  const double wide = 1.5;
  EXPECT_THROW(kernel.setValue(0, wide), OpenCLError);
}

TEST(Kernel, FreedBufferArgumentThrows) {
  cl::Kernel kernel(cl::Program::build(context(), kSaxpy), "saxpy");
  const auto buffer = allocate(16);
  buffer->free();
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { kernel.setBuffer(1, *buffer); }, "freed"));
}

TEST(Kernel, LaunchChecksWorkSizes) {
  cl::Kernel kernel(cl::Program::build(context(), kSaxpy), "saxpy");
  const auto stream = cl::Stream::create(context());
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { kernel.launch(*stream, {100}, {7}); },
                                          "not a multiple of local size 7"));
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { kernel.launch(*stream, {64, 10}, {8, 3}); },
                                          "axis 1"));
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { kernel.launch(*stream, {64}, {0}); },
                                          "local size 0"));
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { kernel.launch(*stream, {64, 2}, {8}); },
                                          "2 global sizes but 1 local sizes"));
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { kernel.launch(*stream, {}); }, "1 to 3"));
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { kernel.launch(*stream, {1, 1, 1, 1}); }, "got 4"));
}

TEST(Kernel, ProgramOfAnotherContextIsRejectedAtLaunch) {
  const auto other = std::make_shared<cl::Context>(context()->device());
  cl::Kernel kernel(cl::Program::build(other, kSaxpy), "saxpy");
  const auto stream = cl::Stream::create(context());
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { kernel.launch(*stream, {16}); }, "belongs to device"));
  const auto buffer = allocate(64);
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { kernel.setBuffer(1, *buffer); }, "belongs to device"));
}

TEST(ProgramCacheDirectory, FollowsTheEnvironment) {
  {
    const ScopedEnv dir("MLPRT_CACHE_DIR", std::string("/opt/mlprt-cache"));
    EXPECT_EQ(fs::path(cl::programCacheDirectory()), fs::path("/opt/mlprt-cache") / "programs");
  }
  const ScopedEnv no_dir("MLPRT_CACHE_DIR", std::nullopt);
  {
    const ScopedEnv xdg("XDG_CACHE_HOME", std::string("/xdg"));
    EXPECT_EQ(fs::path(cl::programCacheDirectory()), fs::path("/xdg/mlprt/programs"));
  }
  const ScopedEnv no_xdg("XDG_CACHE_HOME", std::nullopt);
  {
    const ScopedEnv home("HOME", std::string("/home/tester"));
    EXPECT_EQ(fs::path(cl::programCacheDirectory()), fs::path("/home/tester/.cache/mlprt/programs"));
  }
  const ScopedEnv no_home("HOME", std::nullopt);
  EXPECT_EQ(cl::programCacheDirectory(), "");
}

TEST_F(ProgramDiskCache, SecondBuildReturnsTheSameObjectFromMemory) {
  const std::string source = uniqueSaxpy();
  const auto first = cl::Program::build(context(), source);
  const cl::ProgramCacheStats before = cl::programCacheStats();
  const auto second = cl::Program::build(context(), source);
  const cl::ProgramCacheStats after = cl::programCacheStats();
  EXPECT_EQ(first, second);
  EXPECT_EQ(after.reused_in_memory, before.reused_in_memory + 1);
  EXPECT_EQ(after.compiled, before.compiled);
  EXPECT_EQ(after.loaded_from_disk, before.loaded_from_disk);
  // Other build options make another program.
  const auto optimised_differently = cl::Program::build(context(), source, "-cl-fast-relaxed-math");
  EXPECT_NE(optimised_differently, first);
  expectSaxpyWorks(optimised_differently);
}

TEST_F(ProgramDiskCache, CompiledProgramIsStoredOnDisk) {
  EXPECT_EQ(fs::path(cl::programCacheDirectory()), programs_);
  const std::string source = uniqueSaxpy();
  const cl::ProgramCacheStats before = cl::programCacheStats();
  const auto program = cl::Program::build(context(), source);
  EXPECT_EQ(cl::programCacheStats().compiled, before.compiled + 1);
  EXPECT_EQ(program->origin(), cl::Program::Origin::kCompiled);

  const std::vector<fs::path> files = cacheFiles(programs_);
  ASSERT_EQ(files.size(), 1u);
  const std::string contents = readFile(files.front());
  EXPECT_EQ(contents.compare(0, sizeof(kMagic) - 1, kMagic), 0) << contents.substr(0, 32);
  EXPECT_NE(contents.find(source), std::string::npos);  // the full key is stored
  EXPECT_NE(contents.find(context()->device().name), std::string::npos);
  // No temporary files are left behind.
  std::size_t entries = 0;
  for (const auto& entry : fs::directory_iterator(programs_)) entries += entry.is_regular_file();
  EXPECT_EQ(entries, 1u);
}

// Cold builds are mostly compiles: a verbose logger sees each, with its kernels, options and
// time; a program served from memory or disk logs nothing.
TEST_F(ProgramDiskCache, EachCompileIsLoggedAtVerboseSeverity) {
  const std::string source = uniqueSaxpy();
  {
    LogCapture log;
    cl::Program::build(context(), source, "-DSOMETHING=3");
    EXPECT_TRUE(log.saw("program compiled in "));
    EXPECT_TRUE(log.saw(" ms: saxpy [-DSOMETHING=3]"));
  }
  LogCapture quiet(Severity::kINFO);
  cl::Program::build(freshContext(), uniqueSaxpy());
  EXPECT_FALSE(quiet.saw("program compiled"));
  LogCapture again;
  cl::Program::build(context(), source, "-DSOMETHING=3");
  EXPECT_FALSE(again.saw("program compiled"));
}

// Runs `build` on `count` threads released together; returns what each got (nullptr where it threw:
// `errors` counts those).
std::vector<std::shared_ptr<const cl::Program>> buildAtOnce(int count, const std::function<std::shared_ptr<const cl::Program>()>& build,
                                                            std::atomic<int>& errors) {
  std::vector<std::shared_ptr<const cl::Program>> programs(static_cast<std::size_t>(count));
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < count; ++i) {
    threads.emplace_back([&, i] {
      while (!go.load()) std::this_thread::yield();
      try {
        programs[static_cast<std::size_t>(i)] = build();
      } catch (const BuildError&) {
        ++errors;
      }
    });
  }
  go = true;
  for (std::thread& thread : threads) thread.join();
  return programs;
}

TEST(ProgramCache, ThreadsAskingForOneProgramAtOnceCompileItOnce) {
  // A builder's threads ask for the same program at once: one compiles it, the others wait for it
  // and share it. A build that fails fails for every thread that asked, and none hangs.
  const std::string source = uniqueSaxpy();
  const std::uint64_t before = cl::programCacheStats().compiled;
  std::atomic<int> errors{0};
  const auto programs = buildAtOnce(4, [&] { return cl::Program::build(context(), source, "-DAT_ONCE=1"); }, errors);
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(cl::programCacheStats().compiled - before, 1u);
  for (const auto& program : programs) EXPECT_EQ(program, programs.front());
  expectSaxpyWorks(programs.front());

  // Only the thread that compiled counts it as its own.
  const std::uint64_t mine = cl::programsCompiledOnThisThread();
  std::thread([] { cl::Program::build(context(), uniqueSaxpy()); }).join();
  EXPECT_EQ(cl::programsCompiledOnThisThread(), mine);
  cl::Program::build(context(), uniqueSaxpy());
  EXPECT_EQ(cl::programsCompiledOnThisThread(), mine + 1);

  const std::string broken = uniqueSaxpy() + "__kernel void broken( { }\n";
  const auto none = buildAtOnce(3, [&] { return cl::Program::build(context(), broken); }, errors);
  EXPECT_EQ(errors.load(), 3);
  for (const auto& program : none) EXPECT_EQ(program, nullptr);
}

TEST(ProgramBinaries, KeptUnlessHandingThemOutCostsACompile) {
  const cl::DeviceInfo& device = context()->device();
  {
    const ScopedEnv unset("MLPRT_PROGRAM_BINARIES", std::nullopt);
    EXPECT_EQ(cl::Program::keepsBinaries(device), !device.binary_costs_a_compile);
    cl::DeviceInfo pocl = device;
    pocl.binary_costs_a_compile = true;
    EXPECT_FALSE(cl::Program::keepsBinaries(pocl));
    pocl.binary_costs_a_compile = false;
    EXPECT_TRUE(cl::Program::keepsBinaries(pocl));
  }
  {
    const ScopedEnv keep("MLPRT_PROGRAM_BINARIES", std::string("1"));
    cl::DeviceInfo pocl = device;
    pocl.binary_costs_a_compile = true;
    EXPECT_TRUE(cl::Program::keepsBinaries(pocl));
  }
  const ScopedEnv none("MLPRT_PROGRAM_BINARIES", std::string("0"));
  EXPECT_FALSE(cl::Program::keepsBinaries(device));
}

TEST_F(ProgramDiskCache, NothingIsStoredWhereBinariesAreNotKept) {
  const ScopedEnv none("MLPRT_PROGRAM_BINARIES", std::string("0"));
  const std::string source = uniqueSaxpy();
  const cl::ProgramCacheStats before = cl::programCacheStats();
  expectSaxpyWorks(cl::Program::build(context(), source));
  const auto again = cl::Program::build(freshContext(), source);  // compiled again: no disk cache
  const cl::ProgramCacheStats after = cl::programCacheStats();
  EXPECT_EQ(after.compiled, before.compiled + 2);
  EXPECT_EQ(after.loaded_from_disk, before.loaded_from_disk);
  EXPECT_EQ(again->origin(), cl::Program::Origin::kCompiled);
  EXPECT_TRUE(cacheFiles(programs_).empty());
  expectSaxpyWorks(again);
}

TEST_F(ProgramDiskCache, AnotherContextLoadsTheBinaryFromDisk) {
  const std::string source = uniqueSaxpy();
  const auto compiled = cl::Program::build(context(), source);
  if (compiled->binary().empty()) GTEST_SKIP() << "the driver provides no program binaries";

  const cl::ProgramCacheStats before = cl::programCacheStats();
  const auto loaded = cl::Program::build(freshContext(), source);
  const cl::ProgramCacheStats after = cl::programCacheStats();
  EXPECT_EQ(loaded->origin(), cl::Program::Origin::kDiskCache);
  EXPECT_EQ(after.loaded_from_disk, before.loaded_from_disk + 1);
  EXPECT_EQ(after.compiled, before.compiled);
  expectSaxpyWorks(loaded);
}

TEST_F(ProgramDiskCache, OtherOptionsDoNotShareTheFile) {
  const std::string source = uniqueSaxpy();
  cl::Program::build(context(), source);
  const cl::ProgramCacheStats before = cl::programCacheStats();
  const auto other = cl::Program::build(freshContext(), source, "-cl-mad-enable");
  EXPECT_EQ(other->origin(), cl::Program::Origin::kCompiled);
  EXPECT_EQ(cl::programCacheStats().compiled, before.compiled + 1);
  EXPECT_EQ(cacheFiles(programs_).size(), 2u);
}

TEST_F(ProgramDiskCache, UnwritableDirectoryOnlyWarns) {
  // MLPRT_CACHE_DIR names a regular file, so its "programs" subdirectory cannot be created.
  const fs::path blocker = root_.path() / "not-a-directory";
  writeFile(blocker, "x");
  const ScopedEnv cache_dir("MLPRT_CACHE_DIR", blocker.string());
  const LogCapture log(Severity::kWARNING);
  std::shared_ptr<const cl::Program> program;
  EXPECT_NO_THROW(program = cl::Program::build(context(), uniqueSaxpy()));
  EXPECT_TRUE(log.saw("program cache"));
  if (program) {
    expectSaxpyWorks(program);
  }
}

// How a stored cache file is damaged before another context builds the same source.
enum class Damage {
  kEmpty,
  kTruncatedMagic,
  kWrongMagic,
  kTruncatedKey,
  kDifferentKey,
  kHugeSizeField,
  kTruncatedBinary,
  kFlippedBinaryByte,
  kFlippedLastByte,
  kGarbageBinary,
};

std::string damageName(Damage damage) {
  switch (damage) {
    case Damage::kEmpty: return "Empty";
    case Damage::kTruncatedMagic: return "TruncatedMagic";
    case Damage::kWrongMagic: return "WrongMagic";
    case Damage::kTruncatedKey: return "TruncatedKey";
    case Damage::kDifferentKey: return "DifferentKey";
    case Damage::kHugeSizeField: return "HugeSizeField";
    case Damage::kTruncatedBinary: return "TruncatedBinary";
    case Damage::kFlippedBinaryByte: return "FlippedBinaryByte";
    case Damage::kFlippedLastByte: return "FlippedLastByte";
    case Damage::kGarbageBinary: return "GarbageBinary";
  }
  return "Unknown";
}

// Altered bytes in an intact-looking file must be noticed and reported (a file that is merely
// shorter than its size fields say may be dropped silently).
bool altersTheBinary(Damage damage) {
  return damage == Damage::kFlippedBinaryByte || damage == Damage::kFlippedLastByte ||
         damage == Damage::kGarbageBinary;
}

// Layout: magic line, u64 key size, key (ending with the source), u64 binary size, binary,
// then whatever integrity data the core appends.
std::string damaged(std::string contents, const std::string& source, Damage damage) {
  const std::size_t magic_end = sizeof(kMagic);  // includes the '\n'
  const std::size_t key_end = contents.find(source) + source.size();
  const std::size_t binary_start = key_end + sizeof(std::uint64_t);
  const std::size_t rest = contents.size() - binary_start;
  switch (damage) {
    case Damage::kEmpty: return "";
    case Damage::kTruncatedMagic: return contents.substr(0, 7);
    case Damage::kWrongMagic: contents[6] = 'X'; return contents;
    case Damage::kTruncatedKey: return contents.substr(0, (magic_end + key_end) / 2);
    case Damage::kDifferentKey: contents[key_end - source.size() + 3] ^= 0x20; return contents;
    case Damage::kHugeSizeField:
      for (std::size_t i = 0; i < sizeof(std::uint64_t); ++i) contents[magic_end + i] = '\xff';
      return contents;
    case Damage::kTruncatedBinary: return contents.substr(0, binary_start + rest / 2);
    case Damage::kFlippedBinaryByte: contents[binary_start + rest / 2] ^= 0x01; return contents;
    case Damage::kFlippedLastByte: contents.back() ^= 0x01; return contents;
    case Damage::kGarbageBinary: {
      const std::vector<unsigned char> garbage = randomBytes(rest, 77);
      std::copy(garbage.begin(), garbage.end(), contents.begin() + static_cast<std::ptrdiff_t>(binary_start));
      return contents;
    }
  }
  return contents;
}

class ProgramDiskCacheDamage : public ProgramDiskCache,
                               public ::testing::WithParamInterface<Damage> {};

TEST_P(ProgramDiskCacheDamage, DamagedFileIsRecompiledAndRewritten) {
  const std::string source = uniqueSaxpy();
  const fs::path file = buildAndFindFile(source);
  ASSERT_FALSE(file.empty());
  const std::string original = readFile(file);
  writeFile(file, damaged(original, source, GetParam()));

  const LogCapture log;
  const cl::ProgramCacheStats before = cl::programCacheStats();
  std::shared_ptr<const cl::Program> program;
  ASSERT_NO_THROW(program = cl::Program::build(freshContext(), source));
  const cl::ProgramCacheStats after = cl::programCacheStats();
  EXPECT_EQ(program->origin(), cl::Program::Origin::kCompiled);
  EXPECT_EQ(after.compiled, before.compiled + 1);
  EXPECT_EQ(after.loaded_from_disk, before.loaded_from_disk);
  if (altersTheBinary(GetParam())) {
    EXPECT_TRUE(log.saw(file.filename().string()));  // a warning names the damaged file
  }
  expectSaxpyWorks(program);

  // The file was replaced by a good one, which the next context loads.
  const std::string rewritten = readFile(file);
  EXPECT_EQ(rewritten.compare(0, sizeof(kMagic) - 1, kMagic), 0);
  if (!program->binary().empty()) {
    EXPECT_EQ(cl::Program::build(freshContext(), source)->origin(), cl::Program::Origin::kDiskCache);
  }
}

INSTANTIATE_TEST_SUITE_P(AllKinds, ProgramDiskCacheDamage,
                         ::testing::Values(Damage::kEmpty, Damage::kTruncatedMagic,
                                           Damage::kWrongMagic, Damage::kTruncatedKey,
                                           Damage::kDifferentKey, Damage::kHugeSizeField,
                                           Damage::kTruncatedBinary, Damage::kFlippedBinaryByte,
                                           Damage::kFlippedLastByte, Damage::kGarbageBinary),
                         [](const ::testing::TestParamInfo<Damage>& tested) {
                           return damageName(tested.param);
                         });

}  // namespace
}  // namespace mlprt::test
