# GCC 12.2 with AVX-512 (-march=native on this machine) warns "__Y is used uninitialized" inside
# its own avx512fintrin.h (GCC bug 105593, fixed in GCC 13) wherever Eigen's AVX-512 packet math
# is instantiated: reductions, exp/log, max, GEMM. The warning is in the compiler's intrinsics,
# not in pare; silence it for this test executable, whose precompiled header includes Eigen first.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  target_compile_options(${_target} PRIVATE -Wno-uninitialized -Wno-maybe-uninitialized)
endif()
