# pare_test_optim's extras: a second executable built with OpenMP (when found), to test that the
# chunks of a step shared among threads give the same bits as one thread. It is separate so that
# the main test executable keeps the precompiled header it shares with the other areas.
find_package(OpenMP)
if(OpenMP_CXX_FOUND)
  add_executable(pare_test_optim_openmp "${CMAKE_CURRENT_LIST_DIR}/openmp/test_parallel.cpp")
  target_link_libraries(pare_test_optim_openmp PRIVATE pare_test_support OpenMP::OpenMP_CXX)
  add_test(NAME optim_openmp COMMAND pare_test_optim_openmp --order rand --rng-seed 1)
  set_tests_properties(optim_openmp PROPERTIES ENVIRONMENT "OMP_NUM_THREADS=2")
endif()
