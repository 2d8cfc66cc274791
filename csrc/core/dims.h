// Tensor shapes. A dimension of -1 is dynamic (known only once an input shape is set).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace mlprt {

class Dims {
 public:
  static constexpr std::int64_t kDynamic = -1;
  static constexpr std::size_t kMaxRank = 8;

  Dims() = default;
  Dims(std::initializer_list<std::int64_t> extents);
  // Throws InvalidArgument for a rank above kMaxRank or an extent below -1.
  explicit Dims(std::vector<std::int64_t> extents);

  std::size_t rank() const noexcept { return extents_.size(); }
  std::int64_t operator[](std::size_t axis) const { return extents_.at(axis); }
  const std::vector<std::int64_t>& extents() const noexcept { return extents_; }
  bool isDynamic() const noexcept;
  // Number of elements. Throws InvalidArgument when a dimension is dynamic or the product
  // does not fit in 63 bits.
  std::int64_t volume() const;
  // "(1, 784)"; dynamic extents print as -1.
  std::string toString() const;

  bool operator==(const Dims& other) const noexcept { return extents_ == other.extents_; }
  bool operator!=(const Dims& other) const noexcept { return !(*this == other); }

 private:
  std::vector<std::int64_t> extents_;
};

// Whether `part`'s elements, repeated, cover `whole` in order: `part` is `whole`'s shape, or its
// trailing axes with the axes before them 1 or absent (an Add broadcasting BERT's position
// embeddings (1, S, H) over (B, S, H)). An unknown extent (-1) matches an unknown one or a known
// one above 1 (a 1 may be a broadcast, which only the leading axes may be).
bool repeatsOverLeadingAxes(const Dims& part, const Dims& whole);

}  // namespace mlprt
