/* fastmath.h - exp, sigmoid and tanh by range reduction and a degree-6 polynomial, scalar.
 *
 * This is the specification that kernels_wasmsimd.c mirrors lane for lane, so both builds
 * compute the same gate activations. Relative error of exp is below 4e-7 on [-87, 88]
 * (checked by tests against double exp). NaN passes through, so a diverging model shows
 * up as a NaN loss instead of being silently clamped. */
#ifndef LSTM_FASTMATH_H
#define LSTM_FASTMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#define LSTM_EXP_LO (-87.0f) /* exp(-87) ~ 1.6e-38 is still a normal float */
#define LSTM_EXP_HI 88.0f    /* exp(88.7) overflows float */
#define LSTM_LOG2E 1.44269504f
#define LSTM_LN2_HI 0.693359375f  /* ln 2 split in two (Cody-Waite) so n*LN2_HI is exact */
#define LSTM_LN2_LO (-2.12194440e-4f)

static inline float lstm_expf(float x) {
    if (x != x) return x;
    x = x < LSTM_EXP_LO ? LSTM_EXP_LO : x;
    x = x > LSTM_EXP_HI ? LSTM_EXP_HI : x;
    float n = floorf(x * LSTM_LOG2E + 0.5f);
    float r = x - n * LSTM_LN2_HI;
    r = r - n * LSTM_LN2_LO;
    /* Taylor series of e^r for |r| <= ln2/2: the truncation error r^7/7! < 1.3e-7 */
    float p = 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    int32_t bits = ((int32_t)n + 127) << 23; /* 2^n, n in [-125, 127] */
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

static inline float lstm_sigmoidf(float x) { return 1.0f / (1.0f + lstm_expf(-x)); }

static inline float lstm_tanhf(float x) {
    /* tanh|x| = (1 - e) / (1 + e), e = exp(-2|x|): no overflow, exact sign symmetry */
    float ax = fabsf(x);
    float e = lstm_expf(-2.0f * ax);
    float t = (1.0f - e) / (1.0f + e);
    return copysignf(t, x);
}

#endif /* LSTM_FASTMATH_H */
