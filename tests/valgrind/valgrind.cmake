# The valgrind checks of the integration tests (docs/testing.md). A test
# folder includes this file: its harness links testbus_test_valgrind, and
# testbus_valgrind_test() registers a test once more as valgrind.<name>, run
# by valgrind_check.py with its testbus programs under memcheck, labelled
# valgrind. Registered only with -DTESTBUS_VALGRIND=ON and valgrind found.
include_guard(GLOBAL)

add_library(testbus_test_valgrind STATIC ${CMAKE_CURRENT_LIST_DIR}/valgrind_wrap.c)
target_include_directories(testbus_test_valgrind PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_compile_definitions(testbus_test_valgrind PRIVATE
  VG_RUN_SCRIPT="${CMAKE_CURRENT_LIST_DIR}/valgrind-run.sh")

# Read by testbus_valgrind_test() in every folder, hence cached: this file
# runs once, in the first folder that includes it.
set(testbus_valgrind_dir ${CMAKE_CURRENT_LIST_DIR} CACHE INTERNAL "")
set(testbus_valgrind_ready OFF CACHE INTERNAL "")
if(TESTBUS_VALGRIND)
  find_program(TESTBUS_VALGRIND_PROGRAM valgrind)
  find_program(TESTBUS_VALGRIND_PYTHON python3)
  if(TESTBUS_SANITIZE)
    message(WARNING "valgrind tests skipped: valgrind cannot run sanitizer builds")
  elseif(NOT TESTBUS_VALGRIND_PROGRAM OR NOT TESTBUS_VALGRIND_PYTHON)
    message(WARNING "valgrind tests skipped: they need valgrind and python3")
  else()
    set(testbus_valgrind_ready ON CACHE INTERNAL "")
  endif()
endif()

# testbus_valgrind_test(NAME name COMMAND command... [ENVIRONMENT var=value...]
#                       [TIMEOUT seconds])
function(testbus_valgrind_test)
  if(NOT testbus_valgrind_ready)
    return()
  endif()
  cmake_parse_arguments(VG "" "NAME;TIMEOUT" "COMMAND;ENVIRONMENT" ${ARGN})
  if(NOT VG_TIMEOUT)
    set(VG_TIMEOUT 600)
  endif()
  add_test(NAME valgrind.${VG_NAME}
           COMMAND ${TESTBUS_VALGRIND_PYTHON} ${testbus_valgrind_dir}/valgrind_check.py
                   --logs ${CMAKE_BINARY_DIR}/valgrind/${VG_NAME}
                   --supp ${testbus_valgrind_dir}/valgrind.supp
                   --valgrind ${TESTBUS_VALGRIND_PROGRAM}
                   -- ${VG_COMMAND})
  set_tests_properties(valgrind.${VG_NAME} PROPERTIES LABELS valgrind TIMEOUT ${VG_TIMEOUT})
  if(VG_ENVIRONMENT)
    set_tests_properties(valgrind.${VG_NAME} PROPERTIES ENVIRONMENT "${VG_ENVIRONMENT}")
  endif()
endfunction()
