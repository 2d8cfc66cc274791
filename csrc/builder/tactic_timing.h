// How the builder times one tactic: the decisions, apart from the runs, so they can be tested.
//
// A tactic runs once to warm up (the first launch compiles or specializes kernels: seconds on
// PoCL). That run's kernels are timed by their own events, which leave the compile out; when
// they already take more than twice the best tactic's time the tactic cannot win, and when they
// take longer than the whole timing budget a second run would tell nothing new (a slow device
// timing a large layer). Otherwise the tactic is timed by more runs, as many as fit the budget.
#pragma once

namespace mlprt::builder {

inline constexpr double kTimingBudgetMilliseconds = 20.0;
inline constexpr int kMaxTimedRuns = 10;

enum class WarmUpVerdict {
  kCannotWin,   // slower than twice the best so far: its warm-up time is its time
  kLongEnough,  // the warm-up alone spent the budget: its time is the measurement
  kMeasure,     // time it by further runs
};

// `warm_up_ms`: the warm-up's kernel time, or a negative number when it could not be told (a
// step that queues commands other than kernels). `best_so_far_ms`: negative before any tactic.
WarmUpVerdict judgeWarmUp(double warm_up_ms, double best_so_far_ms);

// How many runs after the first timed one fit the budget when the first took `first_ms`; with
// `iterations` > 0 (BuilderConfig::avgTimingIterations, TensorRT's avg_timing_iterations) exactly
// iterations - 1, whatever the budget.
int furtherRuns(double first_ms, int iterations = 0);

}  // namespace mlprt::builder
