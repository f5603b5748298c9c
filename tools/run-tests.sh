#!/bin/sh
# Runs every test suite, in order, and ends with one line counting the suites.
# Each suite prints its own runner's summary; the exit status is non-zero if any failed.
cd "$(dirname "$0")/.."
passed=0
failed=0
failed_names=""
run() {
    name=$1; shift
    echo "==> $name: $*"
    if "$@"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        failed_names="$failed_names $name"
        echo "==> $name FAILED"
    fi
}
run library make --no-print-directory check-lib
run swift-unit make --no-print-directory test-swift
run c-contract make --no-print-directory test-c
run checkpoint make --no-print-directory test-checkpoint
run python make --no-print-directory test-python
run examples make --no-print-directory test-examples
run packaging make --no-print-directory test-packaging
run aarch64 make --no-print-directory test-aarch64
run mcu make --no-print-directory mcu-demo
run mpi make --no-print-directory test-mpi
run reliability make --no-print-directory test-reliability
[ -n "$failed_names" ] && echo "failed suites:$failed_names"
echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
