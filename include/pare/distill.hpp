#pragma once
/// \file
/// Umbrella for pare::distill (see docs/distill.md). Includes every public header of the area:
/// stable softmax helpers, cross-entropy, the KD loss, logit matching and FitNets hints.

#include "pare/core.hpp"
#include "pare/distill/cross_entropy.hpp"
#include "pare/distill/hint_loss.hpp"
#include "pare/distill/kd_loss.hpp"
#include "pare/distill/logit_mse.hpp"
#include "pare/distill/softmax.hpp"
