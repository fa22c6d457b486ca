#!/bin/sh
# A suite that stays busy so the test can interrupt the run mid-Execute.
# Writes "<own pid> <executor pid>" to $TB_TEST_STATE/started, then sleeps.
# A second attempt (after a lost executor) passes at once.
# Usage: sleep.sh REPORT_DIR
set -u
state=${TB_TEST_STATE:?}
if [ -e "$state/started" ]; then
  echo "$$ $PPID" > "$state/retried"
  sh "$(dirname "$0")/junit.sh" "$1/report.xml" sleep passed
  exit 0
fi
echo "$$ $PPID" > "$state/started.tmp" && mv "$state/started.tmp" "$state/started"
sleep "${TB_TEST_SLEEP:-30}"
sh "$(dirname "$0")/junit.sh" "$1/report.xml" sleep passed
