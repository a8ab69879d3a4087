#pragma once
/// \file
/// Umbrella: every public header of pare.

#include "pare/core.hpp"
#include "pare/distill.hpp"
#include "pare/optim.hpp"
#include "pare/prune.hpp"
#include "pare/quant.hpp"
#include "pare/reg.hpp"
#include "pare/sched.hpp"
#include "pare/version.hpp"
