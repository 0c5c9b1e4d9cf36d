# Installer tests (tests/install/run.sh): scripts/install-node.sh against scratch host roots,
# deploy/ansible against localhost with a private containerd, scripts/install-reaper.sh with
# stand-in docker/kind/kubectl. Included from CMakeLists.txt.
if(REAPER_TESTS)
  add_test(NAME e2e_install COMMAND ${CMAKE_SOURCE_DIR}/tests/install/run.sh)
  set_tests_properties(e2e_install PROPERTIES
    ENVIRONMENT "REAPER_BIN_DIR=${CMAKE_BINARY_DIR}" TIMEOUT 1800 LABELS e2e)
endif()
