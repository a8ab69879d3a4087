# Settings for pare's own targets (tests, examples, benchmarks), never for consumers of pare::pare.
#
# g++ before 13 reports false "__Y is used uninitialized" / "may be used uninitialized" warnings
# inside its own avx512fintrin.h (GCC bug 105593) wherever Eigen's AVX-512 packet math is
# instantiated (reductions, exp/log, maxCoeff, matrix products). With -Werror that breaks the
# build although neither pare nor Eigen is at fault, so pare's own targets turn the two warnings
# off on those compilers only; ASan/UBSan and the tests cover what they would have caught.
add_library(pare_development INTERFACE)
target_link_libraries(pare_development INTERFACE pare::pare)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  target_compile_options(pare_development INTERFACE -Wno-uninitialized -Wno-maybe-uninitialized)
endif()
