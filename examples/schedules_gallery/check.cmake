# ctest helper: run the gallery, then compare its SVG with the committed docs/schedules.svg.
execute_process(COMMAND "${GALLERY}" "${OUTPUT}" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "schedules_gallery failed (${rc})")
endif()
execute_process(COMMAND "${CMAKE_COMMAND}" -E compare_files "${OUTPUT}" "${EXPECTED}"
                RESULT_VARIABLE differ)
if(NOT differ EQUAL 0)
  message(FATAL_ERROR "${EXPECTED} differs from the gallery's output ${OUTPUT}. If the change is "
                      "intended, regenerate it: schedules_gallery ${EXPECTED}")
endif()
