# Persistence integration tests against a real mpstored (issue 3): restart
# round trip, crash (kill -9) with concurrent writers, snapshot mode,
# compaction, bad files, backup, full disk, a format-1 file upgraded,
# re-sends answered once across kill -9 (issue 13). Included from tests/CMakeLists.txt.
# Long variants run with MPSTORE_SOAK=1 in the environment.
set(_pdir ${CMAKE_CURRENT_LIST_DIR})
file(GLOB _persist_tests CONFIGURE_DEPENDS ${_pdir}/persist_*_test.c)
# Targets are it_<file> (persist/ has unit tests named persist_*_test).
foreach(t ${_persist_tests})
  get_filename_component(n ${t} NAME_WE)
  add_executable(it_${n} ${t})
  target_link_libraries(it_${n} PRIVATE mpstore_static mpstore_testsupport PkgConfig::SQLITE3)
  if(TARGET mpstored)
    add_dependencies(it_${n} mpstored)
  endif()
  if(TARGET mpstore-cli)
    add_dependencies(it_${n} mpstore-cli)
  endif()
endforeach()

# Fixtures read as they are (tests/fixtures/README.md).
if(TARGET it_persist_upgrade_test)
  target_compile_definitions(it_persist_upgrade_test PRIVATE
    MPST_FIXTURES="${PROJECT_SOURCE_DIR}/tests/fixtures")
endif()
# Tests that speak SP by hand (net_util.h) need the wire's generated structs.
if(TARGET it_persist_once_test)
  target_link_libraries(it_persist_once_test PRIVATE mpstore_proto Threads::Threads)
endif()

# One ctest per test (and per durability mode for the crash test).
set(_persist_runs
  "persist_roundtrip_test"
  "persist_crash_test\;log"
  "persist_crash_test\;fsync"
  "persist_snapshot_test"
  "persist_badfile_test"
  "persist_backup_test"
  "persist_fulldisk_test"
  "persist_walsync_test"
  "persist_limits_test"
  "persist_meta_test"
  "persist_upgrade_test"
  "persist_once_test\;log"
  "persist_once_test\;fsync")
foreach(r ${_persist_runs})
  list(GET r 0 exe)
  if(NOT TARGET it_${exe})
    continue()
  endif()
  list(LENGTH r nargs)
  if(nargs GREATER 1)
    list(GET r 1 arg)
    set(tname integration/${exe}_${arg})
    add_test(NAME ${tname} COMMAND it_${exe} ${arg})
  else()
    set(tname integration/${exe})
    add_test(NAME ${tname} COMMAND it_${exe})
  endif()
  set_tests_properties(${tname} PROPERTIES TIMEOUT 300 LABELS persist)
endforeach()

# Not a test: time to recover 1,000,000 list elements (docs/performance.md).
if(EXISTS ${_pdir}/persist_recovery_bench.c)
  add_executable(it_persist_recovery_bench ${_pdir}/persist_recovery_bench.c)
  target_link_libraries(it_persist_recovery_bench PRIVATE mpstore_static mpstore_testsupport
    PkgConfig::SQLITE3)
endif()
if(TEST integration/persist_fulldisk_test)
  # exit 77: cannot mount a small tmpfs (not root)
  set_tests_properties(integration/persist_fulldisk_test PROPERTIES SKIP_RETURN_CODE 77)
endif()
