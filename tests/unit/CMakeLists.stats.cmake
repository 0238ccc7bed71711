# ravel_unit_stats: unit tests of the symbolizer and of TraceStats (ravel info / dump). Included
# from tests/unit/CMakeLists.txt; paths are relative to this file so it also works when included
# from elsewhere.
find_package(GTest REQUIRED)
include(GoogleTest)

# A real C program part with debug info exactly as written (-O0: no inlining, no merged globals),
# linked into the test so the test can symbolize its own addresses.
add_library(ravel_symbolizer_fixture OBJECT ${CMAKE_CURRENT_LIST_DIR}/symbolizer_fixture.c)
target_compile_options(ravel_symbolizer_fixture PRIVATE -g -O0)

add_executable(ravel_unit_stats
  ${CMAKE_CURRENT_LIST_DIR}/test_symbolizer.cpp
  ${CMAKE_CURRENT_LIST_DIR}/test_trace_stats.cpp
  $<TARGET_OBJECTS:ravel_symbolizer_fixture>
)
set_target_properties(ravel_unit_stats PROPERTIES CXX_STANDARD 20 CXX_STANDARD_REQUIRED ON)
target_link_libraries(ravel_unit_stats PRIVATE ravel_core GTest::gtest GTest::gtest_main Threads::Threads)
ravel_warnings(ravel_unit_stats)
ravel_sanitize(ravel_unit_stats)
gtest_discover_tests(ravel_unit_stats DISCOVERY_MODE PRE_TEST)
