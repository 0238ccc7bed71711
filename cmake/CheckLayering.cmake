# The analyzer's stages may include only the stages below them (docs/architecture.md). CMake's
# link dependencies cannot stop a wrong #include: every stage library sees the same include root.
# This script does, and runs before the stage libraries build (and again as the `layering` test),
# so a report file that includes a reader internal fails the build.
#
#   cmake -DSOURCE_DIR=<repo> -P CheckLayering.cmake
#
# Rules:
# - a file of analyzer/lib/STAGE includes "S/..." only for S = STAGE or a stage STAGE builds on;
# - "S/internal/..." is S's alone: no other stage, the CLI, the GUI, the tests or the benchmarks;
# - instrumentation/ (the preloaded runtime, the pass plugin, code shared with the analyzer) and
#   the public headers include nothing of the analyzer.

# The stages, bottom first, each with the stages it builds on.
set(RAVEL_STAGES base trace symbols model detect analysis report export attach)
set(RAVEL_STAGE_DEPS_base "")
set(RAVEL_STAGE_DEPS_trace base)
set(RAVEL_STAGE_DEPS_symbols base trace)
set(RAVEL_STAGE_DEPS_model base trace symbols)
set(RAVEL_STAGE_DEPS_detect base trace symbols model)
set(RAVEL_STAGE_DEPS_analysis base trace symbols model detect)
set(RAVEL_STAGE_DEPS_report base trace symbols model detect analysis)
set(RAVEL_STAGE_DEPS_export base trace symbols model detect analysis)
set(RAVEL_STAGE_DEPS_attach base trace symbols model detect)

cmake_policy(VERSION 3.25)

if(NOT CMAKE_SCRIPT_MODE_FILE)
  return() # included from CMakeLists.txt for the lists above
endif()

if(NOT SOURCE_DIR)
  message(FATAL_ERROR "CheckLayering.cmake: pass -DSOURCE_DIR=<repository root>")
endif()

string(REPLACE ";" "|" stage_alt "${RAVEL_STAGES}")
set(violations "")

# Appends a violation for every #include "<stage>/..." of FILE that ALLOWED (a list of stages)
# does not contain; OWN is the file's own stage ("" outside analyzer/lib).
function(check_file file own allowed)
  file(STRINGS "${file}" lines REGEX "^[ \t]*#[ \t]*include[ \t]*\"")
  set(n 0)
  foreach(line IN LISTS lines)
    if(NOT line MATCHES "#[ \t]*include[ \t]*\"((${stage_alt})/[^\"]*)\"")
      continue()
    endif()
    set(path "${CMAKE_MATCH_1}")
    set(stage "${CMAKE_MATCH_2}")
    file(RELATIVE_PATH rel "${SOURCE_DIR}" "${file}")
    list(TRANSFORM allowed APPEND "/" OUTPUT_VARIABLE below)
    list(PREPEND below "")
    list(JOIN below ", " below)
    if(path MATCHES "^${stage}/internal/" AND NOT stage STREQUAL own)
      list(APPEND violations "${rel}: includes \"${path}\", an internal of ${stage}/")
    elseif(NOT stage STREQUAL own AND NOT stage IN_LIST allowed)
      if(own STREQUAL "")
        list(APPEND violations "${rel}: includes \"${path}\", but nothing here may include the analyzer")
      else()
        list(APPEND violations "${rel}: includes \"${path}\", but ${own}/ may include only ${own}/${below}")
      endif()
    endif()
  endforeach()
  set(violations "${violations}" PARENT_SCOPE)
endfunction()

set(sources_re "\\.(c|cc|cpp|h|hpp)$")
foreach(stage IN LISTS RAVEL_STAGES)
  file(GLOB_RECURSE files "${SOURCE_DIR}/analyzer/lib/${stage}/*")
  foreach(f IN LISTS files)
    if(f MATCHES "${sources_re}")
      check_file("${f}" "${stage}" "${RAVEL_STAGE_DEPS_${stage}}")
    endif()
  endforeach()
endforeach()

# Above the library: anything but internals.
foreach(dir analyzer/cli app tests bench)
  file(GLOB_RECURSE files "${SOURCE_DIR}/${dir}/*")
  foreach(f IN LISTS files)
    if(f MATCHES "${sources_re}")
      check_file("${f}" "" "${RAVEL_STAGES}")
    endif()
  endforeach()
endforeach()

# Below it: nothing of the analyzer.
file(GLOB_RECURSE files "${SOURCE_DIR}/instrumentation/*")
foreach(f IN LISTS files)
  if(f MATCHES "${sources_re}")
    check_file("${f}" "" "")
  endif()
endforeach()

if(violations)
  list(LENGTH violations count)
  list(JOIN violations "\n  " text)
  message(FATAL_ERROR "layering: ${count} include(s) against the direction of docs/architecture.md:\n  ${text}")
endif()
