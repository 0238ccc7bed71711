#!/bin/sh
# Builds the trace reader fuzz target with clang-19 (libFuzzer, ASan, UBSan) and runs it on the
# committed seed corpus. The project builds with g++, hence the direct compiler call.
# Usage: run_fuzz.sh SOURCE_DIR WORK_DIR [SECONDS]
set -eu
src=$1
work=$2
seconds=${3:-20}
mkdir -p "$work"
lib="$src/analyzer/lib"
clang++-19 -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -I"$lib" -I"$src/instrumentation/include" \
    "$src/tests/fuzz/fuzz_trace_reader.cpp" "$lib/trace/trace_reader.cpp" "$lib/trace/event_pass.cpp" "$lib/trace/trace_file.cpp" "$lib/trace/compact.cpp" \
    $(pkg-config --cflags --libs libzstd) -lfmt -o "$work/fuzz_trace_reader"
# New inputs go to a scratch copy: the committed corpus stays as reviewed.
rm -rf "$work/corpus"
cp -r "$src/tests/fuzz/corpus" "$work/corpus"
cd "$work"
# Every input is written to a file (the reader takes a path): keep those in memory when we can.
tmp=$(mktemp -d "$( [ -w /dev/shm ] && echo /dev/shm || echo "$work" )/ravel-fuzz.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
TMPDIR="$tmp" ./fuzz_trace_reader -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 -timeout=20 \
    -print_final_stats=1 corpus
