# Typed containers (issue 5) against a real mpstored: generated stubs round
# trip every field type, the daemon refuses bad elements, schemas travel
# between processes and survive restarts, --schema at start, the CLI's JSON,
# and examples/ built against the installed package. Included from
# tests/CMakeLists.txt; needs mpstore_schema and the plugin.
if(NOT TARGET mpstore_schema OR NOT COMMAND mpstore_generate OR NOT TARGET mpstored)
  return()
endif()
set(_sdir ${CMAKE_CURRENT_LIST_DIR})
set(_fix ${PROJECT_SOURCE_DIR}/tests/plugin/fixtures)
set(_sfix ${CMAKE_BINARY_DIR}/clients/schema) # shop.pb, inv_*.pb (mpstore_schema_fixtures)

# the stubs of tests/plugin/fixtures/shop.proto, as a user's build makes them
add_library(it_schema_shop STATIC ${_sdir}/schema_stubs.c)
mpstore_generate(TARGET it_schema_shop PROTOS ${_fix}/shop.proto IMPORT_DIRS ${_fix}
                 OUT_DIR ${CMAKE_CURRENT_BINARY_DIR}/schema_gen)
target_compile_options(it_schema_shop PRIVATE -Wall -Wextra -Werror)
target_link_libraries(it_schema_shop PUBLIC mpstore_static PkgConfig::PROTOBUFC)

file(GLOB _schema_tests CONFIGURE_DEPENDS ${_sdir}/schema_*_test.c)
foreach(t ${_schema_tests})
  get_filename_component(n ${t} NAME_WE)
  add_executable(it_${n} ${t})
  target_link_libraries(it_${n} PRIVATE it_schema_shop mpstore_schema mpstore_testsupport)
  target_include_directories(it_${n} PRIVATE ${_sdir})
  target_compile_definitions(it_${n} PRIVATE
    SHOP_PB="${_sfix}/shop.pb" INV_V1_PB="${_sfix}/inv_v1.pb"
    INV_V2OK_PB="${_sfix}/inv_v2ok.pb" INV_V2BAD_PB="${_sfix}/inv_v2bad.pb"
    SHOP_PROTO="${_fix}/shop.proto"
    CMAKE_BIN="${CMAKE_COMMAND}" PROJECT_SRC="${PROJECT_SOURCE_DIR}"
    PROJECT_BIN="${CMAKE_BINARY_DIR}"
    EXAMPLE_C_FLAGS="-Werror$<$<BOOL:${MPSTORE_SANITIZE}>: -fsanitize=address,undefined>")
  add_dependencies(it_${n} mpstored mpstore_schema_fixtures)
  if(TARGET mpstore-cli)
    add_dependencies(it_${n} mpstore-cli)
  endif()
  add_test(NAME integration/${n} COMMAND it_${n})
  set_tests_properties(integration/${n} PROPERTIES TIMEOUT 300 LABELS schema)
endforeach()

# The hand-run path of docs/schemas.md and pkg-config from an installed
# prefix (schema_handrun.sh, run by client_cli_run against a daemon).
if(TARGET client_cli_run)
  add_test(NAME integration/schema_handrun
    COMMAND client_cli_run ${_sdir}/schema_handrun.sh)
  set_tests_properties(integration/schema_handrun PROPERTIES TIMEOUT 300 LABELS schema
    ENVIRONMENT "CMAKE_BIN=${CMAKE_COMMAND};PROJECT_BIN=${CMAKE_BINARY_DIR};PROJECT_SRC=${PROJECT_SOURCE_DIR};EXAMPLE_C_FLAGS=-Werror$<$<BOOL:${MPSTORE_SANITIZE}>: -fsanitize=address,undefined>")
endif()
