# sdk.cmake - task "sdk": Microsoft's two Restart Manager sample installers (the
# primary and the secondary of "Using Restart Manager with a Secondary Installer";
# the primary-installer page itself has no code and points to that one) are
# extracted from the documentation at build time, compiled as C++ against our
# include/restartmanager.h and import library, and run against our DLL by
# test_sdk_samples. Microsoft's code is never stored in the repository: it is read
# from RM_SDK_SEEDS_DIR (default: ../shared/seeds next to the source tree). Without
# that folder the samples are not built and test_sdk_samples reports SKIPPED.
# Included from tests/CMakeLists.txt, so every program lands next to the others.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

set(RM_SDK_SEEDS_DIR ${CMAKE_SOURCE_DIR}/../shared/seeds CACHE PATH
    "Folder with Microsoft's Restart Manager documentation pages (SDK samples)")
set(RM_SDK_PAGE ${RM_SDK_SEEDS_DIR}/using-restart-manager-with-a-secondary-installer.md)
set(RM_SDK_DIR ${CMAKE_CURRENT_LIST_DIR})
set(RM_SDK_EXTRACT ${CMAKE_SOURCE_DIR}/tools/extract-sdk-sample)
set(RM_SDK_SUBST ${RM_SDK_DIR}/substitutions.tsv)
set(RM_SDK_SHIM ${RM_SDK_DIR}/rmsdk_shim.h)

if(EXISTS ${RM_SDK_PAGE})
  set(RM_SDK_HAVE_SEEDS 1)
  # name, code block of the page
  foreach(pair "primary;1" "secondary;2")
    list(GET pair 0 role)
    list(GET pair 1 block)
    set(src ${CMAKE_CURRENT_BINARY_DIR}/sdk/rmsdk_${role}.cpp)
    add_custom_command(OUTPUT ${src}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_CURRENT_BINARY_DIR}/sdk
      COMMAND ${RM_SDK_EXTRACT} ${RM_SDK_PAGE} ${block} ${role} ${RM_SDK_SUBST} ${src}
      DEPENDS ${RM_SDK_PAGE} ${RM_SDK_SUBST} ${RM_SDK_EXTRACT}
      COMMENT "Extracting the SDK ${role} installer sample"
      VERBATIM)
    set_source_files_properties(${src} PROPERTIES OBJECT_DEPENDS ${RM_SDK_SHIM})
    add_executable(rmsdk_${role} ${src})
    # As the page has it: C++, wmain (-municode). Our header comes first on the
    # include path through rstrtmgr_import; the shim traces the Rm* calls and holds
    # what the substitutions call. The sample's "#pragma comment(lib, ...)" is
    # MSVC-only; linking rstrtmgr_import does its job, so that warning is silenced.
    # Warnings stay on but never become errors: the code is Microsoft's, not ours.
    target_compile_definitions(rmsdk_${role} PRIVATE RMSDK_ROLE="${role}")
    target_compile_options(rmsdk_${role} PRIVATE -municode -Wall -Wextra -Wno-unknown-pragmas
                           -include ${RM_SDK_SHIM})
    # -static: no libstdc++/libgcc DLLs to find under Wine.
    target_link_options(rmsdk_${role} PRIVATE -municode -static)
    target_link_libraries(rmsdk_${role} PRIVATE rstrtmgr_import)
  endforeach()
else()
  set(RM_SDK_HAVE_SEEDS 0)
  message(STATUS "SDK samples: ${RM_SDK_PAGE} not found; test_sdk_samples will be skipped")
endif()

rm_add_test(test_sdk_samples conformance ${RM_SDK_DIR}/test_sdk_samples.c)
target_compile_definitions(test_sdk_samples PRIVATE RMSDK_HAVE_SEEDS=${RM_SDK_HAVE_SEEDS})
if(RM_SDK_HAVE_SEEDS)
  # The stand-in for Calculator: rmhelper_gui.exe under a name no other test uses,
  # next to our DLL (which it imports), so that the test can tell its processes and
  # the restarted one apart by image name.
  set(RM_SDK_APP ${CMAKE_BINARY_DIR}/rmsdk_calc.exe)
  add_custom_command(OUTPUT ${RM_SDK_APP}
    COMMAND ${CMAKE_COMMAND} -E copy $<TARGET_FILE:rmhelper_gui> ${RM_SDK_APP}
    DEPENDS rmhelper_gui
    VERBATIM)
  add_custom_target(rmsdk_calc DEPENDS ${RM_SDK_APP})
  add_dependencies(test_sdk_samples rmsdk_primary rmsdk_secondary rmsdk_calc)
endif()
set_tests_properties(test_sdk_samples PROPERTIES SKIP_RETURN_CODE 77)
