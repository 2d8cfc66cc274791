// Placeholder: the engine file reader and writer are being written (see format.h).
#include "engine/format.h"
