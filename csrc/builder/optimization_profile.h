// An optimization profile: for each dynamic network input, the smallest, typical and largest
// shape an engine must accept. Kernels are tuned at the typical (opt) shape; memory is planned
// for the largest.
#pragma once

#include <map>
#include <string>

#include "core/dims.h"

namespace mlprt::builder {

struct ShapeRange {
  Dims min;
  Dims opt;
  Dims max;
};

class OptimizationProfile {
 public:
  // Throws InvalidArgument naming the input when the three shapes differ in rank, hold
  // dynamic or negative extents, or are not ordered min <= opt <= max in every dimension.
  void setShape(const std::string& input, const Dims& min, const Dims& opt, const Dims& max);
  // The range set for `input`; throws InvalidArgument when none was set.
  const ShapeRange& shape(const std::string& input) const;
  bool has(const std::string& input) const { return shapes_.count(input) != 0; }
  const std::map<std::string, ShapeRange>& shapes() const noexcept { return shapes_; }

 private:
  std::map<std::string, ShapeRange> shapes_;
};

}  // namespace mlprt::builder
