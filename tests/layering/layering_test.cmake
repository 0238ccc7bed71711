# The layering check catches what it must: run on a scratch tree holding one file of each kind of
# wrong include, it must fail and name every one; run on a scratch tree of allowed includes, pass.
#   cmake -DCHECKER=<CheckLayering.cmake> -DWORK=<scratch dir> -P layering_test.cmake
file(REMOVE_RECURSE "${WORK}")

function(tree name)
  foreach(pair IN LISTS ARGN)
    string(REPLACE "=" ";" kv "${pair}")
    list(GET kv 0 path)
    list(GET kv 1 include)
    file(WRITE "${WORK}/${name}/${path}" "#include \"${include}\"\nint x;\n")
  endforeach()
endfunction()

tree(bad
  "analyzer/lib/report/uses_reader_internal.cpp=trace/internal/trace_file.hpp"
  "analyzer/lib/model/reaches_up.cpp=detect/wait_for.hpp"
  "app/models/gui_internal.cpp=trace/internal/event_merge.hpp"
  "instrumentation/runtime/rt_analyzer.cpp=model/objects.hpp")
tree(good
  "analyzer/lib/report/text.cpp=trace/trace_reader.hpp"
  "analyzer/lib/trace/reader.cpp=trace/internal/trace_file.hpp"
  "analyzer/cli/cmd.cpp=export/graph_model.hpp"
  "instrumentation/runtime/rt.cpp=ravel/trace_format.h")

execute_process(COMMAND ${CMAKE_COMMAND} -DSOURCE_DIR=${WORK}/bad -P ${CHECKER}
                RESULT_VARIABLE bad_status ERROR_VARIABLE bad_out OUTPUT_VARIABLE bad_stdout)
if(bad_status EQUAL 0)
  message(FATAL_ERROR "the check passed a tree with wrong includes")
endif()
foreach(expect
    "analyzer/lib/report/uses_reader_internal.cpp: includes \"trace/internal/trace_file.hpp\", an internal of trace/"
    "analyzer/lib/model/reaches_up.cpp: includes \"detect/wait_for.hpp\", but model/ may include only model/"
    "app/models/gui_internal.cpp: includes \"trace/internal/event_merge.hpp\", an internal of trace/"
    "instrumentation/runtime/rt_analyzer.cpp: includes \"model/objects.hpp\", but nothing here may include the analyzer"
    "4 include(s)")
  string(FIND "${bad_out}" "${expect}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "the check's output lacks: ${expect}\n--- output:\n${bad_out}")
  endif()
endforeach()

execute_process(COMMAND ${CMAKE_COMMAND} -DSOURCE_DIR=${WORK}/good -P ${CHECKER}
                RESULT_VARIABLE good_status ERROR_VARIABLE good_out)
if(NOT good_status EQUAL 0)
  message(FATAL_ERROR "the check refused allowed includes:\n${good_out}")
endif()
file(REMOVE_RECURSE "${WORK}")
