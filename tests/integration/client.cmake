# Client library and CLI integration tests against a real mpstored (included
# from tests/CMakeLists.txt). client_*.c are test programs; cli_*.sh are CLI
# scripts run by client_cli_run against their own daemon.
set(_cdir ${CMAKE_CURRENT_LIST_DIR})
file(GLOB _client_tests CONFIGURE_DEPENDS ${_cdir}/client_*_test.c)
foreach(t ${_client_tests})
  get_filename_component(n ${t} NAME_WE)
  add_executable(${n} ${t})
  target_link_libraries(${n} PRIVATE mpstore_static mpstore_testsupport Threads::Threads)
  # the wire's generated structs, for tests that play the daemon
  target_include_directories(${n} PRIVATE $<TARGET_PROPERTY:mpstore_proto,INTERFACE_INCLUDE_DIRECTORIES>)
  add_dependencies(${n} mpstore_proto)
  add_test(NAME integration/${n} COMMAND ${n})
  set_tests_properties(integration/${n} PROPERTIES TIMEOUT 120)
  if(TARGET mpstored)
    add_dependencies(${n} mpstored)
  endif()
endforeach()

add_executable(client_cli_run ${_cdir}/client_cli_run.c)
target_link_libraries(client_cli_run PRIVATE mpstore_testsupport)
add_dependencies(client_cli_run mpstore-cli)
file(GLOB _cli_scripts CONFIGURE_DEPENDS ${_cdir}/cli_*.sh)
foreach(s ${_cli_scripts})
  get_filename_component(n ${s} NAME_WE)
  add_test(NAME integration/${n} COMMAND client_cli_run ${s})
  set_tests_properties(integration/${n} PROPERTIES TIMEOUT 120)
endforeach()

# docs_*.sh: the examples of README.md, docs/cli.md and docs/schemas.md, run
# and compared with what the documents show (docs_examples.py).
file(GLOB _doc_scripts CONFIGURE_DEPENDS ${_cdir}/docs_*.sh)
foreach(s ${_doc_scripts})
  get_filename_component(n ${s} NAME_WE)
  add_test(NAME integration/${n} COMMAND client_cli_run ${s})
  set_tests_properties(integration/${n} PROPERTIES TIMEOUT 300 ENVIRONMENT
    "PROJECT_SRC=${PROJECT_SOURCE_DIR};PROJECT_BIN=${CMAKE_BINARY_DIR};SHOP_PB=${CMAKE_BINARY_DIR}/clients/schema/shop.pb;EXAMPLE_C_FLAGS=$<$<BOOL:${MPSTORE_SANITIZE}>:-fsanitize=address,undefined>")
endforeach()
