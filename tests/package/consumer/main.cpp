#include <pare/pare.hpp>

#include <cstdio>
#include <vector>

int main() {
  std::vector<float> w{1.0f, -2.0f, 3.0f, -4.0f};
  pare::tensor_view<float> v(w.data(), {2, 2});
  std::printf("pare %d.%d.%d: sum %g\n", pare::version.major, pare::version.minor,
              pare::version.patch, static_cast<double>(v.array().sum()));
  return v.array().sum() == -2.0f ? 0 : 1;
}
