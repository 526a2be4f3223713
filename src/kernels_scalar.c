/* kernels_scalar.c - the plain-C kernels: the specification the SIMD kernels are tested
 * against, and the implementation of the fallback (no-SIMD) build. */
#include <math.h>

#include "fastmath.h"
#include "kernels.h"

static void gemm_nt_scalar(int M, int N, int K, const float *A, int lda, const float *B,
                           int ldb, float *C, int ldc) {
    for (int i = 0; i < M; i++) {
        const float *a = A + (size_t)i * lda;
        for (int j = 0; j < N; j++) {
            const float *b = B + (size_t)j * ldb;
            float s = 0.0f;
            for (int k = 0; k < K; k++) s += a[k] * b[k];
            C[(size_t)i * ldc + j] += s;
        }
    }
}

static void gemm_nn_scalar(int M, int N, int K, const float *A, int lda, const float *B,
                           int ldb, float *C, int ldc) {
    for (int i = 0; i < M; i++) {
        float *c = C + (size_t)i * ldc;
        for (int k = 0; k < K; k++) {
            float a = A[(size_t)i * lda + k];
            const float *b = B + (size_t)k * ldb;
            for (int j = 0; j < N; j++) c[j] += a * b[j];
        }
    }
}

static void gemm_tn_scalar(int M, int N, int K, const float *A, int lda, const float *B,
                           int ldb, float *C, int ldc) {
    for (int k = 0; k < K; k++) {
        const float *a = A + (size_t)k * lda;
        const float *b = B + (size_t)k * ldb;
        for (int i = 0; i < M; i++) {
            float *c = C + (size_t)i * ldc;
            float ai = a[i];
            for (int j = 0; j < N; j++) c[j] += ai * b[j];
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
        size_t row = (size_t)b * H;
        for (int j = 0; j < H; j++) {
            float i = lstm_sigmoidf(gi[j]);
            float f = lstm_sigmoidf(gf[j]);
            float g = lstm_tanhf(gg[j]);
            float o = lstm_sigmoidf(go[j]);
            float ct = f * c_prev[row + j] + i * g;
            float tc = lstm_tanhf(ct);
            gi[j] = i; gf[j] = f; gg[j] = g; go[j] = o;
            c[row + j] = ct;
            tanh_c[row + j] = tc;
            h[row + j] = o * tc;
        }
    }
}

static void lstm_cell_backward_scalar(int B, int H, const float *gates, const float *c_prev,
                                      const float *tanh_c, const float *dh, float *dc,
                                      float *dgates) {
    for (int b = 0; b < B; b++) {
        const float *gi = gates + (size_t)b * 4 * H, *gf = gi + H, *gg = gf + H, *go = gg + H;
        float *di = dgates + (size_t)b * 4 * H, *df = di + H, *dg = df + H, *dout = dg + H;
        size_t row = (size_t)b * H;
        for (int j = 0; j < H; j++) {
            float i = gi[j], f = gf[j], g = gg[j], o = go[j];
            float tc = tanh_c[row + j];
            float dhj = dh[row + j];
            float dcj = dc[row + j] + dhj * o * (1.0f - tc * tc);
            dout[j] = dhj * tc * o * (1.0f - o);
            di[j] = dcj * g * i * (1.0f - i);
            df[j] = dcj * c_prev[row + j] * f * (1.0f - f);
            dg[j] = dcj * i * (1.0f - g * g);
            dc[row + j] = dcj * f;
        }
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

/* The optimizer updates compute every element's new parameter and moments and return 1 if
 * all of them are finite. Only with commit do they write them: a step runs them once without,
 * so an update that would overflow is refused before it has changed anything. */
static int sgd_update_scalar(size_t n, float *p, const float *g, float *v, float lr,
                             float momentum, float decay, int commit) {
    int finite = 1;
    for (size_t i = 0; i < n; i++) {
        const float vi = momentum * v[i] + g[i];
        const float pi = p[i] - lr * (vi + decay * p[i]);
        finite &= isfinite(vi) && isfinite(pi);
        if (commit) v[i] = vi, p[i] = pi;
    }
    return finite;
}

static int rmsprop_update_scalar(size_t n, float *p, const float *g, float *s, float lr,
                                 float beta2, float eps, float decay, int commit) {
    int finite = 1;
    for (size_t i = 0; i < n; i++) {
        const float si = beta2 * s[i] + (1.0f - beta2) * g[i] * g[i];
        const float pi = p[i] - lr * (g[i] / (sqrtf(si) + eps) + decay * p[i]);
        finite &= isfinite(si) && isfinite(pi);
        if (commit) s[i] = si, p[i] = pi;
    }
    return finite;
}

static int adam_update_scalar(size_t n, float *p, const float *g, float *m, float *v, float lr,
                              float beta1, float beta2, float eps, float decay, float bc1,
                              float bc2, int commit) {
    int finite = 1;
    for (size_t i = 0; i < n; i++) {
        const float mi = beta1 * m[i] + (1.0f - beta1) * g[i];
        const float vi = beta2 * v[i] + (1.0f - beta2) * g[i] * g[i];
        const float mhat = mi / bc1;
        const float vhat = vi / bc2;
        const float pi = p[i] - lr * (mhat / (sqrtf(vhat) + eps) + decay * p[i]);
        finite &= isfinite(mi) && isfinite(vi) && isfinite(pi);
        if (commit) m[i] = mi, v[i] = vi, p[i] = pi;
    }
    return finite;
}

const lstm_kernels lstm_kernels_scalar = {
    .name = "scalar",
    .gemm_nt = gemm_nt_scalar,
    .gemm_nn = gemm_nn_scalar,
    .gemm_tn = gemm_tn_scalar,
    .transpose = transpose_scalar,
    .vec_sigmoid = vec_sigmoid_scalar,
    .vec_tanh = vec_tanh_scalar,
    .lstm_cell_forward = lstm_cell_forward_scalar,
    .lstm_cell_backward = lstm_cell_backward_scalar,
    .softmax_xent = softmax_xent_scalar,
    .sum_rows = sum_rows_scalar,
    .sum_squares = sum_squares_scalar,
    .scale = scale_scalar,
    .sgd_update = sgd_update_scalar,
    .rmsprop_update = rmsprop_update_scalar,
    .adam_update = adam_update_scalar,
};

const lstm_kernels *lstm_kernels_best(void) {
#ifdef __wasm_simd128__
    return &lstm_kernels_wasmsimd;
#else
    return &lstm_kernels_scalar;
#endif
}
