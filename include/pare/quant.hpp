#pragma once
/// \file
/// Umbrella for pare::quant (see docs/quant.md). Includes every public header of the area.

#include "pare/core.hpp"
#include "pare/quant/fake_quantize.hpp"
#include "pare/quant/fake_quantizer.hpp"
#include "pare/quant/linear.hpp"
#include "pare/quant/log.hpp"
#include "pare/quant/matvec.hpp"
#include "pare/quant/metrics.hpp"
#include "pare/quant/observer.hpp"
#include "pare/quant/qparams.hpp"
#include "pare/quant/quantized_tensor.hpp"
