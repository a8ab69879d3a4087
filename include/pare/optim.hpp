#pragma once
/// \file
/// Umbrella for pare::optim (see docs/optim.md): the transform protocol, the fused optimizer
/// driver and `chain`, every transform, and the named optimizers.

#include "pare/core.hpp"
#include "pare/core/serialize.hpp"
#include "pare/optim/adadelta.hpp"
#include "pare/optim/adagrad.hpp"
#include "pare/optim/adam.hpp"
#include "pare/optim/clip.hpp"
#include "pare/optim/mask.hpp"
#include "pare/optim/nadam.hpp"
#include "pare/optim/named.hpp"
#include "pare/optim/optimizer.hpp"
#include "pare/optim/regularizer.hpp"
#include "pare/optim/rmsprop.hpp"
#include "pare/optim/scale.hpp"
#include "pare/optim/sgd.hpp"
#include "pare/optim/skip_non_finite.hpp"
#include "pare/optim/transform.hpp"
#include "pare/optim/weight_decay.hpp"
