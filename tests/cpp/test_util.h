// Helpers shared by the mlprt C++ tests: the device under test, deterministic random data,
// exception checks and scoped environment variables.
#pragma once

#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "backend/opencl/context.h"
#include "backend/opencl/copy.h"
#include "backend/opencl/kernels.h"
#include "backend/opencl/memory.h"
#include "backend/opencl/stream.h"
#include "core/data_type.h"
#include "core/half.h"
#include "core/logging.h"
#include "network/network.h"

namespace mlprt::test {

// Whether this suite is built with a sanitizer (scripts/sanitize.sh). A few kernel tests then run
// fewer of their cases: their time goes into PoCL running kernels, which no sanitizer instruments,
// while the host code they check takes the same paths on the cases left.
#ifdef MLPRT_TESTS_SANITIZED
inline constexpr bool kSanitizedBuild = true;
#else
inline constexpr bool kSanitizedBuild = false;
#endif

// The context every test runs on: the current device (MLPRT_DEVICE, else the first GPU/CPU).
inline std::shared_ptr<cl::Context> context() { return cl::Context::current(); }

// A test hook (cl::setConvolutionMmaEmulation, cl::setAttentionMmaEmulation, ...) set to `on` for
// one scope, and off after it.
class ScopedHook {
 public:
  explicit ScopedHook(void (*set)(bool), bool on = true) : set_(set) { set_(on); }
  ~ScopedHook() { set_(false); }
  ScopedHook(const ScopedHook&) = delete;
  ScopedHook& operator=(const ScopedHook&) = delete;

 private:
  void (*set_)(bool);
};

// Whether the tests run on an NVIDIA device (where the tensor-core kernels run for real, and
// emulated ones compile in seconds rather than CPU compilers' minutes).
inline bool isNvidiaDevice() {
  const cl::DeviceInfo& device = context()->device();
  std::string text = device.vendor + " " + device.platform_name;
  for (char& ch : text) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return text.find("NVIDIA") != std::string::npos;
}

// After the last test, before the process's exit handlers: every stream finished, so no launch a
// test did not wait for is still compiling in PoCL's worker thread while exit tears PoCL's
// compiler down (cl::Stream::finishAll says why). One registration per test binary (an inline
// variable is initialized once, whichever files include this header).
class FinishStreamsAtTheEnd : public ::testing::Environment {
 public:
  void TearDown() override { cl::Stream::finishAll(); }
};
inline ::testing::Environment* const kFinishStreamsAtTheEnd =
    ::testing::AddGlobalTestEnvironment(new FinishStreamsAtTheEnd);  // gtest owns environments

// One stream and one kernel cache for a test process's kernel launches (CTest runs each test in a
// process of its own; the kernel cache is not for concurrent use).
inline cl::Stream& stream() {
  static std::shared_ptr<cl::Stream> instance = cl::Stream::create(context());
  return *instance;
}

inline cl::KernelCache& cache() {
  static cl::KernelCache instance(context());
  return instance;
}

inline std::shared_ptr<cl::DeviceBuffer> allocate(std::size_t bytes) {
  return cl::DeviceBuffer::allocate(context(), bytes);
}

inline cl::DeviceRange at(const std::shared_ptr<cl::DeviceBuffer>& buffer, std::size_t offset = 0) {
  return cl::DeviceRange{buffer, offset};
}

// Random bytes in [1, 255] (never zero, so a missed write cannot look like a correct one).
inline std::vector<unsigned char> randomBytes(std::size_t count, std::uint32_t seed) {
  std::mt19937 engine(seed);
  std::uniform_int_distribution<int> byte(1, 255);
  std::vector<unsigned char> data(count);
  for (unsigned char& value : data) value = static_cast<unsigned char>(byte(engine));
  return data;
}

// Random floats in [-1, 1] with |x| >= 1/64, so no input is zero or nearly so.
inline std::vector<float> randomFloats(std::size_t count, std::uint32_t seed) {
  std::mt19937 engine(seed);
  std::uniform_real_distribution<float> magnitude(1.0f / 64.0f, 1.0f);
  std::bernoulli_distribution negative(0.5);
  std::vector<float> data(count);
  for (float& value : data) value = negative(engine) ? -magnitude(engine) : magnitude(engine);
  return data;
}

// Values as a tensor of `type` stores them (C casts; float to bool is != 0; HALF rounds to
// nearest), and back as T (exact for every value the tests use).
template <typename T>
std::vector<unsigned char> encodeAs(const std::vector<T>& values, DataType type) {
  const std::size_t size = elementSize(type);
  std::vector<unsigned char> bytes(values.size() * size);
  for (std::size_t i = 0; i < values.size(); ++i) {
    unsigned char* at = bytes.data() + i * size;
    const double v = static_cast<double>(values[i]);
    const auto put = [&](auto x) { std::memcpy(at, &x, size); };
    switch (type) {
      case DataType::kFLOAT: put(static_cast<float>(v)); break;
      case DataType::kHALF: put(floatToHalf(static_cast<float>(v))); break;
      case DataType::kINT32: put(static_cast<std::int32_t>(v)); break;
      case DataType::kINT64: put(static_cast<std::int64_t>(v)); break;
      case DataType::kINT8: put(static_cast<std::int8_t>(v)); break;
      case DataType::kUINT8: put(static_cast<std::uint8_t>(v)); break;
      case DataType::kBOOL: put(static_cast<std::uint8_t>(v != 0 ? 1 : 0)); break;
    }
  }
  return bytes;
}

template <typename T>
std::vector<T> decodeAs(const std::vector<unsigned char>& bytes, DataType type) {
  const std::size_t size = elementSize(type);
  std::vector<T> values(bytes.size() / size);
  for (std::size_t i = 0; i < values.size(); ++i) {
    const unsigned char* at = bytes.data() + i * size;
    const auto get = [&](auto x) {
      std::memcpy(&x, at, size);
      return x;
    };
    switch (type) {
      case DataType::kFLOAT: values[i] = static_cast<T>(get(0.0f)); break;
      case DataType::kHALF: values[i] = static_cast<T>(halfToFloat(get(std::uint16_t{0}))); break;
      case DataType::kINT32: values[i] = static_cast<T>(get(std::int32_t{0})); break;
      case DataType::kINT64: values[i] = static_cast<T>(get(std::int64_t{0})); break;
      case DataType::kINT8: values[i] = static_cast<T>(get(std::int8_t{0})); break;
      case DataType::kUINT8:
      case DataType::kBOOL: values[i] = static_cast<T>(get(std::uint8_t{0})); break;
    }
  }
  return values;
}

// What storing `values` as `type` keeps of them (the inputs the device actually sees).
template <typename T>
std::vector<T> storedAs(const std::vector<T>& values, DataType type) {
  return decodeAs<T>(encodeAs(values, type), type);
}

// The double-precision reference of a batched product, before any activation: for batch entry p,
// row i, column j, sums = bias[j] + sum_l a(i, l) * b(l, j), with a stored m x k (k x m when
// a_trans) and b stored k x n (n x k when b_trans), entry p of an operand at p * its stride
// (stride 0: one matrix shared by the batch); bias may be null. magnitudes holds the sum of the
// absolute terms, for tolerances of results that cancel. Output index: (p * m + i) * n + j.
struct GemmReference {
  std::vector<double> sums;
  std::vector<double> magnitudes;
};

template <typename T>
GemmReference referenceGemm(const std::vector<T>& a, const std::vector<T>& b, const std::vector<T>* bias,
                            std::int64_t batch, std::int64_t m, std::int64_t n, std::int64_t k, bool a_trans,
                            bool b_trans, std::int64_t a_stride, std::int64_t b_stride) {
  GemmReference reference;
  reference.sums.resize(static_cast<std::size_t>(batch * m * n));
  reference.magnitudes.resize(reference.sums.size());
  for (std::int64_t p = 0; p < batch; ++p) {
    const std::int64_t a_base = p * a_stride, b_base = p * b_stride;
    for (std::int64_t i = 0; i < m; ++i) {
      for (std::int64_t j = 0; j < n; ++j) {
        double sum = 0, magnitude = 0;
        for (std::int64_t l = 0; l < k; ++l) {
          const double x = a[static_cast<std::size_t>(a_base + (a_trans ? l * m + i : i * k + l))];
          const double y = b[static_cast<std::size_t>(b_base + (b_trans ? j * k + l : l * n + j))];
          sum += x * y;
          magnitude += std::fabs(x * y);
        }
        if (bias) {
          sum += (*bias)[static_cast<std::size_t>(j)];
          magnitude += std::fabs(static_cast<double>((*bias)[static_cast<std::size_t>(j)]));
        }
        const auto o = static_cast<std::size_t>((p * m + i) * n + j);
        reference.sums[o] = sum;
        reference.magnitudes[o] = magnitude;
      }
    }
  }
  return reference;
}

// Blocking host <-> device transfers of whole vectors, for setting up and checking tests.
template <typename T>
void upload(cl::Stream& stream, const cl::DeviceRange& destination, const std::vector<T>& data) {
  cl::copyHostToDevice(stream, destination, data.data(), data.size() * sizeof(T),
                       cl::CopyMode::kBlocking);
}

template <typename T>
std::vector<T> download(cl::Stream& stream, const cl::DeviceRange& source, std::size_t count) {
  std::vector<T> data(count);
  cl::copyDeviceToHost(stream, data.data(), source, count * sizeof(T), cl::CopyMode::kBlocking);
  return data;
}

// Succeeds when `action` throws exactly `Exception` (or a subclass) with `needle` in its message.
template <typename Exception, typename Action>
::testing::AssertionResult throwsWith(Action&& action, const std::string& needle) {
  try {
    std::forward<Action>(action)();
  } catch (const Exception& error) {
    const std::string message = error.what();
    if (message.find(needle) != std::string::npos) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << "the exception message does not contain '" << needle << "': " << message;
  } catch (const std::exception& error) {
    return ::testing::AssertionFailure() << "threw another exception type: " << error.what();
  }
  return ::testing::AssertionFailure() << "nothing was thrown (expected '" << needle << "')";
}

// Collects log messages for the life of the object (the sink runs outside the logger's lock, on
// whichever thread logs: a build's compile threads too, so the messages are kept under a lock).
class LogCapture {
 public:
  explicit LogCapture(Severity min_severity = Severity::kVERBOSE) {
    setLogSink(
        [this](Severity, const std::string& message) {
          const std::lock_guard<std::mutex> lock(mutex_);
          messages_.push_back(message);
        },
        min_severity);
  }
  ~LogCapture() { resetLogSink(); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  // The messages so far that contain `needle`.
  std::vector<std::string> matching(const std::string& needle) const {
    const std::lock_guard<std::mutex> lock(mutex_);
    std::vector<std::string> found;
    for (const std::string& message : messages_) {
      if (message.find(needle) != std::string::npos) found.push_back(message);
    }
    return found;
  }

  ::testing::AssertionResult saw(const std::string& needle) const {
    if (!matching(needle).empty()) return ::testing::AssertionSuccess();
    const std::lock_guard<std::mutex> lock(mutex_);
    std::string all;
    for (const std::string& message : messages_) all += "\n  " + message;
    return ::testing::AssertionFailure() << "no log message contains '" << needle << "'; got:" << all;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> messages_;
};

// Sets (or, with nullopt, unsets) an environment variable for the life of the object.
class ScopedEnv {
 public:
  ScopedEnv(std::string name, const std::optional<std::string>& value) : name_(std::move(name)) {
    if (const char* old = std::getenv(name_.c_str())) previous_ = old;
    apply(value);
  }
  ~ScopedEnv() { apply(previous_); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  void apply(const std::optional<std::string>& value) const {
    if (value) {
      ::setenv(name_.c_str(), value->c_str(), 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }

  std::string name_;
  std::optional<std::string> previous_;
};

// A fresh, uniquely named directory, removed with everything in it on destruction. It lies
// under $MLPRT_CACHE_DIR when set (CTest points that into the build tree), else under /tmp.
class TemporaryDirectory {
 public:
  TemporaryDirectory() {
    namespace fs = std::filesystem;
    const char* cache = std::getenv("MLPRT_CACHE_DIR");
    const fs::path parent = cache && *cache ? fs::path(cache) : fs::temp_directory_path();
    std::random_device random;
    path_ = parent / ("mlprt-test-" + std::to_string(random()) + "-" + std::to_string(random()));
    fs::create_directories(path_);
  }
  ~TemporaryDirectory() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TemporaryDirectory(const TemporaryDirectory&) = delete;
  TemporaryDirectory& operator=(const TemporaryDirectory&) = delete;

  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

// ---- Networks built in C++ ---------------------------------------------------------------

// FLOAT weights holding `values`.
inline network::Weights floatWeights(const std::vector<float>& values) {
  network::Weights weights;
  weights.type = DataType::kFLOAT;
  weights.bytes.resize(values.size() * sizeof(float));
  std::memcpy(weights.bytes.data(), values.data(), weights.bytes.size());
  return weights;
}

// A constant layer of `values`; returns its output.
inline network::TensorId addConstant(network::Network& network, const Dims& shape, const std::vector<float>& values) {
  const int layer = network.addLayer("", network::ConstantLayer{shape, floatWeights(values)}, {});
  return network.layer(layer).outputs[0];
}

// A layer on `inputs`; returns its (first) output.
inline network::TensorId addLayer(network::Network& network, network::LayerParameters parameters,
                                  const std::vector<network::TensorId>& inputs) {
  return network.layer(network.addLayer("", std::move(parameters), inputs)).outputs[0];
}

}  // namespace mlprt::test
