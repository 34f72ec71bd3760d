# Integration tests of the blocking and synchronisation kinds (issue 6)
# against a real mpstored (included from tests/CMakeLists.txt):
# sync_*_test.c are test programs (scaffolding in sync_common.h); sync_*.sh
# are CLI scripts run by client_cli_run (client.cmake) against their own
# daemon. MPSTORE_SOAK=1 makes the tests run longer variants.
set(_sdir ${CMAKE_CURRENT_LIST_DIR})
file(GLOB _sync_tests CONFIGURE_DEPENDS ${_sdir}/sync_*_test.c)
foreach(t ${_sync_tests})
  get_filename_component(n ${t} NAME_WE)
  add_executable(${n} ${t})
  target_link_libraries(${n} PRIVATE mpstore_static mpstore_testsupport Threads::Threads)
  add_test(NAME integration/${n} COMMAND ${n})
  set_tests_properties(integration/${n} PROPERTIES TIMEOUT 180)
  if(TARGET mpstored)
    add_dependencies(${n} mpstored)
  endif()
endforeach()

if(TARGET client_cli_run)
  file(GLOB _sync_scripts CONFIGURE_DEPENDS ${_sdir}/sync_*.sh)
  foreach(s ${_sync_scripts})
    get_filename_component(n ${s} NAME_WE)
    add_test(NAME integration/${n} COMMAND client_cli_run ${s})
    set_tests_properties(integration/${n} PROPERTIES TIMEOUT 180)
  endforeach()
endif()
