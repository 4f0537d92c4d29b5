# Install rules and CPack settings (included by the top CMakeLists.txt).
#
#   bin/rstrtmgr.dll, bin/rmtool.exe
#   lib/librstrtmgr.a                the import library (dlltool, from the .def)
#   lib/rstrtmgr.def                 that .def (x86: with the @N decorations MSVC's
#                                    `lib /def` needs; x64: undecorated)
#   include/restartmanager.h
#   lib/cmake/rstrtmgr/              find_package(rstrtmgr CONFIG): rstrtmgr::rstrtmgr
#   lib/pkgconfig/rstrtmgr.pc        pkg-config, relative to its own folder
#   share/doc/rstrtmgr/              README.md, rmtool.md, LICENSE
#
# Everything is relative to the install prefix, so an unpacked archive or an
# installed tree can be moved anywhere.
include(CMakePackageConfigHelpers)

# The DLL itself, not the target: install(TARGETS) would also install ld's own
# import library (.ld.a), which lacks the x86 decorations (see CMakeLists.txt).
install(FILES $<TARGET_FILE:rstrtmgr> DESTINATION bin)
install(TARGETS rmtool RUNTIME DESTINATION bin)
install(FILES ${RM_IMPLIB} DESTINATION lib)
install(FILES ${RM_DEF} DESTINATION lib RENAME rstrtmgr.def)
install(FILES ${CMAKE_SOURCE_DIR}/include/restartmanager.h DESTINATION include)
install(FILES ${CMAKE_SOURCE_DIR}/README.md ${CMAKE_SOURCE_DIR}/docs/rmtool.md ${CMAKE_SOURCE_DIR}/LICENSE
        DESTINATION share/doc/rstrtmgr)

# CMake package: an imported target found relative to the config file.
configure_file(${CMAKE_CURRENT_LIST_DIR}/rstrtmgr-config.cmake.in
               ${CMAKE_BINARY_DIR}/package/rstrtmgr-config.cmake @ONLY)
# SameMinorVersion while 0.x; the pointer size check rejects the other architecture.
write_basic_package_version_file(${CMAKE_BINARY_DIR}/package/rstrtmgr-config-version.cmake
                                 VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/package/rstrtmgr-config.cmake
              ${CMAKE_BINARY_DIR}/package/rstrtmgr-config-version.cmake
        DESTINATION lib/cmake/rstrtmgr)

# pkg-config: ${pcfiledir} is the folder of the .pc file, wherever it is.
configure_file(${CMAKE_CURRENT_LIST_DIR}/rstrtmgr.pc.in ${CMAKE_BINARY_DIR}/package/rstrtmgr.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/package/rstrtmgr.pc DESTINATION lib/pkgconfig)

# Release archives: cpack in the build directory.
if(RM_ARCH STREQUAL "x64")
  set(CPACK_SYSTEM_NAME win64)
else()
  set(CPACK_SYSTEM_NAME win32)
endif()
set(CPACK_GENERATOR ZIP)
set(CPACK_PACKAGE_NAME rstrtmgr)
set(CPACK_PACKAGE_VENDOR "rstrtmgr clean-room project")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Clean-room Restart Manager (rstrtmgr.dll) for Windows and Wine")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_FILE_NAME rstrtmgr-${PROJECT_VERSION}-${CPACK_SYSTEM_NAME})
set(CPACK_RESOURCE_FILE_LICENSE ${CMAKE_SOURCE_DIR}/LICENSE)
set(CPACK_INCLUDE_TOPLEVEL_DIRECTORY ON)
set(CPACK_SOURCE_GENERATOR "")
include(CPack)
