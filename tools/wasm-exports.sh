#!/usr/bin/env bash
# Print the comma-separated list of functions the wasm module exports: every function
# declared in include/lstm.h, the test entry points of src/kernel_check.c, malloc and free.
set -euo pipefail
cd "$(dirname "$0")/.."
api=$(sed -n 's/^[a-z_ *0-9]*[ *]\(lstm_[a-z_0-9]*\)(.*/_\1/p' include/lstm.h)
echo $api _lstm_build_simd _lstm_kernel_run _lstm_kernel_table_name _lstm_debug_heap_bytes _malloc _free | tr ' ' ','
