// The shapes of a plan's tensors at its optimization profiles' corners (profile_corners.h).

#include "builder/profile_corners.h"

#include <utility>

#include "core/error.h"
#include "runtime/plan_shapes.h"

namespace mlprt::builder {
namespace {

using engine::EnginePlan;

}  // namespace

std::string cornerName(std::size_t profile, const char* corner) {
  return "optimization profile " + std::to_string(profile) + " at its " + corner + " shapes";
}

std::vector<CornerShapes> profileCorners(const EnginePlan& plan) {
  std::vector<CornerShapes> result;
  for (std::size_t p = 0; p < plan.profiles.size(); ++p) {
    const engine::ProfileShapes& profile = plan.profiles[p];
    const std::pair<const char*, const std::vector<Dims>*> corners[] = {
        {"min", &profile.min}, {"opt", &profile.opt}, {"max", &profile.max}};
    for (const auto& [corner, inputs] : corners) {
      const std::string name = cornerName(p, corner);
      try {
        result.push_back({name, runtime::inferPlanShapes(plan, *inputs)});
      } catch (const InvalidArgument& e) {
        throw InvalidArgument(name + ": " + e.what());
      }
    }
  }
  return result;
}

std::vector<std::vector<Dims>> cornerShapes(const EnginePlan& plan) {
  std::vector<std::vector<Dims>> shapes;
  for (CornerShapes& corner : profileCorners(plan)) shapes.push_back(std::move(corner.shapes));
  return shapes;
}

}  // namespace mlprt::builder
