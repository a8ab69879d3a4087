// Two translation units include every header and use core functions; a non-inline definition
// in a header is then defined twice and the link fails.
#include <pare/pare.hpp>

double from_b();

int main() {
  std::vector<float> v(4, 1.0f);
  pare::tensor_view<float> t(v.data(), {2, 2});
  const double a = t.array().sum() + pare::detail::uniform_double(1, 2);
  return (a > 0 && from_b() > 0) ? 0 : 1;
}
