# neuralstyle_styles_header(<styles.json> <output header>)
#
# The built-in styles are listed once, in python/neuralstyle/models/styles.json. The plugin's Describe
# must be static (hosts cache it), so the choice options are compiled in from that file at configure
# time; editing the file re-runs configure.

function(neuralstyle_styles_header json_file header)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${json_file}")
  file(READ "${json_file}" json)
  string(JSON count LENGTH "${json}" styles)
  if(count EQUAL 0)
    message(FATAL_ERROR "${json_file}: no styles")
  endif()
  math(EXPR last "${count} - 1")
  set(entries "")
  foreach(i RANGE ${last})
    string(JSON index GET "${json}" styles ${i} index)
    string(JSON name GET "${json}" styles ${i} name)
    string(JSON description GET "${json}" styles ${i} description)
    # The choice param stores a position; the engine's style index must be that position.
    if(NOT index EQUAL i)
      message(FATAL_ERROR "${json_file}: styles[${i}] has index ${index}; entries must be in index order")
    endif()
    foreach(var name description)
      string(REPLACE "\\" "\\\\" ${var} "${${var}}")
      string(REPLACE "\"" "\\\"" ${var} "${${var}}")
      string(REPLACE "\n" "\\n" ${var} "${${var}}")
    endforeach()
    string(APPEND entries "    {\"${name}\", \"${description}\"},\n")
  endforeach()
  set(NEURALSTYLE_STYLE_ENTRIES "${entries}")
  set(NEURALSTYLE_STYLES_JSON "${json_file}")
  configure_file("${CMAKE_CURRENT_FUNCTION_LIST_DIR}/styles.h.in" "${header}" @ONLY)
endfunction()
