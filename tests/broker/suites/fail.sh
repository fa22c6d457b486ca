#!/bin/sh
# A failing suite: two tests pass and one fails; exits 1.
# Usage: fail.sh REPORT_DIR
set -u
sh "$(dirname "$0")/junit.sh" "$1/report.xml" fail passed failed passed
exit 1
