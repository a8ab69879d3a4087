#pragma once
/// \file
/// Umbrella for pare::prune (see docs/prune.md). Includes every public header of the area.

#include "pare/core.hpp"
#include "pare/prune/criterion.hpp"
#include "pare/prune/gradual.hpp"
#include "pare/prune/pruner.hpp"
#include "pare/prune/schedule.hpp"
#include "pare/prune/sparse.hpp"
#include "pare/prune/structure.hpp"
