// fusedMlpMma: a chain of dense layers in one launch on tensor cores (kernels/fused_mlp_mma.cl).
#include "backend/opencl/mlp_mma.h"

#include <algorithm>
#include <atomic>
#include <string>

#include "backend/opencl/gemm_launch.h"
#include "backend/opencl/kernel_support.h"
#include "core/error.h"

namespace mlprt::cl {

using namespace support;

namespace {

constexpr const char* kName = "fusedMlpMma";
constexpr const char* kTacticPrefix = "fused_mlp_mma_r";
constexpr std::int64_t kMaxHidden = 256;   // widest hidden layer kept in local memory
constexpr std::int64_t kMaxStaged = 256;   // input columns staged per chunk
constexpr int kMaxWarps = 8;
constexpr int kMaxAccumulatorTiles = 16;   // m16 x n8 tiles per item: 64 float registers
constexpr int kDefaultDepth = 4;           // 32-wide K chunks of weights in flight per warp

std::atomic<bool> emulation{false};

std::int64_t roundUp32(std::int64_t value) { return (value + 31) / 32 * 32; }

// Words per local row for `halves` columns: at least halves / 2, and 16 (mod 32) so that a
// quarter warp's 16-byte reads (2 rows x 64 bytes) hit 32 distinct banks.
std::int64_t strideWords(std::int64_t halves) {
  const std::int64_t words = halves / 2;
  return words + ((16 - words % 32) + 32) % 32;
}

// How one build of the kernel lays out its work (the -D options of fused_mlp_mma.cl).
struct Geometry {
  int rows = 0, warps = 0, tiles = 0;  // tiles: NT, column tiles per warp and pass
  int depth = kDefaultDepth;           // DEPTH
  std::int64_t hidden = 0;             // LW: columns of hidden activations (0: no hidden layer)
  std::int64_t stride = 0, staged_stride = 0, staged = 0;  // LS, LS0, CW0
  bool emulate = false;

  std::size_t threads() const { return static_cast<std::size_t>(32 * warps); }
  std::size_t localBytes() const {
    const std::int64_t words = rows * std::max(stride, staged_stride) + (emulate ? 2 * 128 * warps : 0);
    return static_cast<std::size_t>(words) * 4;
  }
};

// widths: in, hidden..., out (at least 2). Default warps: enough to cover the hidden width (or
// the output's first 256 columns) in one pass with 4 column tiles each, or fewer tiles where
// the row tiles would exceed kMaxAccumulatorTiles (128 rows: 2 tiles).
Geometry geometryFor(const std::vector<std::int64_t>& widths, int rows, const FusedMlpMmaOptions& options) {
  Geometry g;
  g.rows = rows;
  g.emulate = options.emulate;
  g.depth = options.depth > 0 ? options.depth : kDefaultDepth;
  const int warps = options.warps;
  std::int64_t widest = 0;
  for (std::size_t i = 1; i + 1 < widths.size(); ++i) widest = std::max(widest, widths[i]);
  g.hidden = widest > 0 ? roundUp32(widest) : 0;
  const std::int64_t columns = g.hidden > 0 ? g.hidden : std::min(roundUp32(widths.back()), kMaxHidden);
  const std::int64_t tiles_wanted = std::clamp(kMaxAccumulatorTiles / std::max(rows / 16, 1), 1, 4);
  g.warps = warps > 0 ? warps
                      : static_cast<int>(std::clamp<std::int64_t>((columns + 8 * tiles_wanted - 1) / (8 * tiles_wanted),
                                                                  1, kMaxWarps));
  g.tiles = static_cast<int>(std::max<std::int64_t>(1, (columns + 8 * g.warps - 1) / (8 * g.warps)));
  g.stride = g.hidden > 0 ? strideWords(g.hidden) : 0;
  g.staged = std::min(roundUp32(widths.front()), kMaxStaged);
  g.staged_stride = strideWords(g.staged);
  return g;
}

bool geometryFits(const Context& context, const std::vector<std::int64_t>& widths, const Geometry& g) {
  const DeviceInfo& device = context.device();
  if (widths.size() < 2 || widths.size() > kMaxMlpStages + 1) return false;
  if (std::any_of(widths.begin(), widths.end(), [](std::int64_t w) { return w < 1; })) return false;
  return g.rows % 16 == 0 && g.rows > 0 && g.hidden <= kMaxHidden && g.warps >= 1 && g.warps <= kMaxWarps &&
         g.depth >= 1 && g.depth <= 8 &&
         (g.rows / 16) * g.tiles <= kMaxAccumulatorTiles && g.threads() <= device.max_work_group &&
         g.localBytes() <= device.local_memory;
}

// mlpStageOptions plus -DWVEC<i>: whether the stage's weights allow 16-byte loads.
std::string stageOptions(std::size_t i, std::int64_t k, std::int64_t n, const MlpStageOperands& stage) {
  const bool vector_loads = k % 8 == 0 && elementOffset(*stage.weights) % 8 == 0;
  return mlpStageOptions(i, k, n, stage) + " -DWVEC" + std::to_string(i) + "=" + (vector_loads ? "1" : "0");
}

// Checks the operands; returns the widths (K0, N0, N1, ...). Weights are N x K.
std::vector<std::int64_t> checkOperands(const KernelCache& cache, const DeviceTensor& in,
                                        const std::vector<MlpStageOperands>& stages, const DeviceTensor& out) {
  if (stages.empty() || stages.size() > kMaxMlpStages) {
    throw InvalidArgument(std::string(kName) + ": " + std::to_string(stages.size()) + " stages; 1 to " +
                          std::to_string(kMaxMlpStages) + " are supported");
  }
  requireFloating(kName, "input", in);
  requireFloating(kName, "output", out);
  const std::int64_t volume = checkPlacement(cache, kName, "input", in);
  checkPlacement(cache, kName, "output", out);
  std::vector<std::int64_t> widths;
  if (!stages.front().weights) throw InvalidArgument(describe(kName, "stage 0") + " has no weights");
  const DeviceTensor& first = *stages.front().weights;
  for (std::size_t i = 0; i < stages.size(); ++i) {
    const std::string name = "stage " + std::to_string(i);
    if (!stages[i].weights) throw InvalidArgument(describe(kName, name) + " has no weights");
    const DeviceTensor& weights = *stages[i].weights;
    checkPlacement(cache, kName, name + " weights", weights);
    if (weights.type != DataType::kHALF) {
      throw InvalidArgument(describe(kName, name) + " weights have type " + dataTypeName(weights.type) +
                            "; the tensor-core MLP takes HALF weights");
    }
    if (weights.shape.rank() != 2 || (!widths.empty() && weights.shape[1] != widths.back())) {
      throw InvalidArgument(describe(kName, name) + " weights " + weights.shape.toString() +
                            " (N x K) do not take the previous stage's outputs");
    }
    if (weights.range.buffer != first.range.buffer) {
      throw InvalidArgument(describe(kName, name) + " weights are not in the first stage's buffer");
    }
    if (widths.empty()) widths.push_back(weights.shape[1]);
    widths.push_back(weights.shape[0]);
    if (const DeviceTensor* bias = stages[i].bias) {
      if (checkPlacement(cache, kName, name + " bias", *bias) != widths.back() ||
          bias->range.buffer != first.range.buffer || bias->type != DataType::kHALF) {
        throw InvalidArgument(describe(kName, name) + " bias " + bias->shape.toString() + " needs " +
                              std::to_string(widths.back()) + " HALF values beside the weights");
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

void launch(KernelCache& cache, Stream& stream, int rows_per_group, const FusedMlpMmaOptions& choices,
            const DeviceTensor& in, const std::vector<MlpStageOperands>& stages, const DeviceTensor& out) {
  const std::vector<std::int64_t> widths = checkOperands(cache, in, stages, out);
  const Geometry g = geometryFor(widths, rows_per_group, choices);
  if (!geometryFits(*cache.context(), widths, g)) {
    throw InvalidArgument(std::string(kName) + ": " + std::to_string(rows_per_group) + " rows per work-group (" +
                          std::to_string(g.warps) + " warps) do not fit these widths on " +
                          cache.context()->device().name + " (hidden widths up to " + std::to_string(kMaxHidden) +
                          ", local memory)");
  }
  if (g.tiles * 8 * g.warps < g.hidden) {
    throw InvalidArgument(std::string(kName) + ": " + std::to_string(g.warps) + " warps cannot cover hidden width " +
                          std::to_string(g.hidden) + " in one pass");
  }
  std::string options = "-DSTAGES=" + std::to_string(stages.size()) + " -DROWS=" + std::to_string(g.rows) +
                        " -DWARPS=" + std::to_string(g.warps) + " -DNT=" + std::to_string(g.tiles) +
                        " -DDEPTH=" + std::to_string(g.depth) +
                        " -DLW=" + std::to_string(g.hidden) + " -DLS=" + std::to_string(g.stride) +
                        " -DLS0=" + std::to_string(g.staged_stride) + " -DCW0=" + std::to_string(g.staged);
  for (std::size_t i = 0; i < stages.size(); ++i) options += " " + stageOptions(i, widths[i], widths[i + 1], stages[i]);
  options = joinOptions({options, halfOption("IN", in.type), "-DBIAS_HALF", halfOption("OUT", out.type),
                         g.emulate ? "-DMMA_EMULATE" : ""});
  Kernel& kernel = cache.get("fused_mlp_mma", options, "fused_mlp_mma");
  Arguments arguments(kernel, true);
  arguments.tensor(in).tensor(out);
  const std::int64_t rows = out.shape[0];
  setMlpStageArguments(kernel, stages, rows);
  if (rows == 0) return;
  const auto groups = static_cast<std::size_t>((rows + rows_per_group - 1) / rows_per_group);
  kernel.launch(stream, {groups * g.threads()}, {g.threads()});
}

}  // namespace

const std::vector<int>& fusedMlpMmaRowChoices() {
  static const std::vector<int> choices{16, 32, 64, 128};
  return choices;
}

std::string fusedMlpMmaTactic(int rows) { return kTacticPrefix + std::to_string(rows); }

int fusedMlpMmaRows(const std::string& tactic) {
  const std::string prefix = kTacticPrefix;
  if (tactic.compare(0, prefix.size(), prefix) != 0) return 0;
  const std::string digits = tactic.substr(prefix.size());
  const auto& choices = fusedMlpMmaRowChoices();
  for (int rows : choices) {
    if (digits == std::to_string(rows)) return rows;
  }
  throw InvalidArgument("'" + tactic + "' is not a tensor-core fused MLP tactic (rows per work-group: 16, 32, 64 or 128)");
}

bool fusedMlpMmaOffered(const Context& context) { return emulation.load() || tensorCoreHalfAvailable(context); }

bool fusedMlpMmaFits(const Context& context, const std::vector<std::int64_t>& widths, int rows) {
  const auto& choices = fusedMlpMmaRowChoices();
  if (std::find(choices.begin(), choices.end(), rows) == choices.end() || widths.size() < 2) return false;
  FusedMlpMmaOptions options;
  options.emulate = emulation.load();
  return geometryFits(context, widths, geometryFor(widths, rows, options));
}

void fusedMlpMma(KernelCache& cache, Stream& stream, int rows, const DeviceTensor& in,
                 const std::vector<MlpStageOperands>& stages, const DeviceTensor& out) {
  const auto& choices = fusedMlpMmaRowChoices();
  if (std::find(choices.begin(), choices.end(), rows) == choices.end()) {
    throw InvalidArgument(std::string(kName) + ": " + std::to_string(rows) + " rows per work-group is not offered");
  }
  if (!fusedMlpMmaOffered(*cache.context())) {
    throw InvalidArgument(std::string(kName) + ": no tensor cores on " + cache.context()->device().name + " (" +
                          tensorCoreProbeReport(*cache.context(), false) + ")");
  }
  FusedMlpMmaOptions options;
  options.emulate = emulation.load();
  launch(cache, stream, rows, options, in, stages, out);
}

void setFusedMlpMmaEmulation(bool on) { emulation.store(on); }

void runFusedMlpMma(KernelCache& cache, Stream& stream, int rows, const FusedMlpMmaOptions& options,
                    const DeviceTensor& in, const std::vector<MlpStageOperands>& stages, const DeviceTensor& out) {
  launch(cache, stream, rows, options, in, stages, out);
}

}  // namespace mlprt::cl
