#!/usr/bin/env bash
# Installs what the tests need, builds testbus and runs every test: in a
# normal build, then the broker and one component of each kind under
# valgrind, then every test again under AddressSanitizer and
# UndefinedBehaviorSanitizer, and last each fuzz target for a short time.
# Usage: scripts/test.sh [--no-sanitize] [--no-valgrind] [--no-fuzz]
#   TESTBUS_FUZZ_SECONDS  seconds per fuzz target (default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)

sanitize=1 valgrind=1 fuzz=1
for arg in "$@"; do
  case "$arg" in
  --no-sanitize) sanitize=0 ;;
  --no-valgrind) valgrind=0 ;;
  --no-fuzz) fuzz=0 ;;
  -h | --help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "test.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

bash scripts/setup.sh --test

build() { # dir, extra cmake args...
  local dir=$1
  shift
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=ON "$@" > "$dir.configure.log" 2>&1 ||
    { cat "$dir.configure.log"; return 1; }
  cmake --build "$dir" -j "$jobs"
}

stage() { printf '\n=== %s\n' "$*"; }

stage "normal build: every test"
mkdir -p build
build build -DTESTBUS_VALGRIND=ON
ctest --test-dir build -j "$jobs" --output-on-failure --timeout 300 -LE valgrind

if [ "$valgrind" = 1 ]; then
  stage "valgrind memcheck: the broker and one component of each kind (docs/testing.md)"
  ctest --test-dir build -j "$jobs" --output-on-failure -L valgrind
fi

if [ "$sanitize" = 1 ]; then
  stage "ASan+UBSan build: every test"
  mkdir -p build-asan
  build build-asan -DTESTBUS_SANITIZE=ON
  # Leaks are checked at exit of every test and component process.
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan -j "$jobs" --output-on-failure --timeout 600
fi

if [ "$fuzz" = 1 ]; then
  stage "fuzzing: each target for ${TESTBUS_FUZZ_SECONDS:-10} s (docs/fuzzing.md)"
  bash scripts/fuzz.sh --seconds "${TESTBUS_FUZZ_SECONDS:-10}" --jobs "$jobs"
fi
