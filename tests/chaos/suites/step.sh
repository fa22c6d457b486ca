#!/bin/sh
# The suite of one execute phase: two passing tests. In the phase named by
# TB_CHAOS_SLEEP_PHASE it first writes "<own pid> <executor pid>" to
# TB_CHAOS_MARKER and sleeps, so that a fault lands while it runs.
# Usage: step.sh REPORT_DIR PHASE
set -u
if [ "${TB_CHAOS_SLEEP_PHASE:-}" = "$2" ]; then
  echo "$$ $PPID" > "$TB_CHAOS_MARKER.tmp" && mv "$TB_CHAOS_MARKER.tmp" "$TB_CHAOS_MARKER"
  sleep 120
fi
{
  printf '<?xml version="1.0" encoding="UTF-8"?>\n<testsuite name="%s">\n' "$2"
  printf '  <testcase classname="%s" name="first"/>\n' "$2"
  printf '  <testcase classname="%s" name="second"/>\n' "$2"
  printf '</testsuite>\n'
} > "$1/report.xml"
