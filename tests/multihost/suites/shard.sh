#!/bin/sh
# One shard of the multi-host suite: notes that it started (file
# started-<shard>-<pid> holding the executor's pid), sleeps a second, and
# writes a JUnit report of three passed tests and one skipped.
# Usage: shard.sh REPORT_DIR
set -u
shard=${TESTBUS_LABEL_SHARD:?}
state=${TB_MH_STATE:?}
echo "$PPID" > "$state/tmp-$shard-$$" && mv "$state/tmp-$shard-$$" "$state/started-$shard-$$"
sleep "${TB_MH_SLEEP:-1}"
s=multihost-$shard
{
  printf '<?xml version="1.0" encoding="UTF-8"?>\n<testsuite name="%s">\n' "$s"
  for n in 1 2 3; do
    printf '  <testcase classname="%s" name="shard-%s-case-%d"/>\n' "$s" "$shard" "$n"
  done
  printf '  <testcase classname="%s" name="shard-%s-case-4"><skipped/></testcase>\n' "$s" "$shard"
  printf '</testsuite>\n'
} > "$1/report.xml"
