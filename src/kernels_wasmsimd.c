/* kernels_wasmsimd.c - the kernels of kernels_scalar.c with 128-bit wasm SIMD.
 *
 * Same signatures and the same arithmetic; tails (sizes not a multiple of the vector width)
 * go to the scalar kernels or their element formulas (kernel_elements.h) and never read past
 * the end of an array. Only compiled into the SIMD build (-msimd128). */
#ifdef __wasm_simd128__
#include <float.h>
#include <math.h>
#include <wasm_simd128.h>

#include "kernel_elements.h"
#include "kernels.h"

typedef v128_t f32x4;

#define LOAD(p) wasm_v128_load(p)
#define STORE(p, v) wasm_v128_store(p, v)
#define SPLAT(x) wasm_f32x4_splat(x)
#define ADD wasm_f32x4_add
#define SUB wasm_f32x4_sub
#define MUL wasm_f32x4_mul
#define DIV wasm_f32x4_div

/* ---- elementwise math, lane for lane the formulas of fastmath.h ---- */

static inline f32x4 exp_f32x4(f32x4 x) {
    const f32x4 lo = SPLAT(LSTM_EXP_LO), hi = SPLAT(LSTM_EXP_HI);
    /* select, not min/max: a NaN input must stay NaN, as in the scalar reference */
    x = wasm_v128_bitselect(lo, x, wasm_f32x4_lt(x, lo));
    x = wasm_v128_bitselect(hi, x, wasm_f32x4_gt(x, hi));
    f32x4 n = wasm_f32x4_floor(ADD(MUL(x, SPLAT(LSTM_LOG2E)), SPLAT(0.5f)));
    f32x4 r = SUB(x, MUL(n, SPLAT(LSTM_LN2_HI)));
    r = SUB(r, MUL(n, SPLAT(LSTM_LN2_LO)));
    f32x4 p = SPLAT(1.0f / 720.0f);
    p = ADD(MUL(p, r), SPLAT(1.0f / 120.0f));
    p = ADD(MUL(p, r), SPLAT(1.0f / 24.0f));
    p = ADD(MUL(p, r), SPLAT(1.0f / 6.0f));
    p = ADD(MUL(p, r), SPLAT(0.5f));
    p = ADD(MUL(p, r), SPLAT(1.0f));
    p = ADD(MUL(p, r), SPLAT(1.0f));
    v128_t bits = wasm_i32x4_shl(wasm_i32x4_add(wasm_i32x4_trunc_sat_f32x4(n), wasm_i32x4_splat(127)), 23);
    return MUL(p, bits);
}

static inline f32x4 sigmoid_f32x4(f32x4 x) {
    const f32x4 one = SPLAT(1.0f);
    return DIV(one, ADD(one, exp_f32x4(wasm_f32x4_neg(x))));
}

static inline f32x4 tanh_f32x4(f32x4 x) {
    const f32x4 one = SPLAT(1.0f);
    const v128_t sign = wasm_i32x4_splat((int32_t)0x80000000u);
    f32x4 ax = wasm_v128_andnot(x, sign);
    f32x4 e = exp_f32x4(MUL(SPLAT(-2.0f), ax));
    f32x4 t = DIV(SUB(one, e), ADD(one, e));
    return wasm_v128_or(t, wasm_v128_and(x, sign)); /* copysign */
}

/* the sum of a's four lanes */
static inline float hsum(f32x4 a) {
    return wasm_f32x4_extract_lane(a, 0) + wasm_f32x4_extract_lane(a, 1) +
           wasm_f32x4_extract_lane(a, 2) + wasm_f32x4_extract_lane(a, 3);
}

/* ---- GEMM on packed panels: broadcast an element of A against 8 columns of B ---- */

#define PANEL_MC 64 /* rows of A packed at a time: 64 x LSTM_PANEL_KC floats, 64 KB, on the stack */

/* C (4 x 8, row stride ldc) = C + a . panel over kc steps: a is 4 rows k-major (a[4k + r]) */
static inline void panel_4x8(int kc, const float *a, const float *b, float *c, int ldc) {
    f32x4 c00 = LOAD(c), c01 = LOAD(c + 4), c10 = LOAD(c + ldc), c11 = LOAD(c + ldc + 4);
    f32x4 c20 = LOAD(c + 2 * ldc), c21 = LOAD(c + 2 * ldc + 4);
    f32x4 c30 = LOAD(c + 3 * ldc), c31 = LOAD(c + 3 * ldc + 4);
    for (int k = 0; k < kc; k++, a += 4, b += 8) {
        const f32x4 w0 = LOAD(b), w1 = LOAD(b + 4);
        f32x4 x = wasm_v128_load32_splat(a);
        c00 = ADD(c00, MUL(x, w0)); c01 = ADD(c01, MUL(x, w1));
        x = wasm_v128_load32_splat(a + 1);
        c10 = ADD(c10, MUL(x, w0)); c11 = ADD(c11, MUL(x, w1));
        x = wasm_v128_load32_splat(a + 2);
        c20 = ADD(c20, MUL(x, w0)); c21 = ADD(c21, MUL(x, w1));
        x = wasm_v128_load32_splat(a + 3);
        c30 = ADD(c30, MUL(x, w0)); c31 = ADD(c31, MUL(x, w1));
    }
    STORE(c, c00); STORE(c + 4, c01); STORE(c + ldc, c10); STORE(c + ldc + 4, c11);
    STORE(c + 2 * ldc, c20); STORE(c + 2 * ldc + 4, c21);
    STORE(c + 3 * ldc, c30); STORE(c + 3 * ldc + 4, c31);
}

/* 4 rows (r0, r0 + ld, ...) of kc values each, transposed: value k of row r to dst[stride k + r] */
static inline void transpose_4_rows(const float *r0, size_t ld, int kc, float *dst, int stride) {
    const float *r1 = r0 + ld, *r2 = r1 + ld, *r3 = r2 + ld;
    int k = 0;
    for (; k + 4 <= kc; k += 4) { /* 4 x 4 blocks */
        const f32x4 x0 = LOAD(r0 + k), x1 = LOAD(r1 + k), x2 = LOAD(r2 + k), x3 = LOAD(r3 + k);
        const f32x4 t0 = wasm_i32x4_shuffle(x0, x1, 0, 4, 1, 5), t1 = wasm_i32x4_shuffle(x0, x1, 2, 6, 3, 7);
        const f32x4 t2 = wasm_i32x4_shuffle(x2, x3, 0, 4, 1, 5), t3 = wasm_i32x4_shuffle(x2, x3, 2, 6, 3, 7);
        STORE(dst + (size_t)stride * k, wasm_i32x4_shuffle(t0, t2, 0, 1, 4, 5));
        STORE(dst + (size_t)stride * (k + 1), wasm_i32x4_shuffle(t0, t2, 2, 3, 6, 7));
        STORE(dst + (size_t)stride * (k + 2), wasm_i32x4_shuffle(t1, t3, 0, 1, 4, 5));
        STORE(dst + (size_t)stride * (k + 3), wasm_i32x4_shuffle(t1, t3, 2, 3, 6, 7));
    }
    for (; k < kc; k++) {
        float *d = dst + (size_t)stride * k;
        d[0] = r0[k]; d[1] = r1[k]; d[2] = r2[k]; d[3] = r3[k];
    }
}

/* 4 rows of op(A) from row i, columns k0 .. k0+kc, k-major into a[4k + r] */
static void pack_rows4(int kc, const float *A, int lda, int trans, int i, int k0, float *a) {
    if (trans) {
        const float *src = A + (size_t)k0 * lda + i;
        for (int k = 0; k < kc; k++) STORE(a + 4 * k, LOAD(src + (size_t)k * lda));
        return;
    }
    transpose_4_rows(A + (size_t)i * lda + k0, (size_t)lda, kc, a, 4);
}

/* What a missing panel reads: a row group past the last panel multiplies zeros. */
static const float zero_panel[LSTM_PANEL_KC * 8];

/* One row: c (n <= 32 columns, 4 panels) = c + a . panels, two sums per panel in flight, a[k *
 * step] the row's element k. Generation multiplies single rows. Four panels always (a missing
 * one is zero_panel, its columns written to a copy): a loop with no branches in it, whose sums
 * stay in registers. */
static __attribute__((noinline)) void panel_row(int kc, const float *a, size_t step, const float *b, int n, float *c) {
    float t[32] __attribute__((aligned(16)));
    float *d = c;
    if (n < 32) {
        for (int q = 0; q < 32; q++) t[q] = q < n ? c[q] : 0.0f;
        d = t;
    }
    const size_t ps = (size_t)kc * 8;
    const float *b0 = b, *b1 = n > 8 ? b0 + ps : zero_panel, *b2 = n > 16 ? b0 + 2 * ps : zero_panel;
    const float *b3 = n > 24 ? b0 + 3 * ps : zero_panel;
    f32x4 s0 = LOAD(d), s1 = LOAD(d + 4), s2 = LOAD(d + 8), s3 = LOAD(d + 12);
    f32x4 s4 = LOAD(d + 16), s5 = LOAD(d + 20), s6 = LOAD(d + 24), s7 = LOAD(d + 28);
#define PANEL_ROW_LOOP(A_K)                                                                    \
    for (int k = 0; k < kc; k++, b0 += 8, b1 += 8, b2 += 8, b3 += 8) {                         \
        const f32x4 x = wasm_v128_load32_splat(A_K);                                           \
        s0 = ADD(s0, MUL(x, LOAD(b0))); s1 = ADD(s1, MUL(x, LOAD(b0 + 4)));                    \
        s2 = ADD(s2, MUL(x, LOAD(b1))); s3 = ADD(s3, MUL(x, LOAD(b1 + 4)));                    \
        s4 = ADD(s4, MUL(x, LOAD(b2))); s5 = ADD(s5, MUL(x, LOAD(b2 + 4)));                    \
        s6 = ADD(s6, MUL(x, LOAD(b3))); s7 = ADD(s7, MUL(x, LOAD(b3 + 4)));                    \
    }
    /* the same loop twice: with a stride of 1 known, the engine keeps it a third faster */
    if (step == 1) PANEL_ROW_LOOP(a + k) else PANEL_ROW_LOOP(a + (size_t)k * step)
#undef PANEL_ROW_LOOP
    STORE(d, s0); STORE(d + 4, s1); STORE(d + 8, s2); STORE(d + 12, s3);
    STORE(d + 16, s4); STORE(d + 20, s5); STORE(d + 24, s6); STORE(d + 28, s7);
    if (d == t)
        for (int q = 0; q < n; q++) c[q] = t[q];
}

static void gemm_panels_wasmsimd(int M, int N, int K, const float *A, int lda, int trans, const float *P,
                                 int ldp, int j0, float *C, int ldc) {
    float a4[PANEL_MC * LSTM_PANEL_KC] __attribute__((aligned(16)));
    for (int k0 = 0; k0 < K; k0 += LSTM_PANEL_KC) {
        const int kc = K - k0 < LSTM_PANEL_KC ? K - k0 : LSTM_PANEL_KC;
        const float *block = P + (size_t)k0 * ldp + (size_t)j0 * kc;
        for (int i0 = 0; i0 < M; i0 += PANEL_MC) {
            const int i1 = i0 + PANEL_MC < M ? i0 + PANEL_MC : M;
            const int i4 = i0 + ((i1 - i0) & ~3); /* rows i0..i4 in tiles of 4, the rest alone */
            for (int i = i0; i < i4; i += 4) pack_rows4(kc, A, lda, trans, i, k0, a4 + (size_t)(i - i0) * kc);
            for (int jp = 0; jp < N; jp += 8) {
                const float *panel = block + (size_t)jp * kc;
                const int n = N - jp < 8 ? N - jp : 8;
                for (int i = i0; i < i4; i += 4) {
                    float *c = C + (size_t)i * ldc + jp;
                    if (n == 8) {
                        panel_4x8(kc, a4 + (size_t)(i - i0) * kc, panel, c, ldc);
                        continue;
                    }
                    /* the last columns: a whole tile on a copy (the panel's extra columns are zero) */
                    float t[32] __attribute__((aligned(16))) = {0};
                    for (int r = 0; r < 4; r++)
                        for (int q = 0; q < n; q++) t[8 * r + q] = c[(size_t)r * ldc + q];
                    panel_4x8(kc, a4 + (size_t)(i - i0) * kc, panel, t, 8);
                    for (int r = 0; r < 4; r++)
                        for (int q = 0; q < n; q++) c[(size_t)r * ldc + q] = t[8 * r + q];
                }
            }
            /* the rows left over, one at a time, each group of 4 panels read once for all */
            for (int jp = 0; jp < N && i4 < i1; jp += 32)
                for (int i = i4; i < i1; i++) {
                    const float *a = trans ? A + (size_t)k0 * lda + i : A + (size_t)i * lda + k0;
                    panel_row(kc, a, trans ? (size_t)lda : 1, block + (size_t)jp * kc, N - jp < 32 ? N - jp : 32,
                              C + (size_t)i * ldc + jp);
                }
        }
    }
}

static void pack_panels_wasmsimd(int K, int N, const float *B, int ldb, int trans, float *P, int ldp,
                                 int j0) {
    if (!trans) { /* rows of 8 contiguous columns: copies */
        for (int k0 = 0; k0 < K; k0 += LSTM_PANEL_KC) {
            const int kc = K - k0 < LSTM_PANEL_KC ? K - k0 : LSTM_PANEL_KC;
            for (int jp = 0; jp + 8 <= N; jp += 8) {
                float *panel = P + (size_t)k0 * ldp + (size_t)(j0 + jp) * kc;
                const float *src = B + (size_t)k0 * ldb + jp;
                for (int k = 0; k < kc; k++, src += ldb) {
                    STORE(panel + 8 * k, LOAD(src));
                    STORE(panel + 8 * k + 4, LOAD(src + 4));
                }
            }
        }
    } else { /* 4 rows of the transpose at a time, 4 x 4 transposes */
        for (int k0 = 0; k0 < K; k0 += LSTM_PANEL_KC) {
            const int kc = K - k0 < LSTM_PANEL_KC ? K - k0 : LSTM_PANEL_KC;
            for (int jp = 0; jp + 8 <= N; jp += 8)
                for (int h = 0; h < 8; h += 4)
                    transpose_4_rows(B + (size_t)(jp + h) * ldb + k0, (size_t)ldb, kc,
                                     P + (size_t)k0 * ldp + (size_t)(j0 + jp) * kc + h, 8);
        }
    }
    const int N8 = N & ~7; /* a last partial panel, with its zero columns: the scalar kernel */
    if (N8 < N) lstm_kernels_scalar.pack_panels(K, N - N8, trans ? B + (size_t)N8 * ldb : B + N8, ldb, trans, P, ldp, j0 + N8);
}

static void transpose_wasmsimd(int rows, int cols, const float *A, int lda, float *B, int ldb) {
    const int R4 = rows & ~3, C4 = cols & ~3;
    for (int i0 = 0; i0 < R4; i0 += 16) {
        int i1 = i0 + 16 < R4 ? i0 + 16 : R4;
        for (int j = 0; j < C4; j += 4) {
            for (int i = i0; i < i1; i += 4)
                transpose_4_rows(A + (size_t)i * lda + j, (size_t)lda, 4, B + (size_t)j * ldb + i, ldb);
        }
    }
    /* the edges: rows R4.. and columns C4.. */
    for (int i = 0; i < rows; i++)
        for (int j = i < R4 ? C4 : 0; j < cols; j++) B[(size_t)j * ldb + i] = A[(size_t)i * lda + j];
}

static void vec_sigmoid_wasmsimd(int n, const float *x, float *y) {
    int i = 0;
    for (; i + 4 <= n; i += 4) STORE(y + i, sigmoid_f32x4(LOAD(x + i)));
    lstm_kernels_scalar.vec_sigmoid(n - i, x + i, y + i);
}

static void vec_tanh_wasmsimd(int n, const float *x, float *y) {
    int i = 0;
    for (; i + 4 <= n; i += 4) STORE(y + i, tanh_f32x4(LOAD(x + i)));
    lstm_kernels_scalar.vec_tanh(n - i, x + i, y + i);
}

static void lstm_cell_forward_wasmsimd(int B, int H, float *gates, const float *c_prev, float *c,
                                       float *tanh_c, float *h) {
    for (int b = 0; b < B; b++) {
        float *gi = gates + (size_t)b * 4 * H, *gf = gi + H, *gg = gf + H, *go = gg + H;
        size_t row = (size_t)b * H;
        const float *cp = c_prev + row;
        float *cr = c + row, *tr = tanh_c + row, *hr = h + row;
        int j = 0;
        for (; j + 4 <= H; j += 4) {
            f32x4 i = sigmoid_f32x4(LOAD(gi + j));
            f32x4 f = sigmoid_f32x4(LOAD(gf + j));
            f32x4 g = tanh_f32x4(LOAD(gg + j));
            f32x4 o = sigmoid_f32x4(LOAD(go + j));
            f32x4 ct = ADD(MUL(f, LOAD(cp + j)), MUL(i, g));
            f32x4 tc = tanh_f32x4(ct);
            STORE(gi + j, i); STORE(gf + j, f); STORE(gg + j, g); STORE(go + j, o);
            STORE(cr + j, ct);
            STORE(tr + j, tc);
            STORE(hr + j, MUL(o, tc));
        }
        for (; j < H; j++)
            lstm_cell_forward_element(gi + j, gf + j, gg + j, go + j, cp[j], cr + j, tr + j, hr + j);
    }
}

static void lstm_cell_backward_wasmsimd(int B, int H, const float *gates, const float *c_prev,
                                        const float *tanh_c, const float *dh, float *dc,
                                        float *dgates) {
    const f32x4 one = SPLAT(1.0f);
    for (int b = 0; b < B; b++) {
        const float *gi = gates + (size_t)b * 4 * H, *gf = gi + H, *gg = gf + H, *go = gg + H;
        float *di = dgates + (size_t)b * 4 * H, *df = di + H, *dg = df + H, *dout = dg + H;
        size_t row = (size_t)b * H;
        const float *cp = c_prev + row, *tr = tanh_c + row, *dhr = dh + row;
        float *dcr = dc + row;
        int j = 0;
        for (; j + 4 <= H; j += 4) {
            f32x4 i = LOAD(gi + j), f = LOAD(gf + j), g = LOAD(gg + j), o = LOAD(go + j);
            f32x4 tc = LOAD(tr + j), dhj = LOAD(dhr + j);
            f32x4 dcj = ADD(LOAD(dcr + j), MUL(MUL(dhj, o), SUB(one, MUL(tc, tc))));
            STORE(dout + j, MUL(MUL(MUL(dhj, tc), o), SUB(one, o)));
            STORE(di + j, MUL(MUL(MUL(dcj, g), i), SUB(one, i)));
            STORE(df + j, MUL(MUL(MUL(dcj, LOAD(cp + j)), f), SUB(one, f)));
            STORE(dg + j, MUL(MUL(dcj, i), SUB(one, MUL(g, g))));
            STORE(dcr + j, MUL(dcj, f));
        }
        for (; j < H; j++)
            lstm_cell_backward_element(gi[j], gf[j], gg[j], go[j], cp[j], tr[j], dhr[j], dcr + j, di + j,
                                       df + j, dg + j, dout + j);
    }
}

static double softmax_xent_wasmsimd(int R, int V, float *logits, const int32_t *targets,
                                    float scale) {
    const int V4 = V & ~3;
    double total = 0.0;
    for (int r = 0; r < R; r++) {
        float *z = logits + (size_t)r * V;
        float mx = z[0];
        int v = 0;
        if (V4 > 0) {
            f32x4 m = LOAD(z);
            for (v = 4; v < V4; v += 4) m = wasm_f32x4_pmax(m, LOAD(z + v));
            mx = wasm_f32x4_extract_lane(m, 0);
            for (int l = 1; l < 4; l++) {
                float e = l == 1 ? wasm_f32x4_extract_lane(m, 1)
                        : l == 2 ? wasm_f32x4_extract_lane(m, 2) : wasm_f32x4_extract_lane(m, 3);
                mx = e > mx ? e : mx;
            }
        }
        for (; v < V; v++) mx = z[v] > mx ? z[v] : mx;
        /* subtract the max: exp() overflows above 88 */
        const int t = targets[r];
        const float zt = z[t] - mx;
        f32x4 vm = SPLAT(mx), s = SPLAT(0);
        for (v = 0; v < V4; v += 4) {
            f32x4 e = exp_f32x4(SUB(LOAD(z + v), vm));
            STORE(z + v, e);
            s = ADD(s, e);
        }
        float sum = hsum(s);
        for (; v < V; v++) {
            z[v] = lstm_expf(z[v] - mx);
            sum += z[v];
        }
        /* -log softmax from the logit itself, not log(exp(.)): exact, and no log(0) when
         * the target's probability underflows */
        /* cppcheck-suppress invalidFunctionArg ; V >= 1 and the max term adds exp(0) = 1, so sum >= 1 */
        total += log((double)sum) - (double)zt;
        float inv = scale / sum;
        f32x4 vi = SPLAT(inv);
        for (v = 0; v < V4; v += 4) STORE(z + v, MUL(LOAD(z + v), vi));
        for (; v < V; v++) z[v] *= inv;
        z[t] -= scale;
    }
    return total;
}

static void sum_rows_wasmsimd(int R, int N, const float *A, int lda, float *out) {
    const int N4 = N & ~3;
    for (int r = 0; r < R; r++) {
        const float *a = A + (size_t)r * lda;
        int j = 0;
        for (; j < N4; j += 4) STORE(out + j, ADD(LOAD(out + j), LOAD(a + j)));
        lstm_kernels_scalar.sum_rows(1, N - j, a + j, lda, out + j);
    }
}

static double sum_squares_wasmsimd(size_t n, const float *x) {
    /* accumulate in f64x2: a float sum of a million squares would lose digits */
    v128_t s0 = wasm_f64x2_splat(0), s1 = wasm_f64x2_splat(0);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        f32x4 v = LOAD(x + i);
        v128_t lo = wasm_f64x2_promote_low_f32x4(v);
        v128_t hi = wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(v, v, 2, 3, 0, 1));
        s0 = wasm_f64x2_add(s0, wasm_f64x2_mul(lo, lo));
        s1 = wasm_f64x2_add(s1, wasm_f64x2_mul(hi, hi));
    }
    v128_t s = wasm_f64x2_add(s0, s1);
    const double total = wasm_f64x2_extract_lane(s, 0) + wasm_f64x2_extract_lane(s, 1);
    return total + lstm_kernels_scalar.sum_squares(n - i, x + i);
}

static void scale_wasmsimd(size_t n, float *x, float s) {
    f32x4 vs = SPLAT(s);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) STORE(x + i, MUL(LOAD(x + i), vs));
    lstm_kernels_scalar.scale(n - i, x + i, s);
}

/* Lanes of x that are finite (|x| <= FLT_MAX is false for inf and NaN). */
static inline v128_t finite_lanes(f32x4 x) {
    return wasm_f32x4_le(wasm_f32x4_abs(x), wasm_f32x4_splat(3.40282347e38f));
}

static int sgd_update_wasmsimd(size_t n, float *p, const float *g, float *v, float lr,
                               float momentum, float decay, int commit) {
    f32x4 vlr = SPLAT(lr), vmom = SPLAT(momentum), vdec = SPLAT(decay);
    v128_t ok = wasm_i32x4_splat(-1);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        f32x4 vi = ADD(MUL(vmom, LOAD(v + i)), LOAD(g + i));
        f32x4 pi = LOAD(p + i);
        pi = SUB(pi, MUL(vlr, ADD(vi, MUL(vdec, pi))));
        ok = wasm_v128_and(ok, wasm_v128_and(finite_lanes(vi), finite_lanes(pi)));
        if (commit) STORE(v + i, vi), STORE(p + i, pi);
    }
    return wasm_i32x4_all_true(ok) &
           lstm_kernels_scalar.sgd_update(n - i, p + i, g + i, v + i, lr, momentum, decay, commit);
}

static int rmsprop_update_wasmsimd(size_t n, float *p, const float *g, float *s, float lr,
                                   float beta2, float eps, float decay, int commit) {
    f32x4 vlr = SPLAT(lr), vb = SPLAT(beta2), vb1 = SPLAT(1.0f - beta2), veps = SPLAT(eps),
          vdec = SPLAT(decay);
    v128_t ok = wasm_i32x4_splat(-1);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        f32x4 gi = LOAD(g + i);
        f32x4 si = ADD(MUL(vb, LOAD(s + i)), MUL(MUL(vb1, gi), gi));
        f32x4 pi = LOAD(p + i);
        f32x4 step = ADD(DIV(gi, ADD(wasm_f32x4_sqrt(si), veps)), MUL(vdec, pi));
        pi = SUB(pi, MUL(vlr, step));
        ok = wasm_v128_and(ok, wasm_v128_and(finite_lanes(si), finite_lanes(pi)));
        if (commit) STORE(s + i, si), STORE(p + i, pi);
    }
    return wasm_i32x4_all_true(ok) &
           lstm_kernels_scalar.rmsprop_update(n - i, p + i, g + i, s + i, lr, beta2, eps, decay, commit);
}

static int adam_update_wasmsimd(size_t n, float *p, const float *g, float *m, float *v, float lr,
                                float beta1, float beta2, float eps, float decay, float bc1,
                                float bc2, int commit) {
    f32x4 vlr = SPLAT(lr), vb1 = SPLAT(beta1), vc1 = SPLAT(1.0f - beta1), vb2 = SPLAT(beta2),
          vc2 = SPLAT(1.0f - beta2), veps = SPLAT(eps), vdec = SPLAT(decay), vbc1 = SPLAT(bc1),
          vbc2 = SPLAT(bc2);
    v128_t ok = wasm_i32x4_splat(-1);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        f32x4 gi = LOAD(g + i);
        f32x4 mi = ADD(MUL(vb1, LOAD(m + i)), MUL(vc1, gi));
        f32x4 vi = ADD(MUL(vb2, LOAD(v + i)), MUL(MUL(vc2, gi), gi));
        f32x4 mhat = DIV(mi, vbc1), vhat = DIV(vi, vbc2);
        f32x4 pi = LOAD(p + i);
        f32x4 step = ADD(DIV(mhat, ADD(wasm_f32x4_sqrt(vhat), veps)), MUL(vdec, pi));
        pi = SUB(pi, MUL(vlr, step));
        ok = wasm_v128_and(ok, wasm_v128_and(wasm_v128_and(finite_lanes(mi), finite_lanes(vi)),
                                             finite_lanes(pi)));
        if (commit) STORE(m + i, mi), STORE(v + i, vi), STORE(p + i, pi);
    }
    return wasm_i32x4_all_true(ok) & lstm_kernels_scalar.adam_update(n - i, p + i, g + i, m + i, v + i, lr, beta1,
                                                                     beta2, eps, decay, bc1, bc2, commit);
}

/* ---- quantised inference ---- */

static void quantize_i16_wasmsimd(int M, int K, const float *A, int lda, int16_t *Q, int ldq, float *scales) {
    const int K8 = K & ~7;
    for (int i = 0; i < M; i++) {
        const float *a = A + (size_t)i * lda;
        int16_t *q = Q + (size_t)i * ldq;
        f32x4 vmax = SPLAT(0.0f);
        int k = 0;
        /* f32x4.max keeps a NaN: a lane is above FLT_MAX, or not comparable, if its row is not finite */
        for (; k + 4 <= K; k += 4) vmax = wasm_f32x4_max(vmax, wasm_f32x4_abs(LOAD(a + k)));
        float lanes[4], max = 0.0f;
        int finite = 1;
        STORE(lanes, vmax);
        for (int l = 0; l < 4; l++) {
            if (!(lanes[l] <= FLT_MAX)) finite = 0;
            else if (lanes[l] > max) max = lanes[l];
        }
        for (; k < K; k++) {
            const float v = fabsf(a[k]);
            if (!(v <= FLT_MAX)) finite = 0;
            else if (v > max) max = v;
        }
        if (!finite && quantize_nonfinite_row(q, K, &scales[i])) continue;
        float inv;
        scales[i] = quantize_scale(max, &inv);
        const f32x4 vinv = SPLAT(inv);
        for (k = 0; k < K8; k += 8) {
            /* round to nearest even as nearbyintf does, then narrow (in range, so exact) */
            v128_t lo = wasm_i32x4_trunc_sat_f32x4(wasm_f32x4_nearest(MUL(LOAD(a + k), vinv)));
            v128_t hi = wasm_i32x4_trunc_sat_f32x4(wasm_f32x4_nearest(MUL(LOAD(a + k + 4), vinv)));
            wasm_v128_store(q + k, wasm_i16x8_narrow_i32x4(lo, hi));
        }
        for (; k < K; k++) q[k] = (int16_t)nearbyintf(a[k] * inv);
    }
}

/* sum over k in [k0, k1) of a[k] * b[k] as 4 int32 lanes, 16 at a time (8 products a dot) */
static inline v128_t dot_block(const int16_t *a, const int8_t *b, int k0, int k1) {
    v128_t acc = wasm_i32x4_splat(0);
    for (int k = k0; k + 16 <= k1; k += 16) {
        const v128_t w = wasm_v128_load(b + k);
        acc = wasm_i32x4_add(acc, wasm_i32x4_dot_i16x8(wasm_v128_load(a + k), wasm_i16x8_extend_low_i8x16(w)));
        acc = wasm_i32x4_add(acc, wasm_i32x4_dot_i16x8(wasm_v128_load(a + k + 8), wasm_i16x8_extend_high_i8x16(w)));
    }
    return acc;
}

static inline int32_t lanes_sum(v128_t v) {
    return wasm_i32x4_extract_lane(v, 0) + wasm_i32x4_extract_lane(v, 1) + wasm_i32x4_extract_lane(v, 2) +
           wasm_i32x4_extract_lane(v, 3);
}

static void gemm_nt_q8_wasmsimd(int M, int N, int K, const int16_t *A, int lda, const float *a_scale,
                                const int8_t *B, int ldb, const float *b_scale, float *C, int ldc) {
    for (int i = 0; i < M; i++) {
        const int16_t *a = A + (size_t)i * lda;
        for (int j = 0; j < N; j++) {
            const int8_t *b = B + (size_t)j * ldb;
            float acc = 0.0f;
            /* each block's integer sum is exact, whatever the order: the same as the scalar one */
            for (int k0 = 0; k0 < K; k0 += LSTM_Q8_BLOCK) {
                const int k1 = K - k0 < LSTM_Q8_BLOCK ? K : k0 + LSTM_Q8_BLOCK, k16 = k0 + ((k1 - k0) & ~15);
                const int32_t s = lanes_sum(dot_block(a, b, k0, k1)) + dot_i16_i8(a + k16, b + k16, k1 - k16);
                acc += (float)s;
            }
            C[(size_t)i * ldc + j] += acc * (a_scale[i] * b_scale[j]);
        }
    }
}

#define LSTM_KERNEL_SUFFIX wasmsimd
const lstm_kernels lstm_kernels_wasmsimd = {.impl = "wasmsimd", LSTM_KERNELS(LSTM_KERNEL_ENTRY)};
#endif /* __wasm_simd128__ */
