// Per-layer timing reports, TensorRT's IProfiler.
#pragma once

#include <string>

namespace mlprt::runtime {

class Profiler {
 public:
  virtual ~Profiler() = default;
  // Called once per step of the engine, in execution order, after a profiled inference: the
  // step's name (the inspector's layer name; fused steps name their layers joined by " + ")
  // and its device time in milliseconds. A step whose commands are all kernels is the sum of
  // its kernels' device times; any other step (copies, library calls) is the span between
  // markers queued around it.
  virtual void reportLayerTime(const std::string& layer_name, float milliseconds) = 0;
};

}  // namespace mlprt::runtime
