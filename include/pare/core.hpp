#pragma once
/// \file
/// Umbrella for pare's core: tensor views, errors, chunked loops, random numbers.

#include "pare/core/error.hpp"
#include "pare/core/parallel.hpp"
#include "pare/core/rng.hpp"
#include "pare/core/tensor_view.hpp"
#include "pare/version.hpp"
