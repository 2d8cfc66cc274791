// fusedMlp: a chain of dense layers in one launch (kernels/fused_mlp.cl).
#include <algorithm>
#include <string>

#include "backend/opencl/kernel_support.h"
#include "backend/opencl/kernels.h"
#include "core/error.h"

namespace mlprt::cl {

using namespace support;

namespace {

constexpr const char* kName = "fusedMlp";

// Work-items per group: few rows per group means few groups, so each group gets more items to
// split K over (more loads in flight); many rows per group keep their partial sums in local
// memory, which bounds the items.
std::size_t threadsFor(int rows_per_group) { return rows_per_group <= 1 ? 1024 : rows_per_group == 2 ? 512 : 256; }

// The widest hidden layer: the local buffers' row length (1 when there is none).
std::int64_t widestHidden(const std::vector<std::int64_t>& widths) {
  std::int64_t widest = 1;
  for (std::size_t i = 1; i + 1 < widths.size(); ++i) widest = std::max(widest, widths[i]);
  return widest;
}

std::size_t localBytes(const std::vector<std::int64_t>& widths, int rows) {
  const auto hidden = static_cast<std::size_t>(widestHidden(widths));
  return (2 * static_cast<std::size_t>(rows) * hidden + static_cast<std::size_t>(rows) * threadsFor(rows)) *
         sizeof(float);
}

// Checks the stages against each other and against in / out; returns the widths (K0, N0, ...).
std::vector<std::int64_t> checkStages(const KernelCache& cache, const DeviceTensor& in,
                                      const std::vector<MlpStageOperands>& stages, const DeviceTensor& out) {
  if (stages.empty() || stages.size() > kMaxMlpStages) {
    throw InvalidArgument(std::string(kName) + ": " + std::to_string(stages.size()) + " stages; 1 to " +
                          std::to_string(kMaxMlpStages) + " are supported");
  }
  requireFloating(kName, "input", in);
  requireFloating(kName, "output", out);
  const std::int64_t volume = checkPlacementOrHost(cache, kName, "input", in);
  checkPlacementOrHost(cache, kName, "output", out);
  std::vector<std::int64_t> widths;
  const DeviceTensor& first = *stages.front().weights;
  for (std::size_t i = 0; i < stages.size(); ++i) {
    const std::string name = "stage " + std::to_string(i);
    if (!stages[i].weights) throw InvalidArgument(describe(kName, name) + " has no weights");
    const DeviceTensor& weights = *stages[i].weights;
    checkPlacement(cache, kName, name + " weights", weights);
    if (weights.shape.rank() != 2 || (!widths.empty() && weights.shape[0] != widths.back())) {
      throw InvalidArgument(describe(kName, name) + " weights " + weights.shape.toString() +
                            " do not take the previous stage's outputs");
    }
    if (weights.range.buffer != first.range.buffer || weights.type != first.type) {
      throw InvalidArgument(describe(kName, name) + " weights are not in the first stage's buffer and type");
    }
    if (widths.empty()) widths.push_back(weights.shape[0]);
    widths.push_back(weights.shape[1]);
    if (const DeviceTensor* bias = stages[i].bias) {
      if (checkPlacement(cache, kName, name + " bias", *bias) != widths.back() ||
          bias->range.buffer != first.range.buffer || bias->type != first.type) {
        throw InvalidArgument(describe(kName, name) + " bias " + bias->shape.toString() +
                              " needs " + std::to_string(widths.back()) + " values beside the weights");
      }
    }
  }
  if (widths.front() == 0 || volume % widths.front() != 0) {
    throw InvalidArgument(describe(kName, "input") + " shape " + in.shape.toString() +
                          " does not hold whole rows of " + std::to_string(widths.front()));
  }
  const std::int64_t rows = volume / widths.front();
  if (out.shape != Dims({rows, widths.back()})) {
    throw InvalidArgument(describe(kName, "output") + " shape " + out.shape.toString() + " should be (" +
                          std::to_string(rows) + ", " + std::to_string(widths.back()) + ")");
  }
  return widths;
}

}  // namespace

const std::vector<int>& fusedMlpRowChoices() {
  static const std::vector<int> choices{1, 2, 4, 8};
  return choices;
}

bool fusedMlpFits(const Context& context, const std::vector<std::int64_t>& widths, int rows_per_group) {
  const DeviceInfo& device = context.device();
  // One work-group computes all of its rows' layers, so a model with millions of weights would
  // keep one compute unit busy for milliseconds per row block: such models are left to GEMMs.
  constexpr std::int64_t kMaxWeights = std::int64_t{1} << 21;
  std::int64_t weights = 0;
  for (std::size_t i = 0; i + 1 < widths.size(); ++i) weights += widths[i] * widths[i + 1];
  return widths.size() >= 2 && widths.size() <= kMaxMlpStages + 1 && weights <= kMaxWeights &&
         device.max_work_group >= threadsFor(rows_per_group) && localBytes(widths, rows_per_group) <= device.local_memory;
}

void fusedMlp(KernelCache& cache, Stream& stream, int rows_per_group, const DeviceTensor& in,
              const std::vector<MlpStageOperands>& stages, const DeviceTensor& out) {
  const auto& choices = fusedMlpRowChoices();
  if (std::find(choices.begin(), choices.end(), rows_per_group) == choices.end()) {
    throw InvalidArgument(std::string(kName) + ": " + std::to_string(rows_per_group) + " rows per work-group is not offered");
  }
  const std::vector<std::int64_t> widths = checkStages(cache, in, stages, out);
  if (!fusedMlpFits(*cache.context(), widths, rows_per_group)) {
    throw InvalidArgument(std::string(kName) + ": layers this wide do not fit the device's local memory");
  }
  const DeviceTensor& weights = *stages.front().weights;
  const std::size_t threads = threadsFor(rows_per_group);
  // Rows of x in pinned host memory are copied to local memory first (one trip over the bus).
  const std::size_t staged_x_bytes = static_cast<std::size_t>(rows_per_group * widths.front()) * sizeof(float);
  const bool stage_x = in.inPinnedHostMemory() &&
                       localBytes(widths, rows_per_group) + staged_x_bytes <= cache.context()->device().local_memory;
  std::string options = "-DSTAGES=" + std::to_string(stages.size()) + " -DROWS=" + std::to_string(rows_per_group) +
                        " -DTHREADS=" + std::to_string(threads) + " -DMAXW=" + std::to_string(widestHidden(widths));
  for (std::size_t i = 0; i < stages.size(); ++i) options += " " + mlpStageOptions(i, widths[i], widths[i + 1], stages[i]);
  options = joinOptions({options, halfOption("IN", in.type), halfOption("B", weights.type),
                         halfOption("BIAS", weights.type), halfOption("OUT", out.type),
                         addressOption("IN", in), addressOption("OUT", out), stage_x ? "-DSTAGE_X" : ""});
  Kernel& kernel = cache.get("fused_mlp", options, "fused_mlp");
  Arguments arguments(kernel, true);
  arguments.tensorOrAddress(in).tensorOrAddress(out);
  const std::int64_t rows = out.shape[0];
  setMlpStageArguments(kernel, stages, rows);
  if (rows == 0) return;
  const auto groups = static_cast<std::size_t>((rows + rows_per_group - 1) / rows_per_group);
  kernel.launch(stream, {groups * threads}, {threads});
}

}  // namespace mlprt::cl
