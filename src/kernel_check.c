/* kernel_check.c - runs any kernel of any table on caller-provided buffers, so tests (in
 * JS against the wasm builds, in C natively) can compare each SIMD kernel with its scalar
 * reference. Not part of the public API; exported for the test suite. */
#include <string.h>
#ifdef __EMSCRIPTEN__
#include <malloc.h>
#endif

#include "model.h"

enum {
    K_GEMM_NT, K_GEMM_NN, K_GEMM_TN, K_SIGMOID, K_TANH, K_CELL_FORWARD, K_CELL_BACKWARD,
    K_SOFTMAX_XENT, K_SUM_ROWS, K_SUM_SQUARES, K_SCALE, K_SGD, K_RMSPROP, K_ADAM, K_TRANSPOSE, K_COUNT
};

/* 1 if this build has the wasm SIMD kernels. */
int lstm_build_simd(void) {
#ifdef __wasm_simd128__
    return 1;
#else
    return 0;
#endif
}

/* Bytes of the wasm heap in live allocations (0 natively): benchmarks check memory use. */
size_t lstm_debug_heap_bytes(void) {
#ifdef __EMSCRIPTEN__
    return (size_t)mallinfo().uordblks;
#else
    return 0;
#endif
}

/* The gate activations of unit u from the last forward pass of a batch, (T*B, G) time-major:
 * native tests check what a cell computed, which no public call returns. */
const float *lstm_test_gate_activations(const lstm_model *m, int u) { return m->ws.layer[u].gates; }

const char *lstm_kernel_table_name(int impl) {
    return impl == 0 ? lstm_kernels_scalar.name : lstm_kernels_best()->name;
}

/* impl 0: scalar reference, 1: the build's best table. Buffers by kernel:
 *   gemm_*:        dims M N K;  a = A, b = B, c = C (accumulated)
 *   sigmoid/tanh:  dims n;      a = x, c = y
 *   cell_forward:  dims B H;    a = gates, b = c_prev, c = [c | tanh_c | h | gates out (4BH)]
 *   cell_backward: dims B H;    a = gates, b = [c_prev | tanh_c | dh], c = [dc (in/out) | dgates]
 *   softmax_xent:  dims R V;    a = logits (in/out), ids = targets, b[0] = scale; *out = loss
 *   sum_rows:      dims R N;    a = A, c = out (accumulated)
 *   sum_squares:   dims n;      a = x; *out = sum
 *   scale:         dims n;      c = x, b[0] = s
 *   sgd/rmsprop/adam: dims n, check_only;  a = g, c = [p | state1 | state2], b = hyperparameters;
 *                  *out = 1 if every new value is finite
 *   transpose:     dims R C;    a = A (R, C), c = A^T (C, R)
 * Returns 0, or -1 for an unknown kernel. */
int lstm_kernel_run(int impl, int kernel, const int32_t *dims, const float *a, const float *b,
                    float *c, const int32_t *ids, double *out) {
    const lstm_kernels *k = impl == 0 ? &lstm_kernels_scalar : lstm_kernels_best();
    const int d0 = dims[0], d1 = dims[1], d2 = dims[2];
    const size_t n = (size_t)d0;
    switch (kernel) {
    case K_GEMM_NT: k->gemm_nt(d0, d1, d2, a, d2, b, d2, c, d1); return 0;
    case K_GEMM_NN: k->gemm_nn(d0, d1, d2, a, d2, b, d1, c, d1); return 0;
    case K_GEMM_TN: k->gemm_tn(d0, d1, d2, a, d0, b, d1, c, d1); return 0;
    case K_SIGMOID: k->vec_sigmoid(d0, a, c); return 0;
    case K_TANH: k->vec_tanh(d0, a, c); return 0;
    case K_CELL_FORWARD: {
        const size_t bh = (size_t)d0 * d1;
        memcpy(c + 3 * bh, a, 4 * bh * sizeof(float)); /* gates are in/out: work on a copy */
        k->lstm_cell_forward(d0, d1, c + 3 * bh, b, c, c + bh, c + 2 * bh);
        return 0;
    }
    case K_CELL_BACKWARD: {
        const size_t bh = (size_t)d0 * d1;
        k->lstm_cell_backward(d0, d1, a, b, b + bh, b + 2 * bh, c, c + bh);
        return 0;
    }
    case K_SOFTMAX_XENT: *out = k->softmax_xent(d0, d1, (float *)a, ids, b[0]); return 0;
    case K_SUM_ROWS: k->sum_rows(d0, d1, a, d1, c); return 0;
    case K_SUM_SQUARES: *out = k->sum_squares(n, a); return 0;
    case K_SCALE: k->scale(n, c, b[0]); return 0;
    case K_SGD: *out = k->sgd_update(n, c, a, c + n, b[0], b[1], b[2], !d1); return 0;
    case K_RMSPROP: *out = k->rmsprop_update(n, c, a, c + n, b[0], b[1], b[2], b[3], !d1); return 0;
    case K_ADAM:
        *out = k->adam_update(n, c, a, c + n, c + 2 * n, b[0], b[1], b[2], b[3], b[4], b[5], b[6], !d1);
        return 0;
    case K_TRANSPOSE: k->transpose(d0, d1, a, d1, c, d0); return 0;
    default: return -1;
    }
}
