// pare::tensor_view: shapes, conversions, Eigen maps, rejection of bad shapes.
#include <pare/core/tensor_view.hpp>

#include <array>
#include <type_traits>
#include <vector>

#include "support/catch.hpp"

using pare::tensor_view;

// A view is a trivially copyable value; const views cannot write.
static_assert(std::is_trivially_copyable_v<tensor_view<float>>);
static_assert(std::is_trivially_copyable_v<tensor_view<const double>>);
static_assert(std::is_trivially_copyable_v<tensor_view<std::uint8_t>>);
static_assert(std::is_nothrow_copy_constructible_v<tensor_view<float>>);
static_assert(std::is_convertible_v<tensor_view<float>, tensor_view<const float>>);
static_assert(!std::is_convertible_v<tensor_view<const float>, tensor_view<float>>);
static_assert(!std::is_convertible_v<tensor_view<float>, tensor_view<double>>);
static_assert(std::is_same_v<decltype(std::declval<tensor_view<const float>>()[0]), const float&>);
static_assert(!std::is_constructible_v<tensor_view<float>, std::vector<float>&&>);
static_assert(!std::is_constructible_v<tensor_view<const float>, std::vector<float>&&>);
static_assert(!std::is_constructible_v<tensor_view<float>, const std::vector<float>&>);

TEST_CASE("a view made from a pointer and a shape has that shape, row-major") {
  std::vector<float> v(24);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i);
  tensor_view<float> t(v.data(), {2, 3, 4});
  CHECK(t.rank() == 3);
  CHECK(t.size() == 24);
  CHECK(t.extent(0) == 2);
  CHECK(t.extent(1) == 3);
  CHECK(t.extent(2) == 4);
  CHECK(t.rows() == 2);
  CHECK(t.cols() == 12);
  CHECK(t(1, 2, 3) == 23.0f);
  CHECK(t(0, 1, 0) == 4.0f);
  CHECK(t[17] == 17.0f);
  t(1, 0, 0) = -1.0f;
  CHECK(v[12] == -1.0f);
}

TEST_CASE("rank 0 is a scalar and rank 8 is the maximum") {
  float x = 3.0f;
  tensor_view<float> s(&x, {});
  CHECK(s.rank() == 0);
  CHECK(s.size() == 1);
  CHECK(s.matrix().rows() == 1);
  CHECK(s.matrix().cols() == 1);
  std::vector<double> v(256);
  tensor_view<double> t8(v.data(), {2, 2, 2, 2, 2, 2, 2, 2});
  CHECK(t8.rank() == 8);
  CHECK(t8.size() == 256);
  PARE_REQUIRE_ERROR((tensor_view<double>(v.data(), {2, 2, 2, 2, 2, 2, 2, 2, 1})),
                     "pare::tensor_view", "rank", "at most 8", "got 9");
}

TEST_CASE("a default view is empty and zero extents are allowed") {
  tensor_view<float> e;
  CHECK(e.empty());
  CHECK(e.rank() == 1);
  CHECK(e.size() == 0);
  tensor_view<float> z(nullptr, {0, 5});
  CHECK(z.size() == 0);
  CHECK(z.cols() == 5);
}

TEST_CASE("bad shapes are rejected with pare::error") {
  std::vector<float> v(12);
  PARE_REQUIRE_ERROR((tensor_view<float>(v.data(), {3, -4})), "pare::tensor_view", "non-negative",
                     "[3, -4]");
  PARE_REQUIRE_ERROR((tensor_view<float>(nullptr, {3})), "pare::tensor_view", "null");
  PARE_REQUIRE_ERROR((tensor_view<float>(v.data(), {INT64_MAX, 4})), "overflows");
  // size mismatch between the memory and the shape
  PARE_REQUIRE_ERROR((tensor_view<float>(std::span<float>(v), {5, 3})), "size mismatch", "[5, 3]",
                     "15", "12");
  PARE_REQUIRE_ERROR((tensor_view<float>(v, {2, 5})), "size mismatch", "10", "12");
  PARE_REQUIRE_ERROR(tensor_view<float>(v).reshape({5, 2}), "cannot reshape", "[12]", "[5, 2]");
}

TEST_CASE("views from spans and vectors are 1-D unless given a shape") {
  std::vector<double> v{1, 2, 3, 4, 5, 6};
  tensor_view a(v);
  static_assert(std::is_same_v<decltype(a), tensor_view<double>>);
  CHECK(a.rank() == 1);
  CHECK(a.size() == 6);
  const std::vector<double>& cv = v;
  tensor_view b(cv);
  static_assert(std::is_same_v<decltype(b), tensor_view<const double>>);
  std::array<float, 4> arr{1, 2, 3, 4};
  tensor_view c{std::span<float>(arr)};
  CHECK(c.size() == 4);
  tensor_view<double> m(v, {2, 3});
  CHECK(m(1, 0) == 4.0);
  tensor_view<const double> cm(cv, {3, 2});
  CHECK(cm(2, 1) == 6.0);
}

TEST_CASE("a mutable view converts to a const view of the same memory and shape") {
  std::vector<float> v(6, 1.0f);
  tensor_view<float> m(v.data(), {2, 3});
  tensor_view<const float> c = m;
  CHECK(c.data() == m.data());
  CHECK(pare::same_shape(c, m));
  m[4] = 7.0f;
  CHECK(c(1, 1) == 7.0f);
}

TEST_CASE("array() and matrix() are Eigen maps of the same memory") {
  std::vector<float> v{1, 2, 3, 4, 5, 6};
  tensor_view<float> t(v.data(), {2, 3});
  CHECK(t.array().size() == 6);
  CHECK(t.array().sum() == 21.0f);
  t.array() *= 2.0f;
  CHECK(v[5] == 12.0f);
  auto m = t.matrix();
  CHECK(m.rows() == 2);
  CHECK(m.cols() == 3);
  CHECK(m(1, 0) == 8.0f);  // row-major
  Eigen::VectorXf x = Eigen::VectorXf::Ones(3);
  Eigen::VectorXf y = m * x;
  CHECK(y(0) == 12.0f);
  CHECK(y(1) == 30.0f);
  // rank 1 is a column vector; trailing axes flatten into columns
  CHECK(tensor_view<float>(v).matrix().rows() == 6);
  CHECK(tensor_view<float>(v.data(), {1, 2, 3}).matrix().cols() == 6);
  tensor_view<const float> c = t;
  static_assert(std::is_const_v<std::remove_reference_t<decltype(*c.array().data())>>);
}

TEST_CASE("reshape, flat and slice keep the memory") {
  std::vector<int> v(24);
  for (int i = 0; i < 24; ++i) v[i] = i;
  tensor_view<int> t(v.data(), {2, 3, 4});
  auto r = t.reshape({6, 4});
  CHECK(r.rank() == 2);
  CHECK(r(5, 3) == 23);
  CHECK(t.flat().rank() == 1);
  CHECK(t.flat().size() == 24);
  auto s = t.slice(1);
  CHECK(s.rank() == 2);
  CHECK(s.extent(0) == 3);
  CHECK(s(0, 0) == 12);
  auto e = tensor_view<int>(v).slice(5);
  CHECK(e.rank() == 0);
  CHECK(e[0] == 5);
  PARE_REQUIRE_ERROR(t.slice(2), "slice index", "in [0, 2)", "got 2");
  PARE_REQUIRE_ERROR(e.slice(0), "rank-0");
}

TEST_CASE("pare::view wraps row-major Eigen objects, vectors and contiguous blocks") {
  Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> w(3, 4);
  w.setZero();
  auto vw = pare::view(w);
  static_assert(std::is_same_v<decltype(vw), tensor_view<float>>);
  CHECK(vw.rank() == 2);
  CHECK(vw.extent(0) == 3);
  CHECK(vw.extent(1) == 4);
  vw(2, 1) = 5.0f;
  CHECK(w(2, 1) == 5.0f);

  const auto& cw = w;
  auto cvw = pare::view(cw);
  static_assert(std::is_same_v<decltype(cvw), tensor_view<const float>>);

  Eigen::VectorXd b = Eigen::VectorXd::LinSpaced(5, 0, 4);
  auto vb = pare::view(b);
  CHECK(vb.rank() == 1);
  CHECK(vb[4] == 4.0);

  Eigen::ArrayXf a = Eigen::ArrayXf::Ones(7);
  CHECK(pare::view(a).size() == 7);
  Eigen::RowVectorXf rv(3);
  CHECK(pare::view(rv).rank() == 1);

  // a map of user memory and a block of whole rows are contiguous
  std::vector<float> buf(12, 0.0f);
  Eigen::Map<Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> m(buf.data(), 3, 4);
  CHECK(pare::view(m).data() == buf.data());
  auto rows = pare::view(w.middleRows(1, 2));
  CHECK(rows.extent(0) == 2);
  CHECK(rows.data() == w.data() + 4);
  // a block of some columns is not
  PARE_REQUIRE_ERROR(pare::view(w.leftCols(2)), "pare::view", "not contiguous");
  // a column of a row-major matrix is a strided vector
  PARE_REQUIRE_ERROR(pare::view(w.col(1)), "pare::view", "not contiguous");
}
