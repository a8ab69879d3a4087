// softmax / log_softmax: torch 1.13 values (tests/reference/distill/generate.py), rows that sum
// to one, stability for ±1e4 and all-equal logits, NaN behaviour, in-place use, errors.
#include <pare/distill/softmax.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "distill/helpers.hpp"

using namespace distill_test;

TEMPLATE_TEST_CASE("softmax and log_softmax match torch for T from 0.5 to 20, ±1e4 and all-equal rows",
                   "[distill][softmax]", float, double) {
  using T = TestType;
  const pare_test::reference ref("distill/losses.txt");
  const auto [rows, cols] = shape2(ref, "softmax");
  auto x = as<T>(ref["softmax/x"]);
  for (double temperature : {1.0, 0.5, 3.0, 20.0}) {
    INFO("T = " << temperature);
    const std::string key = "softmax/T" + py(temperature);
    std::vector<T> p(x.size()), logp(x.size());
    pare::distill::softmax(view2<const T>(x, rows, cols), view2<T>(p, rows, cols), temperature);
    pare::distill::log_softmax(view2<const T>(x, rows, cols), view2<T>(logp, rows, cols), temperature);
    require_close(p, ref[key + "/p"], tol<T>, key + "/p");
    require_close(logp, ref[key + "/logp"], tol<T>, key + "/logp");
    for (std::int64_t r = 0; r < rows; ++r) {
      double sum = 0;
      for (std::int64_t c = 0; c < cols; ++c) {
        REQUIRE(std::isfinite(logp[r * cols + c]));
        sum += p[r * cols + c];
      }
      CHECK(sum == pare_test::Approx(1.0).epsilon(10 * std::numeric_limits<T>::epsilon()));
    }
  }
}

TEMPLATE_TEST_CASE("softmax works in place and gives uniform rows for all-equal logits",
                   "[distill][softmax]", float, double) {
  using T = TestType;
  std::vector<T> x = {3, 3, 3, 3, -7, -7, -7, -7};
  pare::distill::softmax(view2<const T>(x, 2, 4), view2<T>(x, 2, 4), 2.5);
  for (T v : x) CHECK(v == pare_test::Approx(0.25));
  std::vector<T> y = {1e4, -1e4, 0, 5};
  pare::distill::log_softmax(view2<const T>(y, 1, 4), view2<T>(y, 1, 4));
  CHECK(y[0] == T(0));
  CHECK(y[1] == T(-2e4));
  CHECK(y[2] == T(-1e4));
}

TEMPLATE_TEST_CASE("a NaN makes its own row NaN and leaves the others alone", "[distill][softmax]",
                   float, double) {
  using T = TestType;
  const T nan = std::numeric_limits<T>::quiet_NaN();
  for (int pos = 0; pos < 3; ++pos) {  // wherever the NaN sits, even where a max would skip it
    std::vector<T> x = {1, 2, 3, 1, 2, 3}, p(6);
    x[static_cast<std::size_t>(pos)] = nan;
    pare::distill::softmax(view2<const T>(x, 2, 3), view2<T>(p, 2, 3));
    for (int j = 0; j < 3; ++j) CHECK(std::isnan(p[static_cast<std::size_t>(j)]));
    for (int j = 3; j < 6; ++j) CHECK(std::isfinite(p[static_cast<std::size_t>(j)]));
  }
  std::vector<T> x = {-std::numeric_limits<T>::infinity(), 0, 0}, p(3);
  pare::distill::softmax(view2<const T>(x, 1, 3), view2<T>(p, 1, 3));
  CHECK(p[0] == T(0));
  CHECK(p[1] == pare_test::Approx(0.5));
}

TEST_CASE("softmax rejects bad shapes, overlap and temperatures", "[distill][softmax][errors]") {
  std::vector<float> x(7), y(6);
  const auto xv = view2<const float>(x, 2, 3);
  PARE_REQUIRE_ERROR(pare::distill::softmax(xv, view2<float>(y, 3, 2)), "pare::distill::softmax",
                     "out must have the shape of logits [2, 3], got [3, 2]");
  PARE_REQUIRE_ERROR(pare::distill::softmax(pare::tensor_view<const float>(y), pare::tensor_view<float>(y)),
                     "pare::distill::softmax", "logits must be rank 2", "[6]");
  PARE_REQUIRE_ERROR(pare::distill::softmax(view2<const float>(x, 0, 3), view2<float>(y, 0, 3)),
                     "pare::distill::softmax", "at least one row");
  for (double bad : {0.0, -1.0, std::numeric_limits<double>::infinity(), std::numeric_limits<double>::quiet_NaN()})
    PARE_REQUIRE_ERROR(pare::distill::log_softmax(xv, view2<float>(y, 2, 3), bad),
                       "pare::distill::log_softmax", "temperature", "> 0 and finite");
  PARE_REQUIRE_ERROR(pare::distill::softmax(xv, pare::tensor_view<float>(x.data() + 1, {2, 3})),
                     "pare::distill::softmax", "out must not overlap logits");
}
