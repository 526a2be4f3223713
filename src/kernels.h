/* kernels.h - the numeric kernels the model is built from, as a table of function pointers.
 *
 * kernels_scalar.c is the specification (plain C); kernels_wasmsimd.c implements the same
 * signatures with 128-bit wasm SIMD. One table drives both dispatch and the tests that
 * compare the two. All matrices are row-major with an explicit leading dimension. */
#ifndef LSTM_KERNELS_H
#define LSTM_KERNELS_H

#include <stddef.h>
#include <stdint.h>

typedef struct lstm_kernels {
    const char *name;
    /* C (M, N) += A (M, K) . B (N, K)^T      forward products against PyTorch-layout weights */
    void (*gemm_nt)(int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                    float *C, int ldc);
    /* C (M, N) += A (M, K) . B (K, N)        gradient flowing back to the inputs */
    void (*gemm_nn)(int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                    float *C, int ldc);
    /* C (M, N) += A (K, M)^T . B (K, N)      weight gradients summed over all rows */
    void (*gemm_tn)(int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                    float *C, int ldc);
    /* B (cols, rows) = A (rows, cols)^T: lets every large product run as gemm_nt, whose
     * contiguous dot products are the fastest form in 128-bit SIMD */
    void (*transpose)(int rows, int cols, const float *A, int lda, float *B, int ldb);
    /* y[i] = sigmoid(x[i]) / tanh(x[i]); exposed so tests can bound their error */
    void (*vec_sigmoid)(int n, const float *x, float *y);
    void (*vec_tanh)(int n, const float *x, float *y);
    /* LSTM cell for B rows. gates (B, 4H): in pre-activations [i f g o], out activations.
     * c_prev, c, tanh_c, h: (B, H) with row stride H. */
    void (*lstm_cell_forward)(int B, int H, float *gates, const float *c_prev, float *c,
                              float *tanh_c, float *h);
    /* Backward through the cell. gates: activations from forward; dh: (B, H) gradient at h;
     * dc: (B, H) in: gradient from step t+1, out: gradient to pass to step t-1;
     * dgates (B, 4H) receives d loss / d pre-activations. */
    void (*lstm_cell_backward)(int B, int H, const float *gates, const float *c_prev,
                               const float *tanh_c, const float *dh, float *dc, float *dgates);
    /* Rows of logits (R, V) become d loss / d logits = (softmax - onehot(target)) * scale;
     * returns the summed cross-entropy (nats) of the R rows, in double. */
    double (*softmax_xent)(int R, int V, float *logits, const int32_t *targets, float scale);
    /* out[j] += sum over r of A[r][j], A (R, N) */
    void (*sum_rows)(int R, int N, const float *A, int lda, float *out);
    /* sum of squares, in double: the gradient norm for clipping */
    double (*sum_squares)(size_t n, const float *x);
    void (*scale)(size_t n, float *x, float s);
    /* optimizer updates over the whole parameter arena; return 1 if every new parameter and
     * moment is finite, and write them only with commit (commit 0 checks, changing nothing) */
    int (*sgd_update)(size_t n, float *p, const float *g, float *v, float lr, float momentum,
                      float decay, int commit);
    int (*rmsprop_update)(size_t n, float *p, const float *g, float *s, float lr, float beta2,
                          float eps, float decay, int commit);
    /* bc1 = 1 - beta1^t, bc2 = 1 - beta2^t (bias corrections) */
    int (*adam_update)(size_t n, float *p, const float *g, float *m, float *v, float lr,
                       float beta1, float beta2, float eps, float decay, float bc1, float bc2,
                       int commit);
} lstm_kernels;

extern const lstm_kernels lstm_kernels_scalar;
#ifdef __wasm_simd128__
extern const lstm_kernels lstm_kernels_wasmsimd;
#endif

/* The fastest table this build has. */
const lstm_kernels *lstm_kernels_best(void);

#endif /* LSTM_KERNELS_H */
