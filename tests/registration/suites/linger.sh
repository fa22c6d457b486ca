#!/bin/sh
# The passing suite of the broker tests, which first sleeps for a target
# labelled suite=linger, so that the run is still going a while.
# Usage: linger.sh REPORT_DIR
set -u
if [ "${TESTBUS_LABEL_SUITE:-}" = linger ]; then
  sleep "${TB_TEST_LINGER:-4}"
fi
exec sh "${TB_TEST_SUITES:?}/pass.sh" "$1"
