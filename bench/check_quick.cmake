# Runs the bus bench with --quick: it must exit 0 and print all eight rows.
execute_process(COMMAND ${BENCH} --quick RESULT_VARIABLE rc OUTPUT_VARIABLE out
                ERROR_VARIABLE err)
message("${out}${err}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "testbus-bench-bus --quick exited with ${rc}")
endif()
string(REGEX MATCHALL "\n(ipc|tcp) +[18] +(small|large) +\\|" rows "${out}")
list(LENGTH rows n)
if(NOT n EQUAL 8)
  message(FATAL_ERROR "expected 8 table rows, found ${n}")
endif()
