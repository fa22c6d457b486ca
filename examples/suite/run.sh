#!/bin/sh
# The example suite of testbus: a few quick shell checks, reported as JUnit.
# Needs only a POSIX shell and coreutils, and no cluster.
#
# Usage: run.sh [REPORT_DIR]
# The report goes to REPORT_DIR, else $TESTBUS_ARTIFACTS_DIR (set by the
# executor for each call), else the current folder. Exits 0 when every
# check passed, 1 otherwise.
set -u

out_dir=${1:-${TESTBUS_ARTIFACTS_DIR:-.}}
report="$out_dir/example-junit.xml"
work=$(mktemp -d) || exit 2
trap 'rm -rf "$work"' EXIT
cases="$work/cases.xml"
: > "$cases"
tests=0
failures=0

# Escapes text for XML attributes and element bodies.
xml_escape() {
  sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' -e 's/"/\&quot;/g' -e "s/'/\&apos;/g"
}

# check NAME COMMAND...: runs COMMAND and records a test case named NAME.
check() {
  name=$1
  shift
  tests=$((tests + 1))
  escaped=$(printf '%s' "$name" | xml_escape)
  if "$@" > "$work/output" 2>&1; then
    echo "ok $tests $name"
    printf '    <testcase classname="example" name="%s"/>\n' "$escaped" >> "$cases"
  else
    failures=$((failures + 1))
    echo "not ok $tests $name"
    {
      printf '    <testcase classname="example" name="%s">\n' "$escaped"
      printf '      <failure message="check failed">'
      xml_escape < "$work/output"
      printf '</failure>\n    </testcase>\n'
    } >> "$cases"
  fi
}

arithmetic() { [ $((6 * 7)) -eq 42 ]; }

sorting() { [ "$(printf 'pear\napple\nfig\n' | sort | head -n 1)" = apple ]; }

temp_files() {
  f="$work/scratch"
  printf 'hello\n' > "$f" && [ "$(cat "$f")" = hello ] && rm "$f" && [ ! -e "$f" ]
}

# Under testbus, KUBECONFIG is a private copy; without a cluster it is unset.
kubeconfig_private() {
  [ -z "${KUBECONFIG:-}" ] && return 0
  [ -r "$KUBECONFIG" ] && [ "$(stat -c %a "$KUBECONFIG")" = 600 ] && return 0
  echo "KUBECONFIG=$KUBECONFIG is not a readable file of mode 600"
  return 1
}

report_folder_writable() { [ -d "$out_dir" ] && [ -w "$out_dir" ]; }

check "shell arithmetic" arithmetic
check "text tools sort" sorting
check "temporary files" temp_files
check "kubeconfig is private when present" kubeconfig_private
check "report folder is writable" report_folder_writable

{
  printf '<?xml version="1.0" encoding="UTF-8"?>\n'
  printf '<testsuites>\n  <testsuite name="example" tests="%d" failures="%d">\n' "$tests" "$failures"
  cat "$cases"
  printf '  </testsuite>\n</testsuites>\n'
} > "$report" || exit 2
echo "$tests checks, $failures failed; report: $report"
[ "$failures" -eq 0 ]
