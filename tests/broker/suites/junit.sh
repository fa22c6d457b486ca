#!/bin/sh
# Writes a JUnit report: junit.sh FILE SUITE [passed|failed|skipped]...
set -u
file=$1
suite=$2
shift 2
{
  printf '<?xml version="1.0" encoding="UTF-8"?>\n<testsuite name="%s">\n' "$suite"
  n=0
  for status in "$@"; do
    n=$((n + 1))
    case $status in
    passed) printf '  <testcase classname="%s" name="case-%d"/>\n' "$suite" "$n" ;;
    failed) printf '  <testcase classname="%s" name="case-%d"><failure message="expected 1, got 2">case %d failed</failure></testcase>\n' "$suite" "$n" "$n" ;;
    skipped) printf '  <testcase classname="%s" name="case-%d"><skipped/></testcase>\n' "$suite" "$n" ;;
    esac
  done
  printf '</testsuite>\n'
} > "$file"
