#!/usr/bin/env bash
# Builds the libFuzzer targets and runs each for a while on a copy of the seed corpus.
#
#   Fuzz/run.sh [frame|sealed|config|all] [seconds]     (defaults: all, 600)
#
# Each target is built with -sanitize=fuzzer,address and -DMPTUNNEL_FUZZING into its own
# scratch directory (.build-fuzz, or $FUZZ_SCRATCH), then runs with -max_total_time on a
# copy of Fuzz/corpus/<target> in Fuzz/findings/<target>-<time>/ (git-ignored): the corpus
# it grows, its log, and any crash-/leak-/timeout-/oom- input stay there.
# One line of verdict per target; the exit status is non-zero when any target found something.
#
# Needs: Swift 6.x on Linux with its own libFuzzer and ASan runtimes, which the swift.org
# toolchain ships (usr/lib/clang/<version>/lib/linux/libclang_rt.fuzzer-x86_64.a); nothing
# from apt was needed with Swift 6.3.1. Runs one target at a time, on one core (libFuzzer's
# default: no -jobs/-workers).
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
scratch=${FUZZ_SCRATCH:-$root/.build-fuzz}
which=${1:-all}
seconds=${2:-600}
case $which in
    all) targets=(frame sealed config) ;;
    frame | sealed | config) targets=("$which") ;;
    *) echo "usage: $0 [frame|sealed|config|all] [seconds]" >&2; exit 2 ;;
esac

# Exclusivity checked at run time, which Package.swift turns off for release builds of the
# daemons: a fuzzer is where an overlapping access should trap.
swift_flags=(-c release --package-path "$root" --scratch-path "$scratch"
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -DMPTUNNEL_FUZZING
    -Xswiftc -enforce-exclusivity=checked)

runtime=$(ls "$(dirname "$(realpath "$(command -v swift)")")"/../lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a 2>/dev/null | head -n 1)
if [ -z "$runtime" ]; then
    echo "warning: no libclang_rt.fuzzer-x86_64.a next to this swift; -sanitize=fuzzer may fail to link" >&2
fi

status=0
for target in "${targets[@]}"; do
    product=fuzz-$target
    max_len=2048
    [ "$target" = config ] && max_len=4096
    echo "== $product: building" >&2
    if ! swift build "${swift_flags[@]}" --product "$product" >&2; then
        echo "$product: BUILD FAILED"
        status=1
        continue
    fi
    binary=$(swift build "${swift_flags[@]}" --show-bin-path)/$product
    work=$root/Fuzz/findings/$target-$(date +%Y%m%d-%H%M%S)
    mkdir -p "$work/corpus"
    cp "$root/Fuzz/corpus/$target"/* "$work/corpus/"
    echo "== $product: fuzzing for $seconds s in $work" >&2
    "$binary" -max_total_time="$seconds" -max_len="$max_len" -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$work/" "$work/corpus" >"$work/log" 2>&1
    code=$?
    findings=$(find "$work" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
        -o -name 'oom-*' -o -name 'slow-unit-*' \) | sort)
    executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/log")
    rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$work/log")
    coverage=$(grep -o 'cov: [0-9]* ft: [0-9]* corp: [0-9]*/[0-9]*[a-zA-Z]*' "$work/log" | tail -n 1)
    if [ "$code" -ne 0 ] || [ -n "$findings" ]; then
        echo "$product: FINDING (exit $code) after ${executions:-?} executions: ${findings:-see $work/log}"
        status=1
    else
        echo "$product: no finding in $seconds s: ${executions:-?} executions (${speed:-?}/s), $coverage, peak RSS ${rss:-?} MB"
    fi
done
exit $status
