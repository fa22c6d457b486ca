#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang (ASan+UBSan), gathers their
# seeds from the project's test data and runs each for a bounded time.
set -euo pipefail

usage() {
	cat <<'EOF'
usage: scripts/fuzz.sh [options] [TARGET...]

Builds build-fuzz (CC=clang, -DTESTBUS_FUZZ=ON), gathers each target's seeds
from the project's test data into build-fuzz/fuzz/seeds/TARGET, then runs each
target (all of them unless named) for a bounded time, keeping what it learns
in build-fuzz/fuzz/corpus/TARGET. Prints a table of executions, coverage,
corpus size and result per target. Exits 1 when any target found a crash, a
leak, a hang or a broken promise; the reproducer's path is printed, and
`build-fuzz/bin/fuzz-TARGET FILE` replays it.

options:
  --seconds N      run each target for N seconds (default 30)
  --jobs N         run N targets at a time (default 1)
  --rss-limit MB   memory limit of one target (default 2048)
  --build-dir DIR  the clang build folder (default build-fuzz)
  --no-build       use the targets already built
  --list           print the targets and exit
  -h, --help       this text

targets: envelope requests config component_config junit kubeconfig llm_answer exec_output json_pb
EOF
}

root=$(cd "$(dirname "$0")/.." && pwd)
seconds=30
jobs=1
rss_limit=2048
build_dir=build-fuzz
build=1
list=0
targets=()
while [ $# -gt 0 ]; do
	case "$1" in
	--seconds) seconds=$2; shift 2 ;;
	--jobs) jobs=$2; shift 2 ;;
	--rss-limit) rss_limit=$2; shift 2 ;;
	--build-dir) build_dir=$2; shift 2 ;;
	--no-build) build=0; shift ;;
	--list) list=1; shift ;;
	-h | --help) usage; exit 0 ;;
	-*) echo "fuzz.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
	*) targets+=("$1"); shift ;;
	esac
done
case "$seconds$jobs$rss_limit" in
*[!0-9]*) echo "fuzz.sh: --seconds, --jobs and --rss-limit take numbers" >&2; exit 2 ;;
esac
[ "$jobs" -ge 1 ] || jobs=1
case "$build_dir" in /*) ;; *) build_dir=$root/$build_dir ;; esac

if [ "$build" = 1 ]; then
	if ! command -v clang >/dev/null; then
		echo "fuzz.sh: clang is needed (apt-get install clang libclang-rt-dev)" >&2
		exit 2
	fi
	CC=clang cmake -S "$root" -B "$build_dir" -DTESTBUS_FUZZ=ON -DBUILD_TESTING=OFF >/dev/null
	cmake --build "$build_dir" -j2 --target fuzz-targets
fi

meta=$build_dir/fuzz/targets
if [ ! -d "$meta" ]; then
	echo "fuzz.sh: $build_dir is not configured with -DTESTBUS_FUZZ=ON" >&2
	exit 2
fi
all=()
for f in "$meta"/*.seeds; do
	all+=("$(basename "$f" .seeds)")
done
if [ "$list" = 1 ]; then
	printf '%s\n' "${all[@]}"
	exit 0
fi
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")
for t in "${targets[@]}"; do
	if [ ! -x "$build_dir/bin/fuzz-$t" ]; then
		echo "fuzz.sh: no target $t (built: ${all[*]})" >&2
		exit 2
	fi
done

# Seeds: the generated protobuf ones, then every file the target's list names.
work=$build_dir/fuzz
mapfile -t request_sources <"$meta/requests.sources"
"$build_dir/bin/fuzz-seed-requests" "$work/generated-seeds" "${request_sources[@]}" >/dev/null
for t in "${targets[@]}"; do
	rm -rf "$work/seeds/$t"
	mkdir -p "$work/seeds/$t" "$work/corpus/$t" "$work/findings/$t" "$work/logs"
	n=0
	while IFS= read -r src; do
		[ -n "$src" ] && [ -e "$src" ] || continue
		while IFS= read -r -d '' file; do
			n=$((n + 1))
			cp "$file" "$work/seeds/$t/$n-$(basename "$file")"
		done < <(find "$src" -type f -print0)
	done <"$meta/$t.seeds"
	if [ -d "$root/fuzz/regressions/$t" ]; then
		cp "$root"/fuzz/regressions/"$t"/* "$work/seeds/$t/" 2>/dev/null || true
	fi
done

run_target() {
	local t=$1 dict args=()
	dict=$(head -n1 "$meta/$t.dict")
	[ -n "$dict" ] && args+=("-dict=$dict")
	rm -f "$work/findings/$t"/*
	# halt_on_error: a UBSan report stops the run like a crash.
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		"$build_dir/bin/fuzz-$t" "${args[@]}" -max_total_time="$seconds" \
		-rss_limit_mb="$rss_limit" -timeout=20 -print_final_stats=1 \
		-artifact_prefix="$work/findings/$t/" \
		"$work/corpus/$t" "$work/seeds/$t" >"$work/logs/$t.log" 2>&1 || true
}

echo "fuzzing ${targets[*]} for ${seconds}s each, $jobs at a time; logs in $work/logs"
running=0
for t in "${targets[@]}"; do
	if [ "$running" -ge "$jobs" ]; then
		wait -n
		running=$((running - 1))
	fi
	run_target "$t" &
	running=$((running + 1))
done
wait

failed=0
printf '%-16s %12s %9s %8s %8s  %s\n' target execs execs/s cov corpus result
for t in "${targets[@]}"; do
	log=$work/logs/$t.log
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n1 | cut -d' ' -f2)
	corpus=$(find "$work/corpus/$t" -type f | wc -l)
	finding=$(find "$work/findings/$t" -type f | head -n1)
	if [ -n "$finding" ]; then
		result="FOUND: $finding"
		failed=1
	elif [ -z "$execs" ]; then
		result="DID NOT RUN: see $log"
		failed=1
	else
		result=ok
	fi
	printf '%-16s %12s %9s %8s %8s  %s\n' "$t" "${execs:--}" "${rate:--}" "${cov:--}" \
		"$corpus" "$result"
done
if [ "$failed" = 1 ]; then
	echo "fuzz.sh: a target failed; the logs in $work/logs have the reports" >&2
	echo "fuzz.sh: keep a fixed finding in fuzz/regressions/TARGET/ so ctest replays it" >&2
fi
exit "$failed"
