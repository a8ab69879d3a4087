#pragma once
/// \file
/// Umbrella for pare::distill (see docs/distill.md). Includes every public header of the area.

#include "pare/core.hpp"
