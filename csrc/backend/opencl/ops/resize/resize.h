// Resize kernels (resize.cl beside this file): nearest, linear and cubic resampling of up to 3
// axes of a FLOAT or HALF tensor.
#pragma once

#include <vector>

#include "backend/opencl/kernels.h"
#include "core/operations.h"

namespace mlprt::cl {

struct ResizeSampling {
  InterpolationMode mode = InterpolationMode::kNEAREST;
  ResizeCoordinateTransformation transform = ResizeCoordinateTransformation::kHALF_PIXEL;
  ResizeSelector single_pixel = ResizeSelector::kFORMULA;
  ResizeRoundMode rounding = ResizeRoundMode::kHALF_DOWN;
  float cubic_coefficient = -0.75f;
  bool exclude_outside = false;
};

// out = in resampled to out.shape; scales[axis] is the scale the coordinate formula divides by
// (the model's, or out / in). Axes with equal extents and scale 1 are copied; at most 3 others.
void resize(KernelCache& cache, Stream& stream, const DeviceTensor& in, const std::vector<float>& scales,
            const ResizeSampling& sampling, const DeviceTensor& out);

}  // namespace mlprt::cl
