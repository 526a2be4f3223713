#!/usr/bin/env bash
# Install what the build and tests need on a fresh Debian machine: Emscripten, Chromium,
# PyTorch, h5py and the native checkers (apt-get, as root) and the npm dev dependencies (npm ci).
# Prints what it does; fails with a reason.
set -euo pipefail
cd "$(dirname "$0")/.."
export NODE_PATH=/usr/share/nodejs

need_apt=()
command -v emcc >/dev/null 2>&1 || need_apt+=(emscripten)
# native checks: sanitizers come with gcc; libFuzzer with clang; memcheck; static analysis
command -v clang >/dev/null 2>&1 || need_apt+=(clang)
command -v valgrind >/dev/null 2>&1 || need_apt+=(valgrind)
command -v cppcheck >/dev/null 2>&1 || need_apt+=(cppcheck)
command -v clang-tidy >/dev/null 2>&1 || need_apt+=(clang-tidy)
if [ "${LSTM_WITH_BROWSER:-1}" = 1 ] && [ ! -x /usr/bin/chromium ]; then need_apt+=(chromium); fi
# PyTorch for the converter's tests and the optimizer fixtures' check (Debian's, /usr/bin/python3)
/usr/bin/python3 -c 'import torch' >/dev/null 2>&1 || need_apt+=(python3-torch)
# h5py for the Keras converter's tests (tools/keras_to_tfjs.py reads .h5 and .keras files)
/usr/bin/python3 -c 'import h5py' >/dev/null 2>&1 || need_apt+=(python3-h5py)
# `ensure-deps.sh bench`: OpenBLAS, so that PyTorch's benchmark columns are not the reference BLAS
if [ "${1:-}" = bench ] && ! ls /usr/lib/x86_64-linux-gnu/libopenblas*.so* >/dev/null 2>&1; then
  need_apt+=(libopenblas0-pthread)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "missing Debian packages: ${need_apt[*]}. Install them with:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y ${need_apt[*]}" >&2
    exit 1
  fi
  echo "installing ${need_apt[*]} with apt-get"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# npm ci when node_modules is missing or older than the lock file
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi
