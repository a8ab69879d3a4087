#pragma once
/// \file
/// Umbrella for pare::reg (see docs/reg.md). Includes every public header of the area.

#include "pare/core.hpp"
