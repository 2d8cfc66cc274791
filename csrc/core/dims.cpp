#include "core/dims.h"

#include <algorithm>
#include <limits>

#include "core/error.h"

namespace mlprt {

Dims::Dims(std::initializer_list<std::int64_t> extents) : Dims(std::vector<std::int64_t>(extents)) {}

Dims::Dims(std::vector<std::int64_t> extents) : extents_(std::move(extents)) {
  if (extents_.size() > kMaxRank) {
    throw InvalidArgument("shape " + toString() + " has rank " + std::to_string(extents_.size()) +
                          "; at most " + std::to_string(kMaxRank) + " dimensions are supported");
  }
  for (std::int64_t extent : extents_) {
    if (extent < kDynamic) {
      throw InvalidArgument("shape " + toString() + " has a negative dimension (only -1, dynamic, is allowed)");
    }
  }
}

bool Dims::isDynamic() const noexcept {
  return std::any_of(extents_.begin(), extents_.end(), [](std::int64_t e) { return e == kDynamic; });
}

std::int64_t Dims::volume() const {
  std::int64_t product = 1;
  for (std::int64_t extent : extents_) {
    if (extent == kDynamic) throw InvalidArgument("shape " + toString() + " is dynamic: it has no volume yet");
    if (extent != 0 && product > std::numeric_limits<std::int64_t>::max() / extent) {
      throw InvalidArgument("shape " + toString() + " has more elements than fit in 63 bits");
    }
    product *= extent;
  }
  return product;
}

std::string Dims::toString() const {
  std::string text = "(";
  for (std::size_t axis = 0; axis < extents_.size(); ++axis) {
    if (axis) text += ", ";
    text += std::to_string(extents_[axis]);
  }
  return text + ")";
}

bool repeatsOverLeadingAxes(const Dims& part, const Dims& whole) {
  if (part.rank() > whole.rank()) return false;
  const auto matches = [](std::int64_t a, std::int64_t b) { return a == b || (a > 1 && b < 0); };
  std::size_t trailing = 0;  // how many of whole's last axes part has whole
  while (trailing < part.rank() && matches(part[part.rank() - 1 - trailing], whole[whole.rank() - 1 - trailing])) {
    ++trailing;
  }
  for (std::size_t axis = 0; axis + trailing < part.rank(); ++axis) {
    if (part[axis] != 1) return false;
  }
  return true;
}

}  // namespace mlprt
