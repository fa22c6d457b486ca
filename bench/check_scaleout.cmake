# Runs the scale-out bench with --quick: it must exit 0 and print the header
# and one row for each of K = 1 and 2.
execute_process(COMMAND ${PYTHON} -B ${BENCH} --quick --bin ${BIN}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}${err}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "scaleout_bench.py --quick exited with ${rc}")
endif()
if(NOT out MATCHES "\nK +wall p50 +wall max +exec p50")
  message(FATAL_ERROR "the table header is missing")
endif()
string(REGEX MATCHALL "\n[12] +[0-9]+\\.[0-9][0-9] " rows "${out}")
list(LENGTH rows n)
if(NOT n EQUAL 2)
  message(FATAL_ERROR "expected 2 table rows, found ${n}")
endif()
