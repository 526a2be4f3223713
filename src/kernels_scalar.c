/* kernels_scalar.c - the plain-C kernels: the specification the SIMD kernels are tested
 * against, and the implementation of the fallback (no-SIMD) build. */
#include <float.h>
#include <math.h>

#include "kernel_elements.h"
#include "kernels.h"

static void pack_panels_scalar(int K, int N, const float *B, int ldb, int trans, float *P, int ldp,
                               int j0) {
    for (int k0 = 0; k0 < K; k0 += LSTM_PANEL_KC) {
        const int kc = K - k0 < LSTM_PANEL_KC ? K - k0 : LSTM_PANEL_KC;
        for (int jp = 0; jp < N; jp += 8) {
            float *panel = P + (size_t)k0 * ldp + (size_t)(j0 + jp) * kc;
            for (int k = 0; k < kc; k++)
                for (int q = 0; q < 8; q++) {
                    const int j = jp + q;
                    panel[(size_t)k * 8 + q] = j >= N ? 0.0f
                                               : trans ? B[(size_t)j * ldb + k0 + k]
                                                       : B[(size_t)(k0 + k) * ldb + j];
                }
        }
    }
}

/* Row by row, 8 sums in flight (a panel's width), each added to in the order of k. */
static void gemm_panels_scalar(int M, int N, int K, const float *A, int lda, int trans, const float *P,
                               int ldp, int j0, float *C, int ldc) {
    for (int k0 = 0; k0 < K; k0 += LSTM_PANEL_KC) {
        const int kc = K - k0 < LSTM_PANEL_KC ? K - k0 : LSTM_PANEL_KC;
        for (int i = 0; i < M; i++) {
            const float *a = trans ? A + (size_t)k0 * lda + i : A + (size_t)i * lda + k0;
            const size_t step = trans ? (size_t)lda : 1;
            for (int jp = 0; jp < N; jp += 8) {
                const float *panel = P + (size_t)k0 * ldp + (size_t)(j0 + jp) * kc;
                float *c = C + (size_t)i * ldc + jp;
                const int n = N - jp < 8 ? N - jp : 8;
                float s[8] = {0};
                for (int q = 0; q < n; q++) s[q] = c[q];
                for (int k = 0; k < kc; k++) {
                    const float x = a[(size_t)k * step];
                    for (int q = 0; q < 8; q++) s[q] += x * panel[(size_t)k * 8 + q];
                }
                for (int q = 0; q < n; q++) c[q] = s[q];
            }
        }
    }
}

static void transpose_scalar(int rows, int cols, const float *A, int lda, float *B, int ldb) {
    /* 16 x 16 blocks: both sides touch few cache lines at a time */
    for (int i0 = 0; i0 < rows; i0 += 16)
        for (int j0 = 0; j0 < cols; j0 += 16)
            for (int i = i0; i < rows && i < i0 + 16; i++)
                for (int j = j0; j < cols && j < j0 + 16; j++)
                    B[(size_t)j * ldb + i] = A[(size_t)i * lda + j];
}

static void vec_sigmoid_scalar(int n, const float *x, float *y) {
    for (int i = 0; i < n; i++) y[i] = lstm_sigmoidf(x[i]);
}

static void vec_tanh_scalar(int n, const float *x, float *y) {
    for (int i = 0; i < n; i++) y[i] = lstm_tanhf(x[i]);
}

static void lstm_cell_forward_scalar(int B, int H, float *gates, const float *c_prev, float *c,
                                     float *tanh_c, float *h) {
    for (int b = 0; b < B; b++) {
        float *gi = gates + (size_t)b * 4 * H, *gf = gi + H, *gg = gf + H, *go = gg + H;
        const size_t row = (size_t)b * H;
        for (int j = 0; j < H; j++)
            lstm_cell_forward_element(gi + j, gf + j, gg + j, go + j, c_prev[row + j], c + row + j,
                                      tanh_c + row + j, h + row + j);
    }
}

static void lstm_cell_backward_scalar(int B, int H, const float *gates, const float *c_prev,
                                      const float *tanh_c, const float *dh, float *dc,
                                      float *dgates) {
    for (int b = 0; b < B; b++) {
        const float *gi = gates + (size_t)b * 4 * H, *gf = gi + H, *gg = gf + H, *go = gg + H;
        float *di = dgates + (size_t)b * 4 * H, *df = di + H, *dg = df + H, *dout = dg + H;
        const size_t row = (size_t)b * H;
        for (int j = 0; j < H; j++)
            lstm_cell_backward_element(gi[j], gf[j], gg[j], go[j], c_prev[row + j], tanh_c[row + j],
                                       dh[row + j], dc + row + j, di + j, df + j, dg + j, dout + j);
    }
}

static double softmax_xent_scalar(int R, int V, float *logits, const int32_t *targets,
                                  float scale) {
    double total = 0.0;
    for (int r = 0; r < R; r++) {
        float *z = logits + (size_t)r * V;
        float mx = z[0];
        for (int v = 1; v < V; v++) mx = z[v] > mx ? z[v] : mx;
        /* subtract the max: exp() overflows above 88 */
        const int t = targets[r];
        const float zt = z[t] - mx;
        float sum = 0.0f;
        for (int v = 0; v < V; v++) {
            z[v] = lstm_expf(z[v] - mx);
            sum += z[v];
        }
        /* -log softmax from the logit itself, not log(exp(.)): exact, and no log(0) when
         * the target's probability underflows */
        /* cppcheck-suppress invalidFunctionArg ; V >= 1 and the max term adds exp(0) = 1, so sum >= 1 */
        total += log((double)sum) - (double)zt;
        float inv = scale / sum;
        for (int v = 0; v < V; v++) z[v] *= inv;
        z[t] -= scale;
    }
    return total;
}

static void sum_rows_scalar(int R, int N, const float *A, int lda, float *out) {
    for (int r = 0; r < R; r++) {
        const float *a = A + (size_t)r * lda;
        for (int j = 0; j < N; j++) out[j] += a[j];
    }
}

static double sum_squares_scalar(size_t n, const float *x) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)x[i] * x[i];
    return s;
}

static void scale_scalar(size_t n, float *x, float s) {
    for (size_t i = 0; i < n; i++) x[i] *= s;
}

static int sgd_update_scalar(size_t n, float *p, const float *g, float *v, float lr,
                             float momentum, float decay, int commit) {
    int finite = 1;
    for (size_t i = 0; i < n; i++) finite &= sgd_element(p + i, g[i], v + i, lr, momentum, decay, commit);
    return finite;
}

static int rmsprop_update_scalar(size_t n, float *p, const float *g, float *s, float lr,
                                 float beta2, float eps, float decay, int commit) {
    int finite = 1;
    for (size_t i = 0; i < n; i++)
        finite &= rmsprop_element(p + i, g[i], s + i, lr, beta2, eps, decay, commit);
    return finite;
}

static int adam_update_scalar(size_t n, float *p, const float *g, float *m, float *v, float lr,
                              float beta1, float beta2, float eps, float decay, float bc1,
                              float bc2, int commit) {
    int finite = 1;
    for (size_t i = 0; i < n; i++)
        finite &= adam_element(p + i, g[i], m + i, v + i, lr, beta1, beta2, eps, decay, bc1, bc2, commit);
    return finite;
}

static void quantize_i16_scalar(int M, int K, const float *A, int lda, int16_t *Q, int ldq, float *scales) {
    for (int i = 0; i < M; i++) {
        const float *a = A + (size_t)i * lda;
        float max = 0.0f, inv;
        int finite = 1;
        for (int k = 0; k < K; k++) {
            const float v = fabsf(a[k]);
            if (!(v <= FLT_MAX)) finite = 0;
            else if (v > max) max = v;
        }
        if (!finite && quantize_nonfinite_row(Q + (size_t)i * ldq, K, &scales[i])) continue;
        scales[i] = quantize_scale(max, &inv);
        /* |a * inv| <= 32767 up to rounding, which nearbyint keeps in range */
        for (int k = 0; k < K; k++) Q[(size_t)i * ldq + k] = (int16_t)nearbyintf(a[k] * inv);
    }
}

static void gemm_nt_q8_scalar(int M, int N, int K, const int16_t *A, int lda, const float *a_scale,
                              const int8_t *B, int ldb, const float *b_scale, float *C, int ldc) {
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            const int16_t *a = A + (size_t)i * lda;
            const int8_t *b = B + (size_t)j * ldb;
            float acc = 0.0f;
            for (int k0 = 0; k0 < K; k0 += LSTM_Q8_BLOCK)
                acc += (float)dot_i16_i8(a + k0, b + k0, K - k0 < LSTM_Q8_BLOCK ? K - k0 : LSTM_Q8_BLOCK);
            C[(size_t)i * ldc + j] += acc * (a_scale[i] * b_scale[j]);
        }
}

#define LSTM_KERNEL_SUFFIX scalar
const lstm_kernels lstm_kernels_scalar = {.impl = "scalar", LSTM_KERNELS(LSTM_KERNEL_ENTRY)};

const lstm_kernels *lstm_kernels_best(void) {
#if defined(__wasm_atomics__) && defined(__wasm_simd128__)
    return lstm_kernels_threads(); /* threads.c */
#elif defined(__wasm_simd128__)
    return &lstm_kernels_wasmsimd;
#else
    return &lstm_kernels_scalar;
#endif
}
