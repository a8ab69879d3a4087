# bench_prune measures selection on 1 and 2 threads: build it with OpenMP (pare's parallel loops
# use it when the user compiles with -fopenmp).
find_package(OpenMP REQUIRED COMPONENTS CXX)
target_link_libraries(bench_prune PRIVATE OpenMP::OpenMP_CXX)
