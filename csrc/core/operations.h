// The vocabulary of operations shared by the network definition (which names them in layers)
// and the OpenCL kernels (which implement them). TensorRT's names and meanings.
#pragma once

namespace mlprt {

enum class MatrixOperation { kNONE, kTRANSPOSE };
// kDIV truncates on integers (as ONNX and C do); kFLOOR_DIV rounds down. kAND, kOR and kXOR
// take BOOL operands; kEQUAL, kGREATER and kLESS give BOOL results (TensorRT's numbering up to
// here). mlprt's own: kMOD, the remainder with the divisor's sign (Python's %; ONNX Mod fmod=0),
// and kFMOD, the remainder with the dividend's sign (C's % and fmod; ONNX Mod fmod=1).
enum class ElementWiseOperation {
  kSUM, kPROD, kMAX, kMIN, kSUB, kDIV, kPOW, kFLOOR_DIV, kAND, kOR, kXOR, kEQUAL, kGREATER, kLESS,
  kMOD, kFMOD,
};
// alpha and beta as TensorRT defines them: kLEAKY_RELU alpha = slope; kELU alpha; kSELU alpha,
// beta = gamma; kSOFTPLUS alpha * log(1 + exp(beta * x)); kCLIP [alpha, beta];
// kHARD_SIGMOID max(0, min(1, alpha * x + beta)); kHARD_SWISH x * hard_sigmoid(x) with
// alpha = 1/6, beta = 0.5; kGELU_ERF / kGELU_TANH take none.
enum class ActivationType {
  kRELU, kSIGMOID, kTANH, kLEAKY_RELU, kELU, kSELU, kSOFTPLUS, kCLIP, kHARD_SIGMOID,
  kGELU_ERF, kGELU_TANH, kHARD_SWISH,
};
// kABS and kNEG also take integers; kNOT takes BOOL.
enum class UnaryOperation { kEXP, kLOG, kSQRT, kRECIP, kABS, kNEG, kERF, kNOT };
enum class ReduceOperation { kSUM, kPROD, kMAX, kMIN, kAVG };

}  // namespace mlprt
