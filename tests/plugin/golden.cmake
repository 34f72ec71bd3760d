# Runs protoc with the plugin on fixtures/shop.proto and compares the output
# with golden/. With UPDATE_GOLDEN=1 in the environment, rewrites golden/.
file(REMOVE_RECURSE ${OUT})
file(MAKE_DIRECTORY ${OUT})
execute_process(
  COMMAND ${PROTOC} --plugin=protoc-gen-mpstore=${PLUGIN} --mpstore_out=${OUT}
          -I${FIXTURES} -I${OPTDIR} -I${PBINC} shop.proto
  WORKING_DIRECTORY ${FIXTURES}
  RESULT_VARIABLE rv ERROR_VARIABLE err)
if(NOT rv EQUAL 0)
  message(FATAL_ERROR "protoc failed: ${err}")
endif()
foreach(f shop.mps.h shop.mps.c)
  if(DEFINED ENV{UPDATE_GOLDEN})
    file(COPY ${OUT}/${f} DESTINATION ${GOLDEN})
  else()
    execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${OUT}/${f} ${GOLDEN}/${f}
                    RESULT_VARIABLE diff)
    if(NOT diff EQUAL 0)
      execute_process(COMMAND diff -u ${GOLDEN}/${f} ${OUT}/${f})
      message(FATAL_ERROR "${f} differs from the golden file")
    endif()
  endif()
endforeach()
