#!/usr/bin/env bash
# Print the comma-separated list of functions a wasm build exports: every function declared in
# include/lstm.h, malloc and free; with `test`, also the test entry points of
# tests/kernel_check.c (the test builds only), and with `test-simd` its SIMD-only one too
# (lstm_bench_peak: a scalar build has no such function, and exporting it would fail the link).
set -euo pipefail
cd "$(dirname "$0")/.."
api=$(sed -n 's/^[a-z_ *0-9]*[ *]\(lstm_[a-z_0-9]*\)(.*/_\1/p' include/lstm.h)
extra=""
case "${1:-}" in
  test) extra="_lstm_kernel_run _lstm_kernel_names" ;;
  test-simd) extra="_lstm_kernel_run _lstm_kernel_names _lstm_bench_peak" ;;
esac
echo $api $extra _malloc _free | tr ' ' ','
