// The format (core/tensor_format.h) of every plan tensor, derived from the steps: a plan stores no
// format of its own, so that what a step reads and writes and what the tensor holds cannot
// disagree. Channels-last convolution tactics (cl::convolutionTacticChannelsLast) read their
// input, kernel and residual and write their output as HWC (the bias stays LINEAR); Identity steps
// with a reformat tactic convert between LINEAR and HWC; every other step, engine input and
// output and view is LINEAR. A constant is stored as its readers read it (the builder permutes
// the values of those HWC steps read).
#pragma once

#include <cstddef>
#include <vector>

#include "core/tensor_format.h"
#include "engine/plan.h"

namespace mlprt::runtime {

// The tactics of the Identity steps that the builder's layout pass inserts where layouts meet
// (TensorRT's "reformatting" layers): LINEAR to HWC and back. Same shape and type in and out.
inline constexpr const char* kReformatToHwc = "reformat_to_hwc";
inline constexpr const char* kReformatToLinear = "reformat_to_linear";

// The format in which `step` reads its input `input` (-1: writes its output). Throws
// InvalidArgument naming the step where its tactics disagree (a channels-last and a LINEAR
// tactic among its ranges) or an Identity step's tactic is no reformat.
TensorFormat stepOperandFormat(const engine::PlanStep& step, int input);

// One format per plan tensor: what its producer writes; for a constant, what its first reader
// reads; LINEAR for engine inputs. Throws InvalidArgument naming the tensor and the steps where a
// step reads a tensor in another format than it is written or stored in, an engine output is not
// LINEAR, or an HWC tensor is not of rank 3 or 4: a plan the builder never makes (a damaged or
// hand-made engine file).
std::vector<TensorFormat> planTensorFormats(const engine::EnginePlan& plan);

// The permutation that takes a LINEAR (N, C, d...) tensor of `rank` to its HWC element order
// (N, d..., C): {0, 2, ..., rank - 1, 1}; and its inverse.
std::vector<int> toChannelsLastPermutation(std::size_t rank);
std::vector<int> fromChannelsLastPermutation(std::size_t rank);

}  // namespace mlprt::runtime
