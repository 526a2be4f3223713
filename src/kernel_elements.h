/* kernel_elements.h - the per-element formulas of the kernels: the scalar kernels are loops
 * over them, and the SIMD kernels use them for the elements past the last full vector, so
 * each formula is written once in plain C. */
#ifndef LSTM_KERNEL_ELEMENTS_H
#define LSTM_KERNEL_ELEMENTS_H

#include <math.h>
#include <stdint.h>

#include "fastmath.h"

/* One unit of the LSTM cell: gate pre-activations in, activations out (i, f, g, o point at
 * the unit's entry of each gate block); c_t = f c_{t-1} + i g, h_t = o tanh(c_t). */
static inline void lstm_cell_forward_element(float *gi, float *gf, float *gg, float *go, float cp,
                                             float *c, float *tanh_c, float *h) {
    const float i = lstm_sigmoidf(*gi), f = lstm_sigmoidf(*gf);
    const float g = lstm_tanhf(*gg), o = lstm_sigmoidf(*go);
    const float ct = f * cp + i * g, tc = lstm_tanhf(ct);
    *gi = i, *gf = f, *gg = g, *go = o;
    *c = ct, *tanh_c = tc, *h = o * tc;
}

/* Its backward: dc in from step t+1, out to step t-1; d* receive the pre-activation gradients. */
static inline void lstm_cell_backward_element(float i, float f, float g, float o, float cp, float tc,
                                              float dh, float *dc, float *di, float *df, float *dg,
                                              float *dout) {
    const float dct = *dc + dh * o * (1.0f - tc * tc);
    *dout = dh * tc * o * (1.0f - o);
    *di = dct * g * i * (1.0f - i);
    *df = dct * cp * f * (1.0f - f);
    *dg = dct * i * (1.0f - g * g);
    *dc = dct * f;
}

/* The optimizer steps of one parameter; each returns whether its new values are finite and
 * writes them only with commit. Decay is decoupled: p -= lr * decay * p. */
static inline int sgd_element(float *p, float g, float *v, float lr, float momentum, float decay,
                              int commit) {
    const float vi = momentum * *v + g;
    const float pi = *p - lr * (vi + decay * *p);
    if (commit) *v = vi, *p = pi;
    return isfinite(vi) && isfinite(pi);
}

static inline int rmsprop_element(float *p, float g, float *s, float lr, float beta2, float eps,
                                  float decay, int commit) {
    const float si = beta2 * *s + (1.0f - beta2) * g * g;
    const float pi = *p - lr * (g / (sqrtf(si) + eps) + decay * *p);
    if (commit) *s = si, *p = pi;
    return isfinite(si) && isfinite(pi);
}

static inline int adam_element(float *p, float g, float *m, float *v, float lr, float beta1,
                               float beta2, float eps, float decay, float bc1, float bc2, int commit) {
    const float mi = beta1 * *m + (1.0f - beta1) * g;
    const float vi = beta2 * *v + (1.0f - beta2) * g * g;
    const float mhat = mi / bc1, vhat = vi / bc2;
    const float pi = *p - lr * (mhat / (sqrtf(vhat) + eps) + decay * *p);
    if (commit) *m = mi, *v = vi, *p = pi;
    return isfinite(mi) && isfinite(vi) && isfinite(pi);
}

/* Quantised products sum integer products exactly in blocks of this many: a block's sum,
 * at most 256 x 32767 x 127 < 2^31 in magnitude, cannot overflow an int32. */
#define LSTM_Q8_BLOCK 256

/* sum of a[k] * b[k], k < n: exact while n <= LSTM_Q8_BLOCK */
static inline int32_t dot_i16_i8(const int16_t *a, const int8_t *b, int n) {
    int32_t s = 0;
    for (int k = 0; k < n; k++) s += (int32_t)a[k] * b[k];
    return s;
}

/* The scale of a row quantised to int16 (1 for a zero row), and its inverse, the same in
 * both kernel tables: max is exact, and so is everything computed from it. */
/* A row holding NaN or an infinity has no scale: its scale is NaN and its values 0, so every
 * product it enters is NaN, as float arithmetic would make it (and no NaN is ever converted
 * to an integer). */
static inline int quantize_nonfinite_row(int16_t *q, int K, float *scale) {
    for (int k = 0; k < K; k++) q[k] = 0;
    *scale = NAN;
    return 1;
}

static inline float quantize_scale(float max, float *inverse) {
    /* a row this small is quantised as zeros: 32767 / max would overflow to infinity below
     * about 1e-35, and values so small change no product */
    const int zero = !(max >= 1e-30f);
    *inverse = zero ? 0.0f : 32767.0f / max;
    return zero ? 1.0f : max / 32767.0f;
}

#endif /* LSTM_KERNEL_ELEMENTS_H */
