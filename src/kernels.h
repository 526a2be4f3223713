/* kernels.h - the numeric kernels the model is built from, listed once.
 *
 * kernels_scalar.c is the specification (plain C); kernels_wasmsimd.c implements the same
 * signatures with 128-bit wasm SIMD. LSTM_KERNELS below is the only list: it makes the table
 * type, both tables, and the test build's switch and kernel ids (tests/kernel_check.c). All
 * matrices are row-major with an explicit leading dimension. */
#ifndef LSTM_KERNELS_H
#define LSTM_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* The packed right operand of gemm_panels: K blocks of LSTM_PANEL_KC rows (a block of B and a
 * block of A's rows stay in L1/L2 while it is used), block k0 at P + k0 * ldp; in each, panels
 * 8 columns wide, (rows of the block) x 8 row-major, one after another; columns past N are
 * zero. ldp, the packed width, is N rounded up to 8. */
#define LSTM_PANEL_KC 256
#define LSTM_PANEL_WIDTH(n) (((n) + 7) & ~7)
#define LSTM_PANEL_FLOATS(K, N) ((size_t)(K) * (size_t)LSTM_PANEL_WIDTH(N))

/* X(name, return type, parameters, how the test entry point calls it). The test call reads
 * dims d0 d1 d2, inputs a and b, the in/out buffer c, ids and writes *out (see
 * tests/kernel_check.c); `k` is the table under test, n = (size_t)d0. */
#define LSTM_KERNELS(X)                                                                            \
    /* B (K, N) packed for gemm_panels (layout: LSTM_PANEL_KC below). B is given as its rows     \
     * (trans 0: element (k, j) at B[k * ldb + j]) or as the rows of its transpose (trans 1:   \
     * B[j * ldb + k], the (N, K) rows of a PyTorch-layout weight). The N columns are written   \
     * as columns j0 .. j0+N of a packing ldp wide (j0 a multiple of 8), so that threads can    \
     * pack column ranges. Test: a = B, ids = [trans, j0], c = P (ldp = the padded d1 + j0). */ \
    X(pack_panels, void, (int K, int N, const float *B, int ldb, int trans, float *P, int ldp,    \
                          int j0),                                                                 \
      k->pack_panels(d0, d1, a, ids[0] ? d0 : d1, ids[0], c, LSTM_PANEL_WIDTH(d1) + ids[1], ids[1])) \
    /* C (M, N) += op(A) . B with B packed: op(A) = A (M, K) (trans 0) or A (K, M)^T (trans 1); \
     * B's columns j0 .. j0+N of a packing ldp wide. Every element is c + a_0 b_0 + a_1 b_1 +   \
     * ... added in the order of k however the work is blocked, so a row computed alone or in   \
     * a tile, and any split of rows or columns over threads, give the same bits, and the SIMD \
     * kernel equals the scalar one exactly. Test: a = A, b = P, ids = [trans, ldp, j0]. */       \
    X(gemm_panels, void, (int M, int N, int K, const float *A, int lda, int trans, const float *P, \
                          int ldp, int j0, float *C, int ldc),                                     \
      k->gemm_panels(d0, d1, d2, a, ids[0] ? d0 : d2, ids[0], b, ids[1], ids[2], c, d1))          \
    /* B (cols, rows) = A (rows, cols)^T: a token model's input weights as a table of rows */    \
    X(transpose, void, (int rows, int cols, const float *A, int lda, float *B, int ldb),          \
      k->transpose(d0, d1, a, d1, c, d0))                                                          \
    /* y[i] = sigmoid(x[i]) / tanh(x[i]); exposed so tests can bound their error */              \
    X(vec_sigmoid, void, (int n, const float *x, float *y), k->vec_sigmoid(d0, a, c))             \
    X(vec_tanh, void, (int n, const float *x, float *y), k->vec_tanh(d0, a, c))                    \
    /* LSTM cell for B rows. gates (B, 4H): in pre-activations [i f g o], out activations.       \
     * c_prev, c, tanh_c, h: (B, H) with row stride H. Test: c = [c | tanh_c | h | gates]. */     \
    X(lstm_cell_forward, void, (int B, int H, float *gates, const float *c_prev, float *c,        \
                                float *tanh_c, float *h),                                          \
      (memcpy(c + 3 * n * d1, a, 4 * n * d1 * sizeof(float)),                                      \
       k->lstm_cell_forward(d0, d1, c + 3 * n * d1, b, c, c + n * d1, c + 2 * n * d1)))            \
    /* Backward through the cell. gates: activations from forward; dh: (B, H) gradient at h;     \
     * dc: (B, H) in: gradient from step t+1, out: gradient to pass to step t-1;                 \
     * dgates (B, 4H) receives d loss / d pre-activations. Test: b = [c_prev | tanh_c | dh],     \
     * c = [dc | dgates]. */                                                                       \
    X(lstm_cell_backward, void, (int B, int H, const float *gates, const float *c_prev,           \
                                 const float *tanh_c, const float *dh, float *dc, float *dgates), \
      k->lstm_cell_backward(d0, d1, a, b, b + n * d1, b + 2 * n * d1, c, c + n * d1))              \
    /* Rows of logits (R, V) become d loss / d logits = (softmax - onehot(target)) * scale;      \
     * returns the summed cross-entropy (nats) of the R rows, in double. */                       \
    X(softmax_xent, double, (int R, int V, float *logits, const int32_t *targets, float scale),   \
      *out = k->softmax_xent(d0, d1, (float *)a, ids, b[0]))                                       \
    /* out[j] += sum over r of A[r][j], A (R, N) */                                                \
    X(sum_rows, void, (int R, int N, const float *A, int lda, float *out),                        \
      k->sum_rows(d0, d1, a, d1, c))                                                               \
    /* sum of squares, in double: the gradient norm for clipping */                               \
    X(sum_squares, double, (size_t n, const float *x), *out = k->sum_squares(n, a))               \
    X(scale, void, (size_t n, float *x, float s), k->scale(n, c, b[0]))                            \
    /* Optimizer updates over the whole parameter arena: return 1 if every new parameter and     \
     * moment is finite, and write them only with commit (commit 0 checks, changing nothing).    \
     * Test: c = [p | moment 1 | moment 2], b = hyperparameters, d1 = check only. */              \
    X(sgd_update, int, (size_t n, float *p, const float *g, float *v, float lr, float momentum,   \
                        float decay, int commit),                                                  \
      *out = k->sgd_update(n, c, a, c + n, b[0], b[1], b[2], !d1))                                 \
    X(rmsprop_update, int, (size_t n, float *p, const float *g, float *s, float lr, float beta2,  \
                            float eps, float decay, int commit),                                   \
      *out = k->rmsprop_update(n, c, a, c + n, b[0], b[1], b[2], b[3], !d1))                       \
    /* bc1 = 1 - beta1^t, bc2 = 1 - beta2^t (bias corrections) */                                 \
    X(adam_update, int, (size_t n, float *p, const float *g, float *m, float *v, float lr,        \
                         float beta1, float beta2, float eps, float decay, float bc1, float bc2,  \
                         int commit),                                                              \
      *out = k->adam_update(n, c, a, c + n, c + 2 * n, b[0], b[1], b[2], b[3], b[4], b[5], b[6], !d1)) \
    /* Quantised inference. Each row of A (M, K) to int16 Q with its scale: A ~ Q * scale,     \
     * scale = max |row| / 32767 (1 for a zero row), rounded to nearest even. Test: c = [Q     \
     * (int16) | scales (after ceil(M*K/2) floats)]. */                                            \
    X(quantize_i16, void, (int M, int K, const float *A, int lda, int16_t *Q, int ldq,            \
                           float *scales),                                                         \
      k->quantize_i16(d0, d2, a, d2, (int16_t *)c, d2, c + (n * d2 + 1) / 2))                      \
    /* C (M, N) += (A * a_scale) . (B * b_scale)^T for int16 rows A (M, K) and int8 rows B      \
     * (N, K), each row with its scale: integer dot products summed exactly in blocks of 256,   \
     * the blocks' sums added in float. Test: A = ids (int16), B = b (int8), a = [a_scale (M) | \
     * b_scale (N)], c = C. */                                                                     \
    X(gemm_nt_q8, void, (int M, int N, int K, const int16_t *A, int lda, const float *a_scale,    \
                         const int8_t *B, int ldb, const float *b_scale, float *C, int ldc),      \
      k->gemm_nt_q8(d0, d1, d2, (const int16_t *)ids, d2, a, (const int8_t *)b, d2, a + n, c, d1))

typedef struct lstm_kernels {
    const char *impl; /* "scalar" or "wasmsimd" */
#define LSTM_KERNEL_FIELD(name, ret, params, test) ret(*name) params;
    LSTM_KERNELS(LSTM_KERNEL_FIELD)
#undef LSTM_KERNEL_FIELD
} lstm_kernels;

/* A table entry `.name = name_<LSTM_KERNEL_SUFFIX>`: each kernel file defines the suffix and
 * builds its table with LSTM_KERNELS(LSTM_KERNEL_ENTRY), so no kernel can be left out. */
#define LSTM_PASTE_(a, b) a##_##b
#define LSTM_PASTE(a, b) LSTM_PASTE_(a, b)
#define LSTM_KERNEL_ENTRY(name, ret, params, test) .name = LSTM_PASTE(name, LSTM_KERNEL_SUFFIX),

extern const lstm_kernels lstm_kernels_scalar;
#ifdef __wasm_simd128__
extern const lstm_kernels lstm_kernels_wasmsimd;
#endif

#if defined(__wasm_atomics__) && defined(__wasm_simd128__)
/* The SIMD table with the matrix products spread over the threads (threads.c). */
const lstm_kernels *lstm_kernels_threads(void);
#endif

/* The fastest table this build has. */
const lstm_kernels *lstm_kernels_best(void);

#endif /* LSTM_KERNELS_H */
