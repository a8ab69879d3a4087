#pragma once
/// \file
/// Umbrella for pare::optim (see docs/optim.md). Includes every public header of the area.

#include "pare/core.hpp"
