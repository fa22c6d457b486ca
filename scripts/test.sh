#!/usr/bin/env bash
# Installs what the tests need, builds testbus and runs every test: once in a
# normal build and once under AddressSanitizer and UndefinedBehaviorSanitizer.
# Usage: scripts/test.sh [--no-sanitize]
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)

bash scripts/setup.sh --test

build() { # dir, extra cmake args...
  local dir=$1
  shift
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=ON "$@" > "$dir.configure.log" 2>&1 ||
    { cat "$dir.configure.log"; return 1; }
  cmake --build "$dir" -j "$jobs"
}

mkdir -p build
build build
ctest --test-dir build -j "$jobs" --output-on-failure --timeout 300

if [ "${1:-}" != "--no-sanitize" ]; then
  mkdir -p build-asan
  build build-asan -DTESTBUS_SANITIZE=ON
  # Leaks are checked at exit of every test and component process.
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan -j "$jobs" --output-on-failure --timeout 600
fi
