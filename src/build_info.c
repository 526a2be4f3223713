/* build_info.c - what this build is: its kernels and the memory its heap holds. */
#ifdef __EMSCRIPTEN__
#include <malloc.h>
#endif

#include "model.h"

const char *lstm_kernels_name(void) { return lstm_kernels_best()->impl; }

size_t lstm_allocated_bytes(void) {
#ifdef __EMSCRIPTEN__
    return (size_t)mallinfo().uordblks;
#else
    return 0; /* the C library's own accounting differs between platforms: not reported */
#endif
}

/* The names the JS layer used before lstm_kernels_name and lstm_allocated_bytes were public;
 * kept until src/lstm.js moves to them. */
int lstm_build_simd(void) {
#ifdef __wasm_simd128__
    return 1;
#else
    return 0;
#endif
}
const char *lstm_kernel_table_name(int impl) { return impl == 0 ? "scalar" : lstm_kernels_name(); }
size_t lstm_debug_heap_bytes(void) { return lstm_allocated_bytes(); }
