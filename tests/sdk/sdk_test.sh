#!/bin/sh
# Installs testbus into a temporary prefix, builds the minimal executor out of
# tree against it (CMake package and pkg-config), calls it with the installed
# `testbus call`, and runs the installed built-in pipeline.
# Usage: sdk_test.sh BUILD_DIR SOURCE_DIR
set -eu
build=$1
src=$2
work=$(mktemp -d /tmp/testbus-sdk-XXXXXX)
comp_pid=
cleanup() {
  [ -n "$comp_pid" ] && kill "$comp_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
prefix=$work/prefix

cmake --install "$build" --prefix "$prefix" > "$work/install.log"
libdir=$prefix/lib

# 1. CMake package
cmake -S "$src/tests/sdk/project" -B "$work/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" \
  -DMINIMAL_SOURCE="$prefix/share/testbus/examples/minimal-executor/minimal_executor.c" \
  -DTESTBUS_LIBDIR="$libdir" > "$work/configure.log"
cmake --build "$work/cmake-build" > "$work/build.log"

# 2. pkg-config
PKG_CONFIG_PATH=$libdir/pkgconfig
export PKG_CONFIG_PATH
cc -std=c11 -Wall -Werror -o "$work/minimal-pc" \
  "$prefix/share/testbus/examples/minimal-executor/minimal_executor.c" \
  $(pkg-config --cflags --libs testbus) -Wl,-rpath,"$libdir"
"$work/minimal-pc" --version | grep -q "protocol 1"

# 3. The out-of-tree component answers the installed testbus call.
"$work/cmake-build/minimal-executor" --listen "ipc://$work/minimal.ipc" 2> "$work/minimal.log" &
comp_pid=$!
answer=$("$prefix/bin/testbus" call --deadline 10s "ipc://$work/minimal.ipc" Component/Describe)
echo "$answer" | grep -q '"name": *"minimal"' || { echo "unexpected answer: $answer"; exit 1; }
answer=$("$prefix/bin/testbus" call --deadline 10s "ipc://$work/minimal.ipc" Executor/Execute \
  '{"labels": {"command": "exit 3"}}')
echo "$answer" | grep -q '"exitCode": *3' || { echo "unexpected answer: $answer"; exit 1; }
kill "$comp_pid"
wait "$comp_pid" || true
comp_pid=

# 4. The installed testbus runs its built-in pipeline from the prefix alone.
mkdir "$work/run"
(cd "$work/run" && "$prefix/bin/testbus" run > "$work/run.log" 2>&1) ||
  { cat "$work/run.log"; exit 1; }
test -f "$work/run/testbus-artifacts/latest/results.json"
echo "sdk: install, out-of-tree builds, call and default run all passed"
