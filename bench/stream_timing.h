// Device time per call of a launch sequence, for the bench/ programs built on mlprt's core
// library (mma_tune.cpp, mma_profile.cpp, mlp_mma_tune.cpp); the raw OpenCL ones use
// cl_bench_util.h.
#pragma once
#include <functional>

#include "backend/opencl/stream.h"

namespace bench {

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
