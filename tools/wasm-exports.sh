#!/usr/bin/env bash
# Print the comma-separated list of functions a wasm build exports: every function declared in
# include/lstm.h, malloc and free; with `test`, also the test entry points of
# tests/kernel_check.c (the test builds only).
set -euo pipefail
cd "$(dirname "$0")/.."
api=$(sed -n 's/^[a-z_ *0-9]*[ *]\(lstm_[a-z_0-9]*\)(.*/_\1/p' include/lstm.h)
extra=""
if [ "${1:-}" = test ]; then extra="_lstm_kernel_run _lstm_kernel_names _lstm_bench_peak"; fi
echo $api $extra _malloc _free | tr ' ' ','
