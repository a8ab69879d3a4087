#include <pare/pare.hpp>

double from_b() {
  try {
    pare::detail::fail_value("pare::link", "x", "positive", -1);
  } catch (const pare::error&) {
    return pare::detail::uniform_double(3, 4) + 1.0;
  }
  return -1.0;
}
