#pragma once
/// \file
/// Umbrella for pare::sched (see docs/sched.md): learning-rate schedules — callables
/// `double(std::int64_t step)` — their composition, and the metric-driven `reduce_on_plateau`.

#include "pare/core.hpp"
#include "pare/sched/any_schedule.hpp"
#include "pare/sched/constant.hpp"
#include "pare/sched/cosine_annealing.hpp"
#include "pare/sched/cosine_warm_restarts.hpp"
#include "pare/sched/exponential_decay.hpp"
#include "pare/sched/linear.hpp"
#include "pare/sched/multistep_decay.hpp"
#include "pare/sched/one_cycle.hpp"
#include "pare/sched/piecewise_constant.hpp"
#include "pare/sched/polynomial_decay.hpp"
#include "pare/sched/reduce_on_plateau.hpp"
#include "pare/sched/schedule.hpp"
#include "pare/sched/sequence.hpp"
#include "pare/sched/step_decay.hpp"
#include "pare/sched/warmup.hpp"
