# neuralstyle_add_ofx_bundle(<target> BUNDLE <Name> SOURCES <src>...)
#
# Makes <build>/<Name>.ofx.bundle/Contents/<arch>/<Name>.ofx, the layout every OpenFX host scans for:
# a MODULE library with the .ofx suffix and no lib prefix. Symbols are hidden and a version script
# exports only the OpenFX entry points; -fvisibility=hidden alone leaves the libstdc++ template
# instances (std is declared visibility("default")) in the dynamic symbol table, where they could bind
# to a host's own copies. The target property OFX_BUNDLE_RESOURCES names Contents/Resources.

set(_ofx_bundle_exports "${CMAKE_CURRENT_LIST_DIR}/exports.map")

function(neuralstyle_add_ofx_bundle target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "BUNDLE" "SOURCES")
  if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
    set(arch Linux-x86-64)
  else()
    set(arch Linux-${CMAKE_SYSTEM_PROCESSOR})
  endif()
  set(contents "${CMAKE_BINARY_DIR}/${arg_BUNDLE}.ofx.bundle/Contents")

  add_library(${target} MODULE ${arg_SOURCES})
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    SUFFIX ".ofx"
    OUTPUT_NAME "${arg_BUNDLE}"
    LIBRARY_OUTPUT_DIRECTORY "${contents}/${arch}"
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    LINK_DEPENDS "${_ofx_bundle_exports}"
    OFX_BUNDLE_RESOURCES "${contents}/Resources")
  # -z defs: an unresolved symbol fails the link here, not the host's dlopen.
  target_link_options(${target} PRIVATE
    "LINKER:--version-script=${_ofx_bundle_exports}" "LINKER:-z,defs")
endfunction()
