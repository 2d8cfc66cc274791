// Convolution kernels (convolution.cl and deconvolution.cl beside this file): NCHW tensors, 1 or
// 2 spatial axes, groups, strides, dilations and padding, with bias and activation fused into the
// store; transposed convolutions gather what each output element receives.
#pragma once

#include <string>
#include <vector>

#include "backend/opencl/kernels.h"

namespace mlprt::cl {

// Per spatial axis (1 or 2 entries, outermost first): what the tensors' shapes do not say.
struct ConvolutionWindow {
  std::vector<std::int64_t> stride;
  std::vector<std::int64_t> dilation;
  std::vector<std::int64_t> pad_before;
  std::int64_t groups = 1;
};

// The tactics offered for convolutions stored as `type` (FLOAT or HALF): "direct_m<T>", a
// direct convolution computing T output maps per work-item, and "igemm_t<TM>x<TN>", an implicit
// GEMM whose 16 x 16 work-groups compute 16 TM output maps by 16 TN output pixels (pixels of
// the whole batch), the input's column matrix gathered tile by tile into local memory;
// "igemm_t<TM>x<TN>_splitk" also splits K across work-groups where the blocks alone would not fill
// the device. Names are stored in engines.
std::vector<std::string> convolutionTactics(DataType type);

// Those, "depthwise" (convolutions with one input channel per group only: 16 x 16 output pixels
// per work-group from an input patch staged in local memory), the Winograd tactics
// "winograd_2x2:<GEMM tactic>" (winograd.h: 2-D 3x3 kernels at stride 1 only), and, on this device, the tensor-core
// tactics "mma_f16_<BM>x<BN>" (HALF, where the tensor-core probe passes) and "mma_tf32_<BM>x<BN>"
// (FLOAT, where TF32 is allowed and passes): the implicit GEMM with BM x BN blocks multiplied by
// mma.sync. What the builder times.
std::vector<std::string> convolutionTactics(const Context& context, DataType type, const GemmPolicy& policy);
// The channels-last tactics for `type` (TensorRT's TensorFormat.HWC): "hwc_igemm_t<TM>x<TN>" and
// their "_splitk" forms, the implicit GEMM reading `in` and `residual` and writing `out` stored as
// (N, H, W, C) (1-D: (N, W, C)) while their shapes are still given as (N, C, H, W), and the kernel
// as (M, KH, KW, C / groups); K runs over taps and channels with channels fastest; and
// "hwc_depthwise" (one input channel per group only: one item per output element, along the maps).
// The builder's layout pass (builder/layout.h) times them where a chain of convolutions may keep
// its activations channels-last.
std::vector<std::string> channelsLastConvolutionTactics(DataType type);
// Those, "hwc_mma_<f16|tf32>_<BM>x<BN>[_splitk]" (the tensor-core tiles on channels-last tensors,
// where offered as the LINEAR ones are: K chunks of one pixel's consecutive channels, one 16-byte
// load each), and, for pointwise convolutions (pointwiseConvolution), "hwc_gemm:<GEMM tactic>"
// for each GEMM tactic offered on this device for `type` under `policy`: on HWC tensors such a
// convolution is one product, (N x pixels, C) by the kernel (M, C) transposed, bias and
// activation in the GEMM's epilogue (no residual: those run the other tactics). What the layout
// pass times. Every channels-last tactic reads its kernel channels-last too: (M, KH, KW, C /
// groups) in memory, its shape still given as (M, C / groups, KH, KW).
inline constexpr const char* kChannelsLastGemmPrefix = "hwc_gemm:";
std::vector<std::string> channelsLastConvolutionTactics(const Context& context, DataType type, const GemmPolicy& policy,
                                                        bool pointwise);
// The GEMM tactic an "hwc_gemm:" tactic names, or "" for other tactics.
std::string channelsLastGemmTactic(const std::string& tactic);
// 1x1 kernels at stride 1 without padding, one group (per spatial axis; empty padding is none).
bool pointwiseConvolution(const std::vector<std::int64_t>& kernel, const std::vector<std::int64_t>& stride,
                          const std::vector<std::int64_t>& pre_padding, const std::vector<std::int64_t>& post_padding,
                          std::int64_t groups);
// True for the channels-last tactics above; false for other convolution tactics. Throws
// InvalidArgument for a name that is no convolution tactic.
bool convolutionTacticChannelsLast(const std::string& tactic);

// True for the tactics whose products run on tensor cores: the mma.sync and wgmma tiles, and the
// pointwise and Winograd forms whose GEMM tactic does. Throws InvalidArgument for a name that is no
// convolution tactic.
bool convolutionTacticUsesTensorCores(const std::string& tactic);

// The tensor-core tactic names for `type` (`channels_last`: their "hwc_" forms), offered on this
// device or not (tests).
std::vector<std::string> tensorCoreConvolutionTactics(DataType type, bool channels_last = false);

// Below this many channels per group (in and out), Winograd's transforms cost more than they save.
inline constexpr std::int64_t kWinogradMinimumChannels = 8;

// False when `tactic` computes blocks four times larger than a convolution with `group_maps`
// output maps per group and `pixels` output pixels (batch included) or more along either, or is
// a direct kernel of that many more maps per item than the group has (the smallest always
// qualifies): most of its work would be padding; false for "depthwise" unless each group has
// one input channel (`group_channels`), for Winograd unless groups have kWinogradMinimumChannels
// input channels and output maps or more (whether the window fits is winogradRuns), and for the
// wgmma tiles unless the convolution has one group (of `groups`) and channels they take. The
// builder neither compiles nor times those.
bool convolutionTacticWorthTiming(const std::string& tactic, std::int64_t group_maps, std::int64_t pixels,
                                  std::int64_t group_channels = 0, std::int64_t groups = 1);

// out = activation(convolution(in, kernel) + bias + residual). in (N, C, d...), kernel
// (M, C / groups, k...), bias (M) or null, residual (out's shape) or null, out (N, M, o...):
// the extents of `out` are the caller's (shape inference), checked against the window only to
// lie within it. All of one floating type. `workspace`: FLOAT scratch of at least
// convolutionWorkspaceBytes(tactic) bytes, which split-K tactics need (their slices' partial
// blocks) and others ignore; its contents need no initial value and are left undefined.
void convolution(KernelCache& cache, Stream& stream, const std::string& tactic, const DeviceTensor& in,
                 const DeviceTensor& kernel, const ConvolutionWindow& window, const GemmEpilogue& epilogue,
                 const DeviceTensor& out, const DeviceTensor* residual = nullptr,
                 const DeviceTensor* workspace = nullptr);

// The workspace `tactic` needs on this device for a convolution of input `in`, kernel `kernel`
// and output `out` stored as `type` (0 for most; split K: a bound for any shape; Winograd: its
// transformed operands at these shapes).
std::size_t convolutionWorkspaceBytes(const std::string& tactic, const Context& context, const Dims& in,
                                      const Dims& kernel, const Dims& out, DataType type);

// convolution() with a tensor-core tactic built with the mma in software (-DMMA_EMULATE), so
// that its tiling, gather and epilogue can be tested on any device; a "_splitk" tactic runs in
// `splits` slices of K when that is given (> 0), instead of as many as the device would get
// (the workspace must then hold a float per block element per slice). For tests.
void convolutionEmulatingTensorCores(KernelCache& cache, Stream& stream, const std::string& tactic,
                                     const DeviceTensor& in, const DeviceTensor& kernel,
                                     const ConvolutionWindow& window, const GemmEpilogue& epilogue,
                                     const DeviceTensor& out, const DeviceTensor* residual = nullptr,
                                     std::int64_t splits = 0, const DeviceTensor* workspace = nullptr);

// convolution() with an "igemm_t<TM>x<TN>_splitk" tactic in `splits` slices of K, whatever the
// device would choose (the workspace must then hold a float per block element per slice). For
// tests.
void convolutionInSlices(KernelCache& cache, Stream& stream, const std::string& tactic, const DeviceTensor& in,
                         const DeviceTensor& kernel, const ConvolutionWindow& window, const GemmEpilogue& epilogue,
                         const DeviceTensor& out, const DeviceTensor* residual, std::int64_t splits,
                         const DeviceTensor* workspace);

// While on, every tensor-core tactic launched (engines included) is built with the mma in
// software, so that an engine holding one runs on any device. For tests; process-wide.
void setConvolutionMmaEmulation(bool on);

// The tactics offered for transposed convolutions stored as `type`: the "direct_m<T>" ones.
std::vector<std::string> deconvolutionTactics(DataType type);

// out = activation(transposed convolution(in, kernel) + bias). in (N, C, d...), kernel
// (C, M / groups, k...), bias (M) or null, out (N, M, o...); `window.pad_before` is what is
// cropped in front of each output axis.
void deconvolution(KernelCache& cache, Stream& stream, const std::string& tactic, const DeviceTensor& in,
                   const DeviceTensor& kernel, const ConvolutionWindow& window, const GemmEpilogue& epilogue,
                   const DeviceTensor& out);

}  // namespace mlprt::cl
