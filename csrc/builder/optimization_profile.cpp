#include "builder/optimization_profile.h"

#include "core/error.h"

namespace mlprt::builder {

void OptimizationProfile::setShape(const std::string& input, const Dims& min, const Dims& opt, const Dims& max) {
  const std::string where = "optimization profile shape of input '" + input + "'";
  if (min.rank() != opt.rank() || opt.rank() != max.rank()) {
    throw InvalidArgument(where + ": min " + min.toString() + ", opt " + opt.toString() + " and max " +
                          max.toString() + " differ in rank");
  }
  for (std::size_t axis = 0; axis < min.rank(); ++axis) {
    if (min[axis] < 0 || opt[axis] < 0 || max[axis] < 0) {
      throw InvalidArgument(where + ": extents must be concrete (>= 0), got min " + min.toString() + ", opt " +
                            opt.toString() + ", max " + max.toString());
    }
    if (min[axis] > opt[axis] || opt[axis] > max[axis]) {
      throw InvalidArgument(where + ": needs min <= opt <= max in every dimension, but dimension " +
                            std::to_string(axis) + " has min " + std::to_string(min[axis]) + ", opt " +
                            std::to_string(opt[axis]) + ", max " + std::to_string(max[axis]));
    }
  }
  shapes_[input] = {min, opt, max};
}

const ShapeRange& OptimizationProfile::shape(const std::string& input) const {
  auto found = shapes_.find(input);
  if (found == shapes_.end()) {
    throw InvalidArgument("the optimization profile has no shape for input '" + input + "'");
  }
  return found->second;
}

}  // namespace mlprt::builder
