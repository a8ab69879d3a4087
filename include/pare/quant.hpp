#pragma once
/// \file
/// Umbrella for pare::quant (see docs/quant.md). Includes every public header of the area.

#include "pare/core.hpp"
