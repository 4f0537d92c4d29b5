# Runs the conformance tests (ctest label "conformance": truths about Windows,
# checked through the exports alone) against another rstrtmgr.dll: Windows' own on
# a Windows machine, or any DLL given by path. Our documented choices are skipped
# in this mode (RMT_OUR_CHOICE in tests/common/rmtest.h), so a failure is a place
# where the other DLL and our expectations of Windows disagree.
#
#   cmake -D BUILD=build/x64 -D DLL=system [-D ONLY="test_getlist;test_filters"] \
#         -P tests/conformance.cmake
#
# DLL=system      the system directory's rstrtmgr.dll (under Wine: Wine's builtin)
# DLL=<path>      that file, copied next to the test programs as rstrtmgr.dll
# ONLY            a subset of the programs (default: all of them)
#
# The programs of BUILD are copied to BUILD/conformance (without our DLL) and run
# there one at a time, each program's output kept in BUILD/conformance/<name>.log.
# A program passes with exit code 0 (77: all skipped for a reason of the machine)
# and no failure line. Exit status 1 when any program failed.
cmake_minimum_required(VERSION 3.20)

if(NOT BUILD OR NOT DLL)
  message(FATAL_ERROR "usage: cmake -D BUILD=<build dir> -D DLL=system|<path> [-D ONLY=<names>] -P tests/conformance.cmake")
endif()
get_filename_component(BUILD "${BUILD}" ABSOLUTE)
if(NOT EXISTS "${BUILD}/conformance-config.cmake")
  message(FATAL_ERROR "conformance: ${BUILD} is not a configured build directory (no conformance-config.cmake)")
endif()
include("${BUILD}/conformance-config.cmake")
# The programs run directly on Windows; elsewhere through the build's emulator
# (tools/wine-run). -D EMULATOR=... overrides either.
if(DEFINED EMULATOR)
  set(RM_CONFORMANCE_EMULATOR "${EMULATOR}")
elseif(CMAKE_HOST_WIN32)
  set(RM_CONFORMANCE_EMULATOR "")
endif()
set(programs ${RM_CONFORMANCE_PROGRAMS})
if(ONLY)
  foreach(p IN LISTS ONLY)
    if(NOT p IN_LIST programs)
      message(FATAL_ERROR "conformance: ${p} is not a conformance program (${programs})")
    endif()
  endforeach()
  set(programs ${ONLY})
endif()

set(dir "${BUILD}/conformance")
file(REMOVE_RECURSE "${dir}")
file(MAKE_DIRECTORY "${dir}")
file(GLOB exes "${BUILD}/*.exe")
file(COPY ${exes} DESTINATION "${dir}")
if(DLL STREQUAL "system")
  set(ENV{RMT_CONFORMANCE_DLL} system)
  set(override "rstrtmgr=b")
else()
  get_filename_component(DLL "${DLL}" ABSOLUTE)
  if(NOT EXISTS "${DLL}")
    message(FATAL_ERROR "conformance: ${DLL} does not exist")
  endif()
  configure_file("${DLL}" "${dir}/rstrtmgr.dll" COPYONLY)
  set(ENV{RMT_CONFORMANCE_DLL} beside)
  set(override "rstrtmgr=n")
endif()
set(ENV{RMT_CONFORMANCE} 1)
# Under Wine (tools/wine-run): which rstrtmgr.dll Wine may load, the others as
# tools/wine-run sets them. Windows ignores the variable.
set(ENV{WINEDLLOVERRIDES} "${override};mscoree,mshtml=")
message(STATUS "conformance: ${DLL} against ${programs}")

set(failed "")
foreach(p IN LISTS programs)
  string(TIMESTAMP t0 "%s")
  execute_process(COMMAND ${RM_CONFORMANCE_EMULATOR} "${dir}/${p}.exe"
                  WORKING_DIRECTORY "${dir}" RESULT_VARIABLE rc
                  OUTPUT_VARIABLE out ERROR_VARIABLE out TIMEOUT 1200)
  string(TIMESTAMP t1 "%s")
  math(EXPR secs "${t1} - ${t0}")
  file(WRITE "${dir}/${p}.log" "${out}")
  # cmocka's "[  FAILED  ]", a crash under Wine, the installer scenario's own word.
  set(bad FALSE)
  if(out MATCHES "FAILED +\\]|UNEXPECTED|wine: Unhandled|err:seh")
    set(bad TRUE)
  endif()
  if(p STREQUAL "installer_primary" AND NOT out MATCHES "scenario completed")
    set(bad TRUE)
  endif()
  if((rc STREQUAL "0" OR rc STREQUAL "77") AND NOT bad)
    set(verdict passed)
    if(rc STREQUAL "77")
      set(verdict skipped)
    endif()
  else()
    set(verdict FAILED)
    list(APPEND failed ${p})
  endif()
  string(REGEX MATCH "rstrtmgr.dll under test: [^\n]*" which "${out}")
  message("conformance: ${p} ${verdict} (exit ${rc}, ${secs} s) ${which}")
endforeach()

if(failed)
  message("conformance: FAILED: ${failed} (logs in ${dir})")
  # A script's FATAL_ERROR is its exit status 1.
  message(FATAL_ERROR "conformance: ${DLL} disagrees with our expectations of Windows")
endif()
message("conformance: all passed")
