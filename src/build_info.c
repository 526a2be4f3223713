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
