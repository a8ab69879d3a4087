#pragma once
/// \file
/// Umbrella for pare::prune (see docs/prune.md). Includes every public header of the area.

#include "pare/core.hpp"
