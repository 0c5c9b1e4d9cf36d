# Install rules and the .deb (CPack DEB generator); docs/kubernetes.md, ".deb package".
#   cpack -G DEB --config build/CPackConfig.cmake      (or: cmake --build build --target package)
# The package installs files only: it never edits containerd's configuration. Configuring
# containerd is the explicit step `/usr/share/reaper/install-node.sh` documented there.
include(GNUInstallDirs)

install(TARGETS containerd-shim-reaper-v2 reaper-runtime reaper-overlay reaperctl
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# Default node configuration: every key commented out. A dpkg conffile, so an operator's edits
# survive upgrades; `dpkg --purge` removes it.
install(FILES deploy/reaper.toml DESTINATION /etc/reaper)
# The node steps (containerd config, node label) and, next to it, the pristine default config
# it looks for there.
install(PROGRAMS scripts/install-node.sh DESTINATION ${CMAKE_INSTALL_DATADIR}/reaper)
install(FILES deploy/reaper.toml DESTINATION ${CMAKE_INSTALL_DATADIR}/reaper)
file(GLOB REAPER_INSTALLER_PY ${CMAKE_SOURCE_DIR}/scripts/installer/*.py)
# package-defaults: the packaged installer uses the package's binaries in /usr/bin, in place
set(REAPER_PKG_DEFAULTS ${CMAKE_BINARY_DIR}/package/package-defaults)
file(WRITE ${REAPER_PKG_DEFAULTS}
  "# the .deb's binaries (cmake/package.cmake): install-node.sh uses them in place\n"
  "bin_src=/usr/${CMAKE_INSTALL_BINDIR}\nbin_dir=/usr/${CMAKE_INSTALL_BINDIR}\n")
install(FILES ${REAPER_INSTALLER_PY} ${REAPER_PKG_DEFAULTS}
        DESTINATION ${CMAKE_INSTALL_DATADIR}/reaper/installer)
install(FILES deploy/debian/lintian-overrides DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides
        RENAME reaper)
file(GLOB REAPER_DOCS ${CMAKE_SOURCE_DIR}/docs/*.md)
set(REAPER_COPYRIGHT ${CMAKE_BINARY_DIR}/package/copyright)
file(WRITE ${REAPER_COPYRIGHT}
  "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
  "Upstream-Name: reaper\n"
  "\n"
  "Files: *\n"
  "Copyright: 2026 the Reaper authors\n"
  "License: no license is stated in the source repository\n")
# A native package's changelog (Debian policy 12.7), compressed as dpkg-deb expects (gzip -9n).
set(REAPER_CHANGELOG ${CMAKE_BINARY_DIR}/package/changelog)
file(WRITE ${REAPER_CHANGELOG}
  "reaper (${PROJECT_VERSION}) unstable; urgency=medium\n\n"
  "  * Release ${PROJECT_VERSION}: see /usr/share/doc/reaper/README.md.\n\n"
  " -- Reaper maintainers <reaper@example.org>  Tue, 01 Dec 2026 00:00:00 +0000\n")
execute_process(COMMAND gzip -9n -c ${REAPER_CHANGELOG} OUTPUT_FILE ${REAPER_CHANGELOG}.gz)
install(FILES README.md ${REAPER_DOCS} ${REAPER_COPYRIGHT} ${REAPER_CHANGELOG}.gz
        DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/reaper)

set(REAPER_CONFFILES ${CMAKE_BINARY_DIR}/package/conffiles)
file(WRITE ${REAPER_CONFFILES} "/etc/reaper/reaper.toml\n")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME reaper)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "Reaper maintainers <reaper@example.org>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "containerd runtime that runs Kubernetes pod commands directly on the node")
# The extended description (CPack puts the summary first and indents each line).
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
"containerd-shim-reaper-v2 (runtime type io.containerd.reaper.v2) runs a
pod's commands on the node itself: no image, no namespaces, host network,
behind a shared overlay that keeps the host's root filesystem unchanged.
Also reaper-runtime (runc-compatible CLI for podman), reaper-overlay
(overlay group management) and reaperctl (CRI client).
.
Installing the package does not change containerd's configuration: run
/usr/share/reaper/install-node.sh (see /usr/share/doc/reaper).")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Depends: from the dynamically linked binaries (reaper-overlay, reaperctl) via dpkg-shlibdeps.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# install-node.sh: Python 3.11+ (tomllib) with tomlkit
set(CPACK_DEBIAN_PACKAGE_DEPENDS "python3 (>= 3.11), python3-tomlkit")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS containerd)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${REAPER_CONFFILES}
    ${CMAKE_SOURCE_DIR}/deploy/debian/postinst ${CMAKE_SOURCE_DIR}/deploy/debian/prerm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_PACKAGE_DIRECTORY ${CMAKE_BINARY_DIR}/package)
set(CPACK_STRIP_FILES ON)   # Debian policy 10.1; tests/package compares with stripped copies
include(CPack)

if(REAPER_TESTS)
  add_test(NAME deploy_manifests COMMAND ${CMAKE_SOURCE_DIR}/tests/deploy/check-manifests.sh)
  # helm is built from its module on the first run (tests/peers/build.sh, cached): up to ~20 min
  set_tests_properties(deploy_manifests PROPERTIES TIMEOUT 1800 LABELS deploy)
  add_test(NAME package_deb COMMAND ${CMAKE_SOURCE_DIR}/tests/package/run.sh)
  set_tests_properties(package_deb PROPERTIES
    ENVIRONMENT "REAPER_BUILD_DIR=${CMAKE_BINARY_DIR}" TIMEOUT 900 LABELS e2e)
endif()
