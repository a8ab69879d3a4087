#pragma once
/// \file
/// Umbrella for pare::reg (see docs/reg.md). Includes every public header of the area:
/// L1/L2 penalties, dropout, the max-norm constraint and early stopping.

#include "pare/core.hpp"
#include "pare/reg/dropout.hpp"
#include "pare/reg/early_stopping.hpp"
#include "pare/reg/max_norm.hpp"
#include "pare/reg/penalty.hpp"
