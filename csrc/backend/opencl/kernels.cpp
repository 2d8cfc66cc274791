// Placeholder: the kernel launchers are being written (see kernels.h).
#include "backend/opencl/kernels.h"
