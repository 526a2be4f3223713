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
/* The peak of 128-bit multiply + add on this engine, for the benchmarks' "% of peak": the
 * inner loop of a GEMM with nothing else in it. n iterations of 12 independent a += x * w
 * (6 broadcast loads x, 2 vector loads w, from a small array that stays in L1): 12 multiplies
 * and 12 adds, 96 FLOPs, enough independent sums to cover the adds' latency. The loads
 * keep the compiler from hoisting the products (a register-only loop must change its
 * operands every iteration, which costs adds that are not counted). Returns a sum, so none
 * of it is dead code. */
float lstm_bench_peak(int32_t n) {
    static float p[16] = {1.0f, 0.5f, 0.25f, 0.125f, 1.0f, 0.5f, 0.25f, 0.125f,
                          1e-7f, 2e-7f, 3e-7f, 4e-7f, 5e-7f, 6e-7f, 0.0f, 0.0f};
    v128_t a[12];
    for (int q = 0; q < 12; q++) a[q] = wasm_f32x4_splat(0.0f);
    for (int32_t i = 0; i < n; i++) {
        const v128_t w0 = wasm_v128_load(p), w1 = wasm_v128_load(p + 4);
        for (int q = 0; q < 6; q++) {
            const v128_t x = wasm_v128_load32_splat(p + 8 + q);
            a[2 * q] = wasm_f32x4_add(a[2 * q], wasm_f32x4_mul(x, w0));
            a[2 * q + 1] = wasm_f32x4_add(a[2 * q + 1], wasm_f32x4_mul(x, w1));
        }
    }
    v128_t s = a[0];
    for (int q = 1; q < 12; q++) s = wasm_f32x4_add(s, a[q]);
    return wasm_f32x4_extract_lane(s, 0);
}
#endif
