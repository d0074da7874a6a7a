// DType <-> LibTorch scalar types (only for code that links LibTorch).
#pragma once

#include <c10/core/ScalarType.h>

#include "rlforge/core/spaces.h"

namespace rlforge {

c10::ScalarType ToTorch(DType dtype);

}  // namespace rlforge
