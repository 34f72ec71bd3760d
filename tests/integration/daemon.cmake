# Daemon integration tests that speak the wire protocol directly (nng + protobuf-c).
foreach(t daemon_malformed_test daemon_security_test daemon_flags_test daemon_slow_reader_test
    daemon_changes_test daemon_input_test)
  add_executable(${t} ${CMAKE_CURRENT_SOURCE_DIR}/integration/${t}.c)
  target_link_libraries(${t} PRIVATE mpstore_proto mpstore_testsupport nng::nng PkgConfig::CMOCKA)
  add_test(NAME integration/${t} COMMAND ${t})
  set_tests_properties(integration/${t} PROPERTIES TIMEOUT 120)
endforeach()
