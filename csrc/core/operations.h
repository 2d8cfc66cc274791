// The vocabulary of operations shared by the network definition (which names them in layers)
// and the OpenCL kernels (which implement them). TensorRT's names and meanings.
#pragma once

namespace mlprt {

enum class MatrixOperation { kNONE, kTRANSPOSE };
// kDIV truncates on integers (as ONNX and C do); kFLOOR_DIV rounds down. kAND, kOR and kXOR
// take BOOL operands; kEQUAL, kGREATER and kLESS give BOOL results (TensorRT's numbering up to
// here). mlprt's own: kMOD, the remainder with the divisor's sign (Python's %; ONNX Mod fmod=0),
// and kFMOD, the remainder with the dividend's sign (C's % and fmod; ONNX Mod fmod=1); on
// integers only, the bitwise kBITWISE_AND / _OR / _XOR and the shifts kSHIFT_LEFT / kSHIFT_RIGHT
// (arithmetic on signed types), where a shift by a negative count or by the type's width or more
// gives 0 (-1 for a negative value shifted right), as ONNX's reference does.
enum class ElementWiseOperation {
  kSUM, kPROD, kMAX, kMIN, kSUB, kDIV, kPOW, kFLOOR_DIV, kAND, kOR, kXOR, kEQUAL, kGREATER, kLESS,
  kMOD, kFMOD, kBITWISE_AND, kBITWISE_OR, kBITWISE_XOR, kSHIFT_LEFT, kSHIFT_RIGHT,
};
// alpha and beta as TensorRT defines them: kLEAKY_RELU alpha = slope; kELU alpha; kSELU alpha,
// beta = gamma; kSOFTPLUS alpha * log(1 + exp(beta * x)); kCLIP [alpha, beta];
// kHARD_SIGMOID max(0, min(1, alpha * x + beta)); kHARD_SWISH x * hard_sigmoid(x) with
// alpha = 1/6, beta = 0.5; kGELU_ERF / kGELU_TANH take none. mlprt's own: kSILU, x * sigmoid(x)
// (SiLU or Swish: what exporters write as Sigmoid and Mul, fused by the builder; no parameters).
enum class ActivationType {
  kRELU, kSIGMOID, kTANH, kLEAKY_RELU, kELU, kSELU, kSOFTPLUS, kCLIP, kHARD_SIGMOID,
  kGELU_ERF, kGELU_TANH, kHARD_SWISH, kSILU,
};
// kABS, kNEG and kSIGN also take integers; kNOT takes BOOL; kISNAN and kISINF give BOOL (true for
// either infinity); kROUND rounds halves to even, as ONNX and TensorRT do. The others take and give
// floating values. Codes are stored in engines: append only.
enum class UnaryOperation {
  kEXP, kLOG, kSQRT, kRECIP, kABS, kNEG, kERF, kNOT,
  kFLOOR, kCEIL, kROUND, kSIGN, kISNAN, kISINF,
  kSIN, kCOS, kTAN, kASIN, kACOS, kATAN, kSINH, kCOSH, kASINH, kACOSH, kATANH,
};
enum class ReduceOperation { kSUM, kPROD, kMAX, kMIN, kAVG };
// How a convolution or pooling layer pads (TensorRT's PaddingMode, numbered as TensorRT does):
// the explicit modes use pre_padding and post_padding, rounding the output extent down (floor)
// or up (ceil, ONNX's ceil_mode); the SAME modes pad so that out = ceil(in / stride), the odd
// pixel at the end (UPPER) or the start (LOWER).
enum class PaddingMode { kEXPLICIT_ROUND_DOWN, kEXPLICIT_ROUND_UP, kSAME_UPPER, kSAME_LOWER };
enum class PoolingType { kMAX, kAVERAGE };
// What a slice reads outside its input (TensorRT's SampleMode): an error, the other end, the
// nearest edge element, the fill value, or the element mirrored at the edge.
enum class SampleMode { kSTRICT_BOUNDS, kWRAP, kCLAMP, kFILL, kREFLECT };
// Resize, as TensorRT names it: the interpolation, how an output coordinate maps to the input
// (ONNX's align_corners, asymmetric, half_pixel), whether a single output pixel takes input 0
// (kUPPER: ONNX's pytorch_half_pixel) and how nearest rounds (kHALF_UP: round_prefer_ceil,
// kHALF_DOWN: round_prefer_floor).
enum class InterpolationMode { kNEAREST, kLINEAR, kCUBIC };
// TensorRT's GatherMode: kDEFAULT is ONNX's Gather, kELEMENT GatherElements (kND, GatherND, is
// not there yet).
enum class GatherMode { kDEFAULT, kELEMENT };
// TensorRT's TopKOperation: the k largest (kMAX) or smallest (kMIN) values along one axis.
enum class TopKOperation { kMAX, kMIN };
// TensorRT's ScatterMode: kELEMENT writes updates[p] at p with p[axis] = indices[p] (ONNX
// ScatterElements); kND writes updates[i, ...] at the index tuple indices[i, :] (ONNX ScatterND).
enum class ScatterMode { kELEMENT, kND };
// How a scatter combines an update with what its target holds: kNONE replaces it; the others
// combine in the updates' order (ONNX's reduction attribute: add, mul, max, min).
enum class ScatterReduction { kNONE, kSUM, kPROD, kMAX, kMIN };
// TensorRT's CumulativeOperation (kSUM), and kPROD for ONNX's CumProd.
enum class CumulativeOperation { kSUM, kPROD };
enum class ResizeCoordinateTransformation { kALIGN_CORNERS, kASYMMETRIC, kHALF_PIXEL };
enum class ResizeSelector { kFORMULA, kUPPER };
enum class ResizeRoundMode { kHALF_UP, kHALF_DOWN, kFLOOR, kCEIL };

// The last enumerator of each enum, which the engine format checks stored codes against.
template <typename Enum>
constexpr Enum lastEnumerator() noexcept;
template <>
constexpr MatrixOperation lastEnumerator<MatrixOperation>() noexcept { return MatrixOperation::kTRANSPOSE; }
template <>
constexpr ElementWiseOperation lastEnumerator<ElementWiseOperation>() noexcept { return ElementWiseOperation::kSHIFT_RIGHT; }
template <>
constexpr ActivationType lastEnumerator<ActivationType>() noexcept { return ActivationType::kSILU; }
template <>
constexpr UnaryOperation lastEnumerator<UnaryOperation>() noexcept { return UnaryOperation::kATANH; }
template <>
constexpr ReduceOperation lastEnumerator<ReduceOperation>() noexcept { return ReduceOperation::kAVG; }
template <>
constexpr PaddingMode lastEnumerator<PaddingMode>() noexcept { return PaddingMode::kSAME_LOWER; }
template <>
constexpr PoolingType lastEnumerator<PoolingType>() noexcept { return PoolingType::kAVERAGE; }
template <>
constexpr SampleMode lastEnumerator<SampleMode>() noexcept { return SampleMode::kREFLECT; }
template <>
constexpr InterpolationMode lastEnumerator<InterpolationMode>() noexcept { return InterpolationMode::kCUBIC; }
template <>
constexpr ResizeCoordinateTransformation lastEnumerator<ResizeCoordinateTransformation>() noexcept {
  return ResizeCoordinateTransformation::kHALF_PIXEL;
}
template <>
constexpr ResizeSelector lastEnumerator<ResizeSelector>() noexcept { return ResizeSelector::kUPPER; }
template <>
constexpr ResizeRoundMode lastEnumerator<ResizeRoundMode>() noexcept { return ResizeRoundMode::kCEIL; }
template <>
constexpr GatherMode lastEnumerator<GatherMode>() noexcept { return GatherMode::kELEMENT; }
template <>
constexpr TopKOperation lastEnumerator<TopKOperation>() noexcept { return TopKOperation::kMIN; }
template <>
constexpr ScatterMode lastEnumerator<ScatterMode>() noexcept { return ScatterMode::kND; }
template <>
constexpr ScatterReduction lastEnumerator<ScatterReduction>() noexcept { return ScatterReduction::kMIN; }
template <>
constexpr CumulativeOperation lastEnumerator<CumulativeOperation>() noexcept { return CumulativeOperation::kPROD; }

}  // namespace mlprt
