# bench_optim's extras: OpenMP for the two-thread runs (pare's loops and the naive version), and
# Debian's libtorch for the torch::optim comparison when it is installed.
find_package(OpenMP)
if(OpenMP_CXX_FOUND)
  target_link_libraries(bench_optim PRIVATE OpenMP::OpenMP_CXX)
endif()
find_package(Torch QUIET PATHS /usr/lib/x86_64-linux-gnu/cmake/Torch)
if(Torch_FOUND)
  message(STATUS "bench_optim: comparing with libtorch ${Torch_VERSION}")
  target_link_libraries(bench_optim PRIVATE torch)
  target_compile_definitions(bench_optim PRIVATE PARE_BENCH_TORCH=1)
else()
  message(STATUS "bench_optim: libtorch not found, no torch::optim comparison")
endif()
