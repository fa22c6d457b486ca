#!/usr/bin/env bats
# A small bats suite with one test of each outcome bats knows.

@test "addition works" {
  [ $((1 + 1)) -eq 2 ]
}

@test "strings compare" {
  [ "$(echo abc | tr a-c A-C)" = "ABC" ]
}

@test "fails on purpose" {
  [ 1 -eq 2 ]
}

@test "errors: a command that does not exist" {
  no-such-command-testbus
}

@test "skipped on purpose" {
  skip "not relevant here"
}
