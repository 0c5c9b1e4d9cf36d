# The containerd version matrix and CRI conformance (issue 13; docs/testing.md). Included at the
# end of CMakeLists.txt. Each test builds the peers it needs (containerd releases, cri-tools)
# through tests/peers/build.sh into the peer cache (REAPER_PEERS_DIR, default <repo>/build/peers),
# so the first run on an empty cache also pays for those builds.
#   e2e_matrix_<v>       smoke tier through CRI on containerd <v> (tests/matrix/run.sh <v>)
#   e2e_matrix_2.3_options  the main version with an [options] table on the reaper-v2 runtime
#   critest              critest against Reaper and runc on the main version (tests/critest/run.sh)
# The full e2e suites (e2e_ctr, e2e_cri) run on the main version themselves.
if(REAPER_TESTS)
  set(_matrix_env "REAPER_BIN_DIR=${CMAKE_BINARY_DIR};REAPERCTL=$<TARGET_FILE:reaperctl>")
  foreach(tier 1.6 2.0 2.2 2.4 2.3+options)
    string(REPLACE "+" "_" name "e2e_matrix_${tier}")
    add_test(NAME ${name} COMMAND ${CMAKE_SOURCE_DIR}/tests/matrix/run.sh ${tier})
    set_tests_properties(${name} PROPERTIES
      ENVIRONMENT "${_matrix_env}" TIMEOUT 1200 LABELS "e2e;matrix" SKIP_RETURN_CODE 77)
  endforeach()
  add_test(NAME critest COMMAND ${CMAKE_SOURCE_DIR}/tests/critest/run.sh)
  set_tests_properties(critest PROPERTIES
    ENVIRONMENT "${_matrix_env}" TIMEOUT 3000 LABELS "e2e;critest" SKIP_RETURN_CODE 77)
endif()
