# Daemon integration tests that speak the wire protocol directly (nng + protobuf-c).
foreach(t daemon_malformed_test daemon_security_test daemon_flags_test
    daemon_changes_test daemon_input_test)
  add_executable(${t} ${CMAKE_CURRENT_SOURCE_DIR}/integration/${t}.c)
  target_link_libraries(${t} PRIVATE mpstore_proto mpstore_testsupport nng::nng PkgConfig::CMOCKA)
  add_test(NAME integration/${t} COMMAND ${t})
  set_tests_properties(integration/${t} PROPERTIES TIMEOUT 120)
endforeach()

# The daemon's own transport (daemon/net/) against nng, nanomsg and raw SP peers.
pkg_check_modules(NANOMSG REQUIRED IMPORTED_TARGET nanomsg)
foreach(t net_interop_test net_limits_test net_start_test net_churn_test net_flood_test)
  add_executable(${t} ${CMAKE_CURRENT_SOURCE_DIR}/integration/${t}.c)
  target_link_libraries(${t} PRIVATE mpstore_proto mpstore_testsupport nng::nng PkgConfig::CMOCKA)
  add_test(NAME integration/${t} COMMAND ${t})
  set_tests_properties(integration/${t} PROPERTIES TIMEOUT 180)
endforeach()
add_executable(net_nanomsg_test ${CMAKE_CURRENT_SOURCE_DIR}/integration/net_nanomsg_test.c)
target_link_libraries(net_nanomsg_test PRIVATE mpstore_proto mpstore_testsupport PkgConfig::NANOMSG
  PkgConfig::CMOCKA)
add_test(NAME integration/net_nanomsg_test COMMAND net_nanomsg_test)
set_tests_properties(integration/net_nanomsg_test PROPERTIES TIMEOUT 120)
add_executable(net_auth_test ${CMAKE_CURRENT_SOURCE_DIR}/integration/net_auth_test.c)
target_link_libraries(net_auth_test PRIVATE mpstore_proto mpstore_testsupport OpenSSL::Crypto
  PkgConfig::CMOCKA)
add_test(NAME integration/net_auth_test COMMAND net_auth_test)
set_tests_properties(integration/net_auth_test PROPERTIES TIMEOUT 120)
