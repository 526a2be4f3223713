/* kernel_check.c - test entry points, linked only into the test builds (the native tests and
 * test wasm builds in build/test/, never the release wasm): any kernel of either table on caller-provided
 * buffers, so tests can compare each SIMD kernel with its scalar reference, and a look at
 * what a cell computed. */
#include <string.h>

#include "../src/model.h"

enum {
#define KERNEL_ID(name, ret, params, test) K_##name,
    LSTM_KERNELS(KERNEL_ID)
#undef KERNEL_ID
    K_COUNT
};

/* The kernel names in id order, comma-separated: the ids JS uses come from here. */
const char *lstm_kernel_names(void) {
    return ""
#define KERNEL_NAME(name, ret, params, test) #name ","
        LSTM_KERNELS(KERNEL_NAME)
#undef KERNEL_NAME
        ;
}

/* impl 0: scalar reference, 1: the build's best table. Buffers by kernel: see the test
 * column of LSTM_KERNELS in src/kernels.h (dims d0 d1 d2, inputs a b, in/out c, ids, out).
 * Returns 0, or -1 for an unknown kernel. */
int lstm_kernel_run(int impl, int kernel, const int32_t *dims, const float *a, const float *b,
                    float *c, const int32_t *ids, double *out) {
    const lstm_kernels *k = impl == 0 ? &lstm_kernels_scalar : lstm_kernels_best();
    const int d0 = dims[0], d1 = dims[1], d2 = dims[2];
    const size_t n = (size_t)d0;
    (void)d2, (void)n, (void)ids, (void)out;
    switch (kernel) {
#define KERNEL_CASE(name, ret, params, test) \
    case K_##name: (void)(test); return 0;
        LSTM_KERNELS(KERNEL_CASE)
#undef KERNEL_CASE
    default: return -1;
    }
}

/* The gate activations of unit u from the last forward pass of a batch, (T*B, G) time-major:
 * native tests check what a cell computed, which no public call returns. */
const float *lstm_test_gate_activations(const lstm_model *m, int u) { return m->ws.layer[u].gates; }

#ifdef __wasm_simd128__
#include <wasm_simd128.h>
/* The peak of 128-bit multiply + add on this engine, for the benchmarks' "% of peak": n
 * iterations of 8 independent a += x * y over the 4 x 2 products of x0..x3 and y0, y1, with
 * y0 and y1 changed every iteration so that no product can be hoisted: 8 multiplies and 10
 * adds, 64 FLOPs counted (the 2 adds that move y are not). Returns a sum, so none of it is
 * dead code. */
float lstm_bench_peak(int32_t n) {
    v128_t a[8], x[4], y0 = wasm_f32x4_splat(1.0f), y1 = wasm_f32x4_splat(0.5f);
    const v128_t d = wasm_f32x4_splat(1e-7f);
    for (int q = 0; q < 4; q++) x[q] = wasm_f32x4_splat(1.0f + (float)q * 1e-3f);
    for (int q = 0; q < 8; q++) a[q] = wasm_f32x4_splat(0.0f);
    for (int32_t i = 0; i < n; i++) {
        for (int q = 0; q < 4; q++) {
            a[q] = wasm_f32x4_add(a[q], wasm_f32x4_mul(x[q], y0));
            a[q + 4] = wasm_f32x4_add(a[q + 4], wasm_f32x4_mul(x[q], y1));
        }
        y0 = wasm_f32x4_add(y0, d);
        y1 = wasm_f32x4_add(y1, d);
    }
    v128_t s = a[0];
    for (int q = 1; q < 8; q++) s = wasm_f32x4_add(s, a[q]);
    return wasm_f32x4_extract_lane(s, 0);
}
#endif
