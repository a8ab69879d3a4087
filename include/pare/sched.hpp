#pragma once
/// \file
/// Umbrella for pare::sched (see docs/sched.md). Includes every public header of the area.

#include "pare/core.hpp"
#include "pare/sched/schedule.hpp"
