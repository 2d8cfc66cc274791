#include "builder/tactic_timing.h"

#include <algorithm>

namespace mlprt::builder {

WarmUpVerdict judgeWarmUp(double warm_up_ms, double best_so_far_ms) {
  if (warm_up_ms < 0.0) return WarmUpVerdict::kMeasure;
  if (best_so_far_ms >= 0.0 && warm_up_ms > 2.0 * best_so_far_ms) return WarmUpVerdict::kCannotWin;
  if (warm_up_ms >= kTimingBudgetMilliseconds) return WarmUpVerdict::kLongEnough;
  return WarmUpVerdict::kMeasure;
}

int furtherRuns(double first_ms, int iterations) {
  if (iterations > 0) return iterations - 1;
  if (first_ms <= 0.0) return kMaxTimedRuns;
  return static_cast<int>(std::clamp(kTimingBudgetMilliseconds / first_ms, 0.0, double{kMaxTimedRuns}));
}

}  // namespace mlprt::builder
