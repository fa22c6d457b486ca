#!/bin/sh
# Runs a testbus program under memcheck, for the test harnesses:
#   TESTBUS_TEST_VALGRIND=LOGDIR valgrind-run.sh PROGRAM [ARGS...]
# valgrind execs PROGRAM in place, so it keeps this script's pid: a harness
# (or the broker's ipc peer check) sees the pid it spawned. Each process
# writes LOGDIR/<pid>.log; valgrind_check.py judges them. Children that are
# testbus programs are checked too; system programs and scripts are not ours
# and run natively (valgrind does not follow a skipped child's own children).
# A forked copy that never execs (the process guard of components/common)
# is not checked: it holds, unreachable, what the threads it did not inherit
# allocated, so its leak report would be noise.
set -eu
: "${TESTBUS_TEST_VALGRIND:?names the folder of the valgrind logs}"
if [ -n "${TESTBUS_TEST_VALGRIND_SUPP:-}" ]; then
	set -- "--suppressions=$TESTBUS_TEST_VALGRIND_SUPP" "$@"
fi
exec "${TESTBUS_TEST_VALGRIND_PROGRAM:-valgrind}" --tool=memcheck \
	--leak-check=full --errors-for-leak-kinds=definite,indirect \
	--show-leak-kinds=definite,indirect --error-exitcode=1 \
	--trace-children=yes --child-silent-after-fork=yes \
	--trace-children-skip='/bin/*,/sbin/*,/usr/*,*.sh,*.py,*-py' \
	--num-callers=30 --log-file="$TESTBUS_TEST_VALGRIND/%p.log" "$@"
