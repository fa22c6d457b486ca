#!/usr/bin/env bash
# Installs what testbus needs, builds it and runs `testbus run` with the
# given arguments (none: the built-in pipeline, which needs no cluster).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc 2>/dev/null || echo 2)

bash "$root/scripts/setup.sh"
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF > /dev/null
cmake --build "$root/build" -j "$jobs" > /dev/null
exec "$root/build/bin/testbus" run "$@"
