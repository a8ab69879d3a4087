# Configures, builds and runs tests/package/consumer against pare, through MODE
# (find_package after `cmake --install`, or add_subdirectory). Run by ctest.
foreach(_v MODE PARE_SOURCE_DIR PARE_BINARY_DIR WORK_DIR GENERATOR CXX)
  if(NOT DEFINED ${_v})
    message(FATAL_ERROR "run_consumer.cmake needs -D${_v}=...")
  endif()
endforeach()

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _err)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "failed (${_rc}): ${ARGN}\n${_out}\n${_err}")
  endif()
  message("${_out}")
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}")
set(_args -S "${PARE_SOURCE_DIR}/tests/package/consumer" -B "${WORK_DIR}/build" -G "${GENERATOR}"
          -DCMAKE_CXX_COMPILER=${CXX} -DPARE_CONSUMER_MODE=${MODE} -DPARE_SOURCE_DIR=${PARE_SOURCE_DIR})
if(MODE STREQUAL "find_package")
  run(${CMAKE_COMMAND} --install "${PARE_BINARY_DIR}" --prefix "${WORK_DIR}/prefix")
  foreach(_f include/pare/pare.hpp share/cmake/pare/pareConfig.cmake
             share/cmake/pare/pareConfigVersion.cmake share/cmake/pare/pareTargets.cmake)
    if(NOT EXISTS "${WORK_DIR}/prefix/${_f}")
      message(FATAL_ERROR "cmake --install did not install ${_f}")
    endif()
  endforeach()
  list(APPEND _args "-DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix")
endif()
run(${CMAKE_COMMAND} ${_args})
run(${CMAKE_COMMAND} --build "${WORK_DIR}/build")
run("${WORK_DIR}/build/consumer")
