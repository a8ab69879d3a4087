#pragma once
/// \file
/// Umbrella for pare's core: tensor views, errors, chunked loops, random numbers, state serialization.

#include "pare/core/error.hpp"
#include "pare/core/parallel.hpp"
#include "pare/core/rng.hpp"
#include "pare/core/serialize.hpp"
#include "pare/core/tensor_view.hpp"
#include "pare/version.hpp"
