// pare::error: type, message format.
#include <pare/core/error.hpp>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <type_traits>

#include "support/catch.hpp"

static_assert(std::is_base_of_v<std::invalid_argument, pare::error>);

TEST_CASE("messages name the component, the argument, the expectation and the value") {
  try {
    pare::detail::fail_value("pare::optim::adam", "beta1", "in [0, 1)", 1.5);
    FAIL("no throw");
  } catch (const pare::error& e) {
    CHECK(std::string(e.what()) == "pare::optim::adam: beta1 must be in [0, 1), got 1.5");
  }
  PARE_REQUIRE_ERROR(pare::detail::require(false, "pare::x", "eps", "≥ 0", -1e-8), "pare::x: eps must be ≥ 0, got -1e-08");
  CHECK_NOTHROW(pare::detail::require(true, "pare::x", "eps", "≥ 0", 1.0));
}

TEST_CASE("values print in their shortest exact form") {
  using pare::detail::to_text;
  CHECK(to_text(0.1) == "0.1");
  CHECK(to_text(0.1f) == "0.10000000149011612");  // the float's exact value, as a double
  CHECK(to_text(std::numeric_limits<double>::quiet_NaN()) == "nan");
  CHECK(to_text(-std::numeric_limits<double>::infinity()) == "-inf");
  CHECK(to_text(std::int64_t{-3}) == "-3");
  CHECK(to_text(true) == "true");
  const std::int64_t shape[] = {2, 3};
  CHECK(to_text(std::span<const std::int64_t>(shape)) == "[2, 3]");
}
