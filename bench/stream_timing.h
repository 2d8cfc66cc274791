// Device time per call of a launch sequence, and results read back and compared, for the bench/
// programs built on mlprt's core library (mma_tune.cpp, mma_profile.cpp, mlp_mma_tune.cpp,
// gemm_tune.cpp, row_tune.cpp); the raw OpenCL ones use cl_bench_util.h.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <vector>

#include "backend/opencl/copy.h"
#include "backend/opencl/kernels.h"
#include "backend/opencl/stream.h"
#include "core/half.h"

namespace bench {

// The values of a FLOAT or HALF tensor, as floats (a blocking copy).
inline std::vector<float> readAsFloat(mlprt::cl::Stream& stream, const mlprt::cl::DeviceTensor& t) {
  const auto count = static_cast<std::size_t>(t.shape.volume());
  std::vector<unsigned char> bytes(count * mlprt::elementSize(t.type));
  mlprt::cl::copyDeviceToHost(stream, bytes.data(), t.range, bytes.size(), mlprt::cl::CopyMode::kBlocking);
  std::vector<float> values(count);
  for (std::size_t i = 0; i < count; ++i) {
    if (t.type == mlprt::DataType::kHALF) {
      std::uint16_t h;
      std::memcpy(&h, bytes.data() + 2 * i, 2);
      values[i] = mlprt::halfToFloat(h);
    } else {
      std::memcpy(&values[i], bytes.data() + 4 * i, 4);
    }
  }
  return values;
}

// Largest |x - y| over the largest |y|.
inline double relativeError(const std::vector<float>& x, const std::vector<float>& y) {
  double difference = 0, scale = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    difference = std::max(difference, std::fabs(static_cast<double>(x[i]) - y[i]));
    scale = std::max(scale, std::fabs(static_cast<double>(y[i])));
  }
  return difference / std::max(scale, 1e-30);
}

// Milliseconds per call of `launch` on `stream`, between two events around `reps` back-to-back
// calls, after two warm-up calls.
// (Streams start untimed: the stream moves to its profiling queue before the warm-up calls.)
inline double streamMilliseconds(mlprt::cl::Stream& stream, int reps, const std::function<void()>& launch) {
  stream.enableTiming();
  launch();
  launch();
  stream.synchronize();
  const mlprt::cl::Event start = stream.recordTimed();
  for (int i = 0; i < reps; ++i) launch();
  const mlprt::cl::Event end = stream.recordTimed();
  end.wait();
  return mlprt::cl::Event::elapsedMilliseconds(start, end) / reps;
}

}  // namespace bench
