# GCC 12.2 + AVX-512: silence its false "__Y is used uninitialized" in avx512fintrin.h (GCC bug
# 105593), triggered by Eigen's AVX-512 reductions and exp; see tests/distill/extra.cmake.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  target_compile_options(${_name} PRIVATE -Wno-uninitialized -Wno-maybe-uninitialized)
endif()
