# mpstore_generate(TARGET <target> PROTOS <a.proto> ... [IMPORT_DIRS <dir> ...]
#                  [OUT_DIR <dir>])
#
# Runs protoc-c (--c_out) and protoc with protoc-gen-mpstore (--mpstore_out)
# on each .proto and adds the generated NAME.pb-c.c and NAME.mps.c to
# <target>, with OUT_DIR (default ${CMAKE_CURRENT_BINARY_DIR}/mpstore_gen) as
# a PUBLIC include directory. A proto's import path is relative to the first
# IMPORT_DIR that contains it (else to its own directory). mpstore's
# options.proto and protobuf's descriptor.proto are always importable; their
# protoc-c headers are generated too (header only: generated code includes
# them but needs no code of theirs).
#
# The caller links <target> with libmpstore (mpstore::mpstore) and
# protobuf-c; when the target mpstore::mpstore exists it is linked here.
#
# Works in-tree (MPSTORE_PROTOC_GEN_MPSTORE and MPSTORE_PROTO_DIR set by
# clients/protoc-gen-mpstore/CMakeLists.txt) and from an installed package
# (this file in <prefix>/lib/cmake/mpstore, the plugin in <prefix>/bin, the
# options in <prefix>/share/mpstore/proto).

set(_MPSTORE_GENERATE_DIR "${CMAKE_CURRENT_LIST_DIR}")

function(mpstore_generate)
  cmake_parse_arguments(MG "" "TARGET;OUT_DIR" "PROTOS;IMPORT_DIRS" ${ARGN})
  if(NOT MG_TARGET OR NOT MG_PROTOS)
    message(FATAL_ERROR "mpstore_generate: TARGET and PROTOS are required")
  endif()
  if(NOT MG_OUT_DIR)
    set(MG_OUT_DIR "${CMAKE_CURRENT_BINARY_DIR}/mpstore_gen")
  endif()
  find_program(MPSTORE_PROTOC protoc REQUIRED)
  find_program(MPSTORE_PROTOC_C protoc-c REQUIRED)
  find_path(MPSTORE_PROTOBUF_INCLUDE google/protobuf/descriptor.proto
            HINTS /usr/include /usr/local/include REQUIRED)

  # the plugin and options.proto: in-tree values, else installed layout
  if(MPSTORE_PROTOC_GEN_MPSTORE)
    set(_plugin "${MPSTORE_PROTOC_GEN_MPSTORE}")
    set(_plugin_dep protoc-gen-mpstore)
  else()
    get_filename_component(_prefix "${_MPSTORE_GENERATE_DIR}/../../.." ABSOLUTE)
    find_program(_plugin_found protoc-gen-mpstore HINTS "${_prefix}/bin" REQUIRED)
    set(_plugin "${_plugin_found}")
    set(_plugin_dep "${_plugin_found}")
  endif()
  if(MPSTORE_PROTO_DIR)
    set(_optdir "${MPSTORE_PROTO_DIR}")
  else()
    get_filename_component(_optdir "${_MPSTORE_GENERATE_DIR}/../../../share/mpstore/proto" ABSOLUTE)
  endif()

  set(_inc)
  foreach(d ${MG_IMPORT_DIRS})
    get_filename_component(d "${d}" ABSOLUTE)
    list(APPEND _inc "-I${d}")
  endforeach()

  set(_srcs)
  set(_hdrs)
  foreach(p ${MG_PROTOS})
    get_filename_component(p "${p}" ABSOLUTE)
    set(_rel)
    foreach(d ${MG_IMPORT_DIRS})
      get_filename_component(d "${d}" ABSOLUTE)
      file(RELATIVE_PATH r "${d}" "${p}")
      if(NOT _rel AND NOT r MATCHES "^\\.\\./")
        set(_rel "${r}")
        set(_root "${d}")
      endif()
    endforeach()
    if(NOT _rel)
      get_filename_component(_root "${p}" DIRECTORY)
      get_filename_component(_rel "${p}" NAME)
    endif()
    string(REGEX REPLACE "\\.proto$" "" _base "${_rel}")
    set(_out ${MG_OUT_DIR}/${_base}.pb-c.c ${MG_OUT_DIR}/${_base}.pb-c.h
             ${MG_OUT_DIR}/${_base}.mps.c ${MG_OUT_DIR}/${_base}.mps.h)
    add_custom_command(
      OUTPUT ${_out}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${MG_OUT_DIR}
      COMMAND ${MPSTORE_PROTOC_C} --c_out=${MG_OUT_DIR} -I${_root} ${_inc} -I${_optdir}
              -I${MPSTORE_PROTOBUF_INCLUDE} ${_rel}
      COMMAND ${MPSTORE_PROTOC} --plugin=protoc-gen-mpstore=${_plugin}
              --mpstore_out=${MG_OUT_DIR} -I${_root} ${_inc} -I${_optdir}
              -I${MPSTORE_PROTOBUF_INCLUDE} ${_rel}
      WORKING_DIRECTORY ${_root}
      DEPENDS ${p} ${_plugin_dep}
      COMMENT "mpstore_generate ${_rel}"
      VERBATIM)
    list(APPEND _srcs ${MG_OUT_DIR}/${_base}.pb-c.c ${MG_OUT_DIR}/${_base}.mps.c)
  endforeach()

  # headers of options.proto and descriptor.proto, included by generated code
  set(_opt_h ${MG_OUT_DIR}/mpstore/options.pb-c.h ${MG_OUT_DIR}/google/protobuf/descriptor.pb-c.h)
  add_custom_command(
    OUTPUT ${_opt_h}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${MG_OUT_DIR}
    COMMAND ${MPSTORE_PROTOC_C} --c_out=${MG_OUT_DIR} -I${_optdir} -I${MPSTORE_PROTOBUF_INCLUDE}
            mpstore/options.proto google/protobuf/descriptor.proto
    DEPENDS ${_optdir}/mpstore/options.proto
    COMMENT "protoc-c mpstore/options.proto (headers)"
    VERBATIM)
  set_source_files_properties(${_srcs} PROPERTIES GENERATED TRUE OBJECT_DEPENDS "${_opt_h}")
  target_sources(${MG_TARGET} PRIVATE ${_srcs} ${_opt_h})
  target_include_directories(${MG_TARGET} PUBLIC ${MG_OUT_DIR})
  if(TARGET mpstore::mpstore)
    target_link_libraries(${MG_TARGET} PUBLIC mpstore::mpstore)
  endif()
endfunction()
