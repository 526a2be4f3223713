/* train.c - forward and backward through the stacked LSTM and its softmax head, truncated
 * BPTT with carried state, gradient clipping and the optimizer step.
 *
 * Activations are time-major (row r = t*B + b) so that all T*B rows of a layer's input
 * product, weight gradients and head form one large matrix product; only the h . W_hh
 * product stays inside the time loop. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "rng.h"

/* ---- workspace ---- */

/* Under AddressSanitizer (the native test builds) every piece of the workspace is followed by
 * a poisoned gap, so a piece sized too small is reported where it overflows, as a separate
 * allocation would be, instead of silently writing into its neighbour in the arena. */
#if defined(__SANITIZE_ADDRESS__)
#define WS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WS_ASAN 1
#endif
#endif
#ifdef WS_ASAN
#include <sanitizer/asan_interface.h>
#define WS_REDZONE 32
#define WS_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define WS_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define WS_REDZONE 0
#define WS_POISON(p, n) ((void)0)
#define WS_UNPOISON(p, n) ((void)0)
#endif

/* Lay out (or, with base NULL, measure) the workspace for a (B, T) batch. */
static size_t layout_workspace(lstm_model *m, int B, int T, char *base) {
    const lstm_config *c = &m->cfg;
    const size_t H = (size_t)c->hidden_size, L = (size_t)c->num_layers, V = (size_t)c->output_size;
    const size_t X0 = (size_t)m->X0, R = (size_t)B * T;
    const int dense = c->input_vocab == 0, drop = c->dropout > 0.0f;
    const int mse = c->head == LSTM_HEAD_MSE, last = c->last_step_only, gru = c->cell == LSTM_CELL_GRU;
    const size_t G = (size_t)lstm_gate_count(c) * H;
    const int rdrop = c->recurrent_dropout > 0.0f, proj = c->proj_size > 0;
    const size_t S = (size_t)lstm_state_size(c); /* the width of h: S <= H, so H bounds it */
    const size_t D = (size_t)lstm_directions(c), O = D * S, U = (size_t)lstm_unit_count(c);
    const int bidi = D == 2;
    /* the widest layer input (dense X0 or a layer's output) and a bound on it of D*H */
    const size_t XI = dense && X0 > O ? X0 : O, XH = dense && X0 > D * H ? X0 : D * H;
    size_t off = 0;
    if (base) WS_UNPOISON(base, m->ws.bytes); /* a new layout: earlier gaps may be pieces now */
    /* 16-byte aligned pieces: SIMD loads are fastest aligned */
#define TAKE(ptr, type, count)                                                   \
    do {                                                                         \
        if (base) (ptr) = (type *)(void *)(base + off);                          \
        off += (((size_t)(count) * sizeof(type)) + 15) & ~(size_t)15;           \
        if (base) WS_POISON(base + off, WS_REDZONE);                             \
        off += WS_REDZONE;                                                       \
    } while (0)
    lstm_workspace *w = &m->ws;
    /* first, so its place depends on B only: evaluation re-lays the rest for a short tail */
    TAKE(w->state, float, 2 * L * B * H);
    for (size_t u = 0; u < U; u++) {
        lstm_layer_acts *a = &w->layer[u];
        TAKE(a->h, float, (R + B) * H);
        TAKE(a->c, float, (R + B) * H);
        TAKE(a->gates, float, R * G);
        TAKE(a->tanh_c, float, R * H);
        /* a layer's output lives with its forward unit: h itself, or both directions side by side */
        const int first = u % D == 0;
        TAKE(a->cat, float, bidi && first ? R * O : 0);
        if (base && !bidi) a->cat = a->h + (size_t)B * S;
        if (base && !first) a->cat = NULL;
        if (drop && first) {
            TAKE(a->mask, float, R * O);
            TAKE(a->out, float, R * O);
        } else if (base) {
            a->mask = NULL;
            a->out = a->cat;
        }
        TAKE(a->rmask, float, rdrop ? (size_t)B * H : 0);
        if (base && !rdrop) a->rmask = NULL;
        TAKE(a->mh, float, proj ? R * H : 0);
        if (base && !proj) a->mh = NULL;
        const int ln = c->layer_norm;
        TAKE(a->ln_xg, float, ln ? R * G : 0);
        TAKE(a->ln_rg, float, ln ? R * 4 : 0);
        TAKE(a->ln_xc, float, ln ? R * H : 0);
        TAKE(a->ln_rc, float, ln ? R : 0);
        if (base && !ln) a->ln_xg = a->ln_rg = a->ln_xc = a->ln_rc = NULL;
    }
    TAKE(w->x, float, dense ? R * X0 : 0);
    TAKE(w->tokens, int32_t, R);
    TAKE(w->targets, int32_t, R);
    TAKE(w->logits, float, R * V);
    TAKE(w->dgates, float, R * G);
    TAKE(w->dout, float, R * XH);
    TAKE(w->dc, float, (size_t)B * H);
    TAKE(w->dx, float, dense ? R * X0 : 0);
    TAKE(w->bias, float, c->layer_norm ? G + H : G); /* layer norm: backward scratch too */
    TAKE(w->dgT, float, G * R);
    TAKE(w->xT, float, XH * R);
    TAKE(w->whhT, float, H * G);
    /* wihT: W_ih transposed (X, G), and for token models the (G, X0) embedding gradient */
    TAKE(w->wihT, float, (X0 > D * H ? X0 : D * H) * G);
    TAKE(w->dembed, float, dense ? 0 : X0 * G);
    /* the task heads only: the plain model's workspace is unchanged */
    TAKE(w->values, float, mse ? (last ? (size_t)B : R) * V : 0);
    TAKE(w->last, float, last ? (size_t)B * O : 0);
    if (base && !mse) w->values = NULL;
    if (base && !last) w->last = NULL;
    TAKE(w->hm, float, rdrop ? (size_t)B * H : 0);
    if (base && !rdrop) w->hm = NULL;
    TAKE(w->gh, float, gru ? (size_t)B * G : 0);
    TAKE(w->dgh, float, gru ? R * G : 0);
    if (base && !gru) w->gh = w->dgh = NULL;
    TAKE(w->dm, float, proj ? (size_t)B * H : 0);
    if (base && !proj) w->dm = NULL;
    TAKE(w->xrev, float, bidi ? R * XI : 0);
    TAKE(w->tokrev, int32_t, bidi && !dense ? R : 0);
    TAKE(w->dbi, float, bidi ? 2 * R * S : 0);
    TAKE(w->dx2, float, bidi ? R * XI : 0);
    if (base && !bidi) w->xrev = w->dx2 = w->dbi = NULL;
    if (base && !(bidi && !dense)) w->tokrev = NULL;
#undef TAKE
    return off;
}

/* Make the workspace fit (B, T). On failure the old workspace is kept. */
static lstm_status workspace_for(lstm_model *m, int B, int T) {
    if (B < 1 || B > LSTM_MAX_BATCH)
        return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "batch size must be in [1, %d], got %d",
                         LSTM_MAX_BATCH, B);
    if (T < 1 || T > LSTM_MAX_STEPS)
        return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "sequence length must be in [1, %d], got %d",
                         LSTM_MAX_STEPS, T);
    if (m->ws.arena && m->ws.B == B && m->ws.T == T) return LSTM_OK;
    /* size in double first: (R * 4H) can overflow a 32-bit size_t */
    const double H = m->cfg.hidden_size, V = m->cfg.output_size, X0 = m->X0, R = (double)B * T;
    double approx = 4.0 * (lstm_unit_count(&m->cfg) * (R + B) * 10.0 * H + R * (V + 12.0 * H + 3.0 * X0 + 2.0) +
                           (X0 + 2.0 * H) * 4.0 * H + (m->cfg.head == LSTM_HEAD_MSE ? R * V : 0.0) +
                           (m->cfg.cell == LSTM_CELL_GRU ? 3.0 * H * (R + B) : 0.0));
    if (approx > (double)SIZE_MAX / 2)
        return lstm_fail(m, LSTM_ERR_OUT_OF_MEMORY,
                         "batch %d x %d needs about %.0f MB of activations, too much for this build",
                         B, T, approx / 1e6);
    size_t bytes = layout_workspace(m, B, T, NULL);
    if (bytes > m->ws.bytes) {
        void *arena = malloc(bytes);
        if (!arena)
            return lstm_fail(m, LSTM_ERR_OUT_OF_MEMORY,
                             "cannot allocate %zu bytes of activations for batch %d x %d", bytes, B, T);
        free(m->ws.arena);
        m->ws.arena = arena;
        m->ws.bytes = bytes;
    }
    layout_workspace(m, B, T, m->ws.arena);
    m->ws.B = B;
    m->ws.T = T;
    return LSTM_OK;
}

/* ---- forward ---- */

/* ---- the GRU cell (the LSTM cell is a kernel: kernels_scalar.c / kernels_wasmsimd.c) ---- */

void lstm_gru_cell_forward(const lstm_kernels *k, int B, int H, float *gi, const float *gh,
                           const float *h_prev, float *hn, float *h, int relu) {
    for (int b = 0; b < B; b++) {
        float *r = gi + (size_t)b * 3 * H, *z = r + H, *n = z + H;
        const float *q = gh + (size_t)b * 3 * H, *hp = h_prev + (size_t)b * H;
        float *hnb = hn + (size_t)b * H, *hb = h + (size_t)b * H;
        for (int j = 0; j < 2 * H; j++) r[j] += q[j]; /* r and z rows are contiguous */
        k->vec_sigmoid(2 * H, r, r);
        for (int j = 0; j < H; j++) {
            hnb[j] = q[2 * H + j];
            n[j] += r[j] * hnb[j]; /* the reset gate scales the recurrent product, bias included */
        }
        if (relu) for (int j = 0; j < H; j++) n[j] = n[j] > 0.0f ? n[j] : 0.0f;
        else k->vec_tanh(H, n, n);
        for (int j = 0; j < H; j++) hb[j] = n[j] + z[j] * (hp[j] - n[j]); /* (1-z) n + z h */
    }
}

/* Backward through the GRU cell for B rows. dh (B, H): gradient at h_t. Writes dgi (B, 3H)
 * (d loss / d (W_i x + b_i)) and dgh (B, 3H) (d loss / d (W_h h + b_h)); adds the direct
 * path z * dh into dh_prev unless it is NULL. */
static void gru_cell_backward(int B, int H, const float *gates, const float *hn, const float *h_prev,
                              const float *dh, float *dgi, float *dgh, float *dh_prev, int relu) {
    for (int b = 0; b < B; b++) {
        const size_t o = (size_t)b * 3 * H, ob = (size_t)b * H;
        const float *r = gates + o, *z = r + H, *n = z + H;
        for (int j = 0; j < H; j++) {
            const float d = dh[ob + j];
            const float dn = d * (1.0f - z[j]), dz = d * (h_prev[ob + j] - n[j]);
            const float dan = relu ? (n[j] > 0.0f ? dn : 0.0f) : dn * (1.0f - n[j] * n[j]);
            const float dar = dan * hn[ob + j] * r[j] * (1.0f - r[j]);
            const float daz = dz * z[j] * (1.0f - z[j]);
            dgi[o + j] = dar;
            dgi[o + H + j] = daz;
            dgi[o + 2 * H + j] = dan;
            dgh[o + j] = dar;
            dgh[o + H + j] = daz;
            dgh[o + 2 * H + j] = dan * r[j];
            if (dh_prev) dh_prev[ob + j] += d * z[j];
        }
    }
}

/* What W_hh multiplies at the step starting at row s: h_{t-1}, or with recurrent dropout
 * h_{t-1} * rmask in the workspace's scratch. */
static const float *recurrent_input(lstm_model *m, const lstm_layer_acts *a, int B, size_t s) {
    const size_t S = (size_t)lstm_state_size(&m->cfg), n = (size_t)B * S;
    const float *h = a->h + s * S;
    if (!a->rdrop) return h;
    for (size_t i = 0; i < n; i++) m->ws.hm[i] = h[i] * a->rmask[i];
    return m->ws.hm;
}

/* d loss / d h_{t-1} += dgates . W_hh (whhT: W_hh transposed), through the recurrent
 * dropout mask when there is one. */
static void recurrent_backward(lstm_model *m, const lstm_layer_acts *a, int B, const float *dgates,
                               float *dh_prev) {
    const int H = m->cfg.hidden_size, G = lstm_gate_count(&m->cfg) * H, S = lstm_state_size(&m->cfg);
    if (!a->rdrop) {
        m->k->gemm_nt(B, S, G, dgates, G, m->ws.whhT, G, dh_prev, S);
        return;
    }
    float *d = m->ws.hm;
    memset(d, 0, (size_t)B * S * sizeof(float));
    m->k->gemm_nt(B, S, G, dgates, G, m->ws.whhT, G, d, S);
    for (size_t i = 0; i < (size_t)B * S; i++) dh_prev[i] += d[i] * a->rmask[i];
}

/* ---- the general LSTM cell: peepholes, coupled input/forget gate, relu ----
 * Scalar loops: these variants are options, the plain LSTM keeps its SIMD kernel. Gate
 * offsets within a row of G: i 0, f H, g 2H, o 3H; with CIFG (no f rows) i 0, g H, o 2H. */

static inline float sigmoidf_(float x) { return 1.0f / (1.0f + expf(-x)); }
static inline float act_(float x, int relu) { return relu ? (x > 0.0f ? x : 0.0f) : tanhf(x); }
/* derivative of the activation, from its output y = act(x) */
static inline float dact_(float y, int relu) { return relu ? (y > 0.0f ? 1.0f : 0.0f) : 1.0f - y * y; }

void lstm_variant_cell_forward(const lstm_config *cfg, int B, int H, float *gates,
                               const float *c_prev, float *c, float *act_c, float *h,
                               const float *peep) {
    const int cifg = cfg->cifg, relu = cfg->activation == LSTM_ACTIVATION_RELU;
    const int G = lstm_gate_count(cfg) * H, og = cifg ? H : 2 * H, oo = cifg ? 2 * H : 3 * H;
    const float *pi = peep, *pf = peep && !cifg ? peep + H : NULL, *po = peep ? peep + (cifg ? H : 2 * H) : NULL;
    for (int b = 0; b < B; b++) {
        float *a = gates + (size_t)b * G;
        const size_t r = (size_t)b * H;
        for (int j = 0; j < H; j++) {
            const float cp = c_prev[r + j];
            const float i = sigmoidf_(a[j] + (pi ? pi[j] * cp : 0.0f));
            const float f = cifg ? 1.0f - i : sigmoidf_(a[H + j] + (pf ? pf[j] * cp : 0.0f));
            const float g = act_(a[og + j], relu);
            const float cn = f * cp + i * g;
            const float o = sigmoidf_(a[oo + j] + (po ? po[j] * cn : 0.0f)); /* o sees c_t */
            const float ac = act_(cn, relu);
            a[j] = i;
            if (!cifg) a[H + j] = f;
            a[og + j] = g;
            a[oo + j] = o;
            c[r + j] = cn;
            act_c[r + j] = ac;
            h[r + j] = o * ac;
        }
    }
}

/* Backward through the general cell. dc: in the gradient from step t+1, out the one to t-1;
 * the peephole gradients are added into dpeep. */
static void variant_cell_backward(const lstm_config *cfg, int B, int H, const float *gates,
                                  const float *c_prev, const float *c, const float *act_c,
                                  const float *dh, float *dc, float *dgates, const float *peep,
                                  float *dpeep) {
    const int cifg = cfg->cifg, relu = cfg->activation == LSTM_ACTIVATION_RELU;
    const int G = lstm_gate_count(cfg) * H, og = cifg ? H : 2 * H, oo = cifg ? 2 * H : 3 * H;
    const int pof = cifg ? H : 2 * H; /* offset of the o peephole row */
    for (int b = 0; b < B; b++) {
        const float *a = gates + (size_t)b * G;
        float *d = dgates + (size_t)b * G;
        const size_t r = (size_t)b * H;
        for (int j = 0; j < H; j++) {
            const float i = a[j], f = cifg ? 1.0f - i : a[H + j], g = a[og + j], o = a[oo + j];
            const float cp = c_prev[r + j], cn = c[r + j], ac = act_c[r + j];
            const float dao = dh[r + j] * ac * o * (1.0f - o);
            float dct = dc[r + j] + dh[r + j] * o * dact_(ac, relu);
            if (peep) dct += dao * peep[pof + j];
            const float df = dct * cp;
            const float di = dct * g - (cifg ? df : 0.0f); /* CIFG: f = 1 - i */
            const float dai = di * i * (1.0f - i);
            const float daf = cifg ? 0.0f : df * f * (1.0f - f);
            d[j] = dai;
            if (!cifg) d[H + j] = daf;
            d[og + j] = dct * i * dact_(g, relu);
            d[oo + j] = dao;
            float dcp = dct * f;
            if (peep) {
                dcp += dai * peep[j] + (cifg ? 0.0f : daf * peep[H + j]);
                dpeep[j] += dai * cp;
                if (!cifg) dpeep[H + j] += daf * cp;
                dpeep[pof + j] += dao * cn;
            }
            dc[r + j] = dcp;
        }
    }
}

/* ---- the layer-normalised LSTM cell (scalar C, like the variants) ---- */

#define LN_EPS 1e-5f /* inside the square root, as PyTorch's LayerNorm */

/* Normalise x (n) in place to zero mean and unit variance; returns 1/std. */
static float ln_normalise(float *x, int n) {
    double mean = 0.0, var = 0.0;
    for (int j = 0; j < n; j++) mean += x[j];
    mean /= n;
    for (int j = 0; j < n; j++) var += ((double)x[j] - mean) * ((double)x[j] - mean);
    const float rstd = (float)(1.0 / sqrt(var / n + LN_EPS));
    for (int j = 0; j < n; j++) x[j] = (float)(((double)x[j] - mean) * rstd);
    return rstd;
}

/* d loss / d x of x_hat = (x - mean) * rstd, from dxh = d loss / d x_hat, written into dx */
static void ln_backward(const float *xhat, const float *dxh, float rstd, int n, float *dx) {
    double m1 = 0.0, m2 = 0.0;
    for (int j = 0; j < n; j++) m1 += dxh[j], m2 += (double)dxh[j] * xhat[j];
    m1 /= n;
    m2 /= n;
    for (int j = 0; j < n; j++) dx[j] = (float)(rstd * (dxh[j] - m1 - xhat[j] * m2));
}

void lstm_ln_cell_forward(int B, int H, float *gates, const float *c_prev, float *c, float *tanh_c,
                          float *h, const float *ln_g, const float *ln_c, float *xg, float *rg,
                          float *xc, float *rc) {
    const int G = 4 * H;
    for (int b = 0; b < B; b++) {
        float *a = gates + (size_t)b * G;
        const size_t r = (size_t)b * H;
        for (int k = 0; k < 4; k++) {
            const float rs = ln_normalise(a + k * H, H);
            if (xg) {
                memcpy(xg + (size_t)b * G + k * H, a + k * H, (size_t)H * sizeof(float));
                rg[(size_t)b * 4 + k] = rs;
            }
        }
        for (int j = 0; j < G; j++) a[j] = ln_g[j] * a[j] + ln_g[G + j];
        for (int j = 0; j < H; j++) {
            const float i = sigmoidf_(a[j]), f = sigmoidf_(a[H + j]);
            const float g = tanhf(a[2 * H + j]), o = sigmoidf_(a[3 * H + j]);
            a[j] = i, a[H + j] = f, a[2 * H + j] = g, a[3 * H + j] = o;
            c[r + j] = f * c_prev[r + j] + i * g; /* read before written: c may alias c_prev */
        }
        const float rs = ln_normalise(c + r, H);
        if (xc) {
            memcpy(xc + r, c + r, (size_t)H * sizeof(float));
            rc[b] = rs;
        }
        for (int j = 0; j < H; j++) {
            c[r + j] = ln_c[j] * c[r + j] + ln_c[H + j];
            tanh_c[r + j] = tanhf(c[r + j]);
            h[r + j] = a[3 * H + j] * tanh_c[r + j];
        }
    }
}

/* Backward through the layer-normalised cell for B rows (scratch: (5H) floats). dc: in the
 * gradient at c_t from step t+1, out the one at c_{t-1}. Gain/bias gradients are added. */
static void ln_cell_backward(int B, int H, const float *gates, const float *c_prev, const float *tanh_c,
                             const float *xg, const float *rg, const float *xc, const float *rc,
                             const float *ln_g, const float *ln_c, const float *dh, float *dc,
                             float *dgates, float *dln_g, float *dln_c, float *scratch) {
    const int G = 4 * H;
    float *dy = scratch, *dxh = scratch + G; /* (G) d/d post-norm gates; (H) */
    for (int b = 0; b < B; b++) {
        const float *a = gates + (size_t)b * G, *x = xg + (size_t)b * G;
        const size_t r = (size_t)b * H;
        /* the cell norm: d loss / d c_t, then through c_t = gain * xc + bias */
        for (int j = 0; j < H; j++) {
            const float o = a[3 * H + j], tc = tanh_c[r + j];
            const float dct = dc[r + j] + dh[r + j] * o * (1.0f - tc * tc);
            dy[3 * H + j] = dh[r + j] * tc * o * (1.0f - o);
            dln_c[j] += dct * xc[r + j];
            dln_c[H + j] += dct;
            dxh[j] = dct * ln_c[j];
        }
        float *dcr = dc + r; /* d loss / d (f c_{t-1} + i g), then the gradient to c_{t-1} */
        ln_backward(xc + r, dxh, rc[b], H, dcr);
        for (int j = 0; j < H; j++) {
            const float i = a[j], f = a[H + j], g = a[2 * H + j], d = dcr[j];
            dy[j] = d * g * i * (1.0f - i);
            dy[H + j] = d * c_prev[r + j] * f * (1.0f - f);
            dy[2 * H + j] = d * i * (1.0f - g * g);
            dcr[j] = d * f;
        }
        /* the gate norms */
        float *dg = dgates + (size_t)b * G;
        for (int j = 0; j < G; j++) {
            dln_g[j] += dy[j] * x[j];
            dln_g[G + j] += dy[j];
            dy[j] *= ln_g[j];
        }
        for (int k = 0; k < 4; k++) ln_backward(x + k * H, dy + k * H, rg[(size_t)b * 4 + k], H, dg + k * H);
    }
}

/* One unit (a layer, or one direction of it) over T steps. x: (T*B, X) input rows (dense)
 * or NULL with tokens (T*B ids, layer 0 only). */
static void layer_forward(lstm_model *m, int l, int B, int T, const float *x, int X,
                          const int32_t *tokens) {
    const lstm_kernels *k = m->k;
    const int gru = m->cfg.cell == LSTM_CELL_GRU, variant = lstm_variant_cell(&m->cfg);
    const int H = m->cfg.hidden_size, G = lstm_gate_count(&m->cfg) * H, S = lstm_state_size(&m->cfg);
    const size_t R = (size_t)B * T;
    const lstm_layer_tensors *p = &m->p.layer[l];
    lstm_layer_acts *a = &m->ws.layer[l];
    /* pre-activations of all steps: b_ih + b_hh + W_ih x_t (GRU: b_ih + W_ih x_t, since
     * b_hn sits inside the reset gate's product) */
    float *bias = m->ws.bias;
    for (int j = 0; j < G; j++) bias[j] = gru ? p->b_ih[j] : p->b_ih[j] + p->b_hh[j];
    if (tokens) {
        /* one-hot input: W_ih x is column `token` of W_ih, a row of the transposed copy */
        lstm_embed_refresh(m);
        for (size_t r = 0; r < R; r++) {
            float *g = a->gates + r * G;
            /* units 0 and 1 (the directions of layer 0) each have their table */
            const float *e = m->embed + ((size_t)l * m->X0 + (size_t)tokens[r]) * G;
            for (int j = 0; j < G; j++) g[j] = bias[j] + e[j];
        }
    } else {
        for (size_t r = 0; r < R; r++) memcpy(a->gates + r * G, bias, (size_t)G * sizeof(float));
        k->gemm_nt((int)R, G, X, x, X, p->w_ih, X, a->gates, G);
    }
    if (gru) {
        float *gh = m->ws.gh;
        for (int t = 0; t < T; t++) {
            const size_t s = (size_t)t * B;
            for (int b = 0; b < B; b++) memcpy(gh + (size_t)b * G, p->b_hh, (size_t)G * sizeof(float));
            k->gemm_nt(B, G, H, recurrent_input(m, a, B, s), H, p->w_hh, H, gh, G);
            lstm_gru_cell_forward(k, B, H, a->gates + s * G, gh, a->h + s * H, a->tanh_c + s * H,
                                  a->h + (s + B) * H, m->cfg.activation == LSTM_ACTIVATION_RELU);
        }
        return;
    }
    for (int t = 0; t < T; t++) {
        const size_t s = (size_t)t * B;
        float *gates = a->gates + s * G;
        k->gemm_nt(B, G, S, recurrent_input(m, a, B, s), S, p->w_hh, S, gates, G);
        /* with a projection the cell's o * tanh(c) goes to mh, and h = mh . W_hr^T */
        float *cell_h = p->w_hr ? a->mh + s * H : a->h + (s + B) * H;
        if (p->ln_g)
            lstm_ln_cell_forward(B, H, gates, a->c + s * H, a->c + (s + B) * H, a->tanh_c + s * H,
                                 cell_h, p->ln_g, p->ln_c, a->ln_xg + s * G, a->ln_rg + s * 4,
                                 a->ln_xc + s * H, a->ln_rc + s);
        else if (variant)
            lstm_variant_cell_forward(&m->cfg, B, H, gates, a->c + s * H, a->c + (s + B) * H,
                                      a->tanh_c + s * H, cell_h, p->peep);
        else
            k->lstm_cell_forward(B, H, gates, a->c + s * H, a->c + (s + B) * H, a->tanh_c + s * H,
                                 cell_h);
        if (p->w_hr) {
            float *h = a->h + (s + B) * S;
            memset(h, 0, (size_t)B * S * sizeof(float));
            k->gemm_nt(B, S, H, cell_h, H, p->w_hr, H, h, S);
        }
    }
}

/* Inverted dropout on a layer's output (a: its forward unit): out = cat * mask, mask in
 * {0, 1/(1-p)}. */
static void layer_dropout(lstm_model *m, lstm_layer_acts *a, int B, int T, uint64_t *rng) {
    const size_t n = (size_t)B * T * lstm_output_width(&m->cfg);
    const float p = m->cfg.dropout, keep = 1.0f / (1.0f - p);
    const float *h = a->cat;
    for (size_t i = 0; i < n; i++) {
        a->mask[i] = rng_uniform(rng) < p ? 0.0f : keep;
        a->out[i] = h[i] * a->mask[i];
    }
}

/* Load each unit's initial h and c from state (2, L, B, H), or zeros if state is NULL.
 * Units are layers whenever a state is given: bidirectional models carry none. */
static void load_initial_state(lstm_model *m, int B, const float *state) {
    const int L = lstm_unit_count(&m->cfg);
    /* state (2, L, B, H): with a projection h uses the first B*S floats of its block */
    const size_t BH = (size_t)B * m->cfg.hidden_size, BS = (size_t)B * lstm_state_size(&m->cfg);
    for (int l = 0; l < L; l++) {
        lstm_layer_acts *a = &m->ws.layer[l];
        if (state) {
            memcpy(a->h, state + (size_t)l * BH, BS * sizeof(float));
            memcpy(a->c, state + ((size_t)L + l) * BH, BH * sizeof(float));
        } else {
            memset(a->h, 0, BS * sizeof(float));
            memset(a->c, 0, BH * sizeof(float));
        }
    }
}

/* Each layer's state after the last valid step of every sequence into state (2, L, B, H). */
static void store_final_state(lstm_model *m, int B, int T, float *state) {
    const int L = m->cfg.num_layers, H = m->cfg.hidden_size, S = lstm_state_size(&m->cfg);
    const size_t BH = (size_t)B * H, BS = (size_t)B * S;
    const int32_t *lengths = m->ws.lengths;
    for (int l = 0; l < L; l++) {
        const lstm_layer_acts *a = &m->ws.layer[l];
        float *h = state + (size_t)l * BH, *c = state + ((size_t)L + l) * BH;
        if (!lengths) {
            memcpy(h, a->h + (size_t)T * BS, BS * sizeof(float));
            memcpy(c, a->c + (size_t)T * BH, BH * sizeof(float));
            continue;
        }
        for (int b = 0; b < B; b++) {
            const size_t row = (size_t)lengths[b] * B + b; /* row t holds the state after t steps */
            memcpy(h + (size_t)b * S, a->h + row * S, (size_t)S * sizeof(float));
            memcpy(c + (size_t)b * H, a->c + row * H, (size_t)H * sizeof(float));
        }
    }
}

/* Valid steps of sequence b: its length, or all T. */
static int seq_len(const lstm_workspace *w, int b, int T) { return w->lengths ? w->lengths[b] : T; }

/* Rows the head scores: B (last_step_only) or T*B, time-major. */
static size_t head_rows(const lstm_model *m, int B, int T) {
    return m->cfg.last_step_only ? (size_t)B : (size_t)B * T;
}

/* Is head row r a real step rather than padding? */
static int row_valid(const lstm_model *m, int B, size_t r) {
    return m->cfg.last_step_only || !m->ws.lengths || (int)(r / (size_t)B) < m->ws.lengths[r % (size_t)B];
}

/* The reverse unit's row for time-major row r = t*B + b: step length-1-t of the same
 * sequence for a valid step, r itself for padding (which is read after every valid step, so
 * it reaches no valid output). The map is its own inverse. */
static size_t reverse_row(const lstm_workspace *w, int B, int T, size_t r) {
    const int t = (int)(r / (size_t)B), b = (int)(r % (size_t)B), len = seq_len(w, b, T);
    return t < len ? (size_t)(len - 1 - t) * B + b : r;
}

/* dst[reverse_row(r)] = src[r] for every row of n floats. */
static void reverse_rows(const lstm_workspace *w, int B, int T, const float *src, size_t n, float *dst) {
    for (size_t r = 0; r < (size_t)B * T; r++)
        memcpy(dst + reverse_row(w, B, T, r) * n, src + r * n, n * sizeof(float));
}

/* A layer's input as the reverse unit reads it: xrev or tokrev, each sequence reversed. */
static void reverse_input(lstm_model *m, int B, int T, const float *x, int X, const int32_t *tokens) {
    lstm_workspace *w = &m->ws;
    if (tokens)
        for (size_t r = 0; r < (size_t)B * T; r++) w->tokrev[reverse_row(w, B, T, r)] = tokens[r];
    else
        reverse_rows(w, B, T, x, (size_t)X, w->xrev);
}

/* Forward through all layers; the workspace must already hold the inputs (time-major) and
 * the initial state. rng NULL means evaluation (no dropout). */
static void forward_layers(lstm_model *m, int B, int T, uint64_t *rng) {
    const lstm_config *c = &m->cfg;
    const int S = lstm_state_size(c), L = c->num_layers, D = lstm_directions(c), O = D * S;
    const size_t R = (size_t)B * T;
    lstm_workspace *w = &m->ws;
    const int drop = rng && c->dropout > 0.0f;
    for (int l = 0; l < L; l++) {
        const int X = l == 0 ? m->X0 : O;
        const int32_t *tokens = l == 0 && c->input_vocab ? w->tokens : NULL;
        const float *x = l == 0 ? (tokens ? NULL : w->x) : w->layer[(l - 1) * D].out;
        for (int d = 0; d < D; d++) {
            lstm_layer_acts *ra = &w->layer[l * D + d];
            ra->rdrop = rng && c->recurrent_dropout > 0.0f;
            if (ra->rdrop) {
                /* variational: one mask per sequence for all T steps of the batch */
                const float p = c->recurrent_dropout, keep = 1.0f / (1.0f - p);
                for (size_t i = 0; i < (size_t)B * S; i++) ra->rmask[i] = rng_uniform(rng) < p ? 0.0f : keep;
            }
            if (d == 0) {
                layer_forward(m, l * D, B, T, x, X, tokens);
            } else {
                reverse_input(m, B, T, x, X, tokens);
                layer_forward(m, l * D + 1, B, T, tokens ? NULL : w->xrev, X, tokens ? w->tokrev : NULL);
            }
        }
        lstm_layer_acts *a = &w->layer[l * D];
        if (D == 2) {
            /* the output at step t: [forward h(t), reverse h at the reverse unit's row for t] */
            const float *hf = a->h + (size_t)B * S, *hr = w->layer[l * D + 1].h + (size_t)B * S;
            for (size_t r = 0; r < R; r++) {
                memcpy(a->cat + r * O, hf + r * S, (size_t)S * sizeof(float));
                memcpy(a->cat + r * O + S, hr + reverse_row(w, B, T, r) * S, (size_t)S * sizeof(float));
            }
        }
        if (drop) {
            layer_dropout(m, a, B, T, rng);
        } else if (a->mask) {
            memcpy(a->out, a->cat, R * O * sizeof(float));
        }
    }
}

/* The head's outputs of the scored rows into w->logits (rows, V); returns the row count.
 * last_step_only first gathers each sequence's top output at its last valid step (for the
 * reverse direction: its own last step, the sequence's first). */
static size_t head_forward(lstm_model *m, int B, int T) {
    const lstm_config *c = &m->cfg;
    const int S = lstm_state_size(c), D = lstm_directions(c), O = D * S, V = c->output_size;
    lstm_workspace *w = &m->ws;
    const float *top = w->layer[(c->num_layers - 1) * D].out;
    const size_t rows = head_rows(m, B, T);
    if (c->last_step_only) {
        for (int b = 0; b < B; b++) {
            float *dst = w->last + (size_t)b * O;
            memcpy(dst, top + ((size_t)(seq_len(w, b, T) - 1) * B + b) * O, (size_t)S * sizeof(float));
            if (D == 2) memcpy(dst + S, top + (size_t)b * O + S, (size_t)S * sizeof(float));
        }
        top = w->last;
    }
    for (size_t r = 0; r < rows; r++) memcpy(w->logits + r * V, m->p.b_out, (size_t)V * sizeof(float));
    m->k->gemm_nt((int)rows, V, O, top, O, m->p.w_out, O, w->logits, V);
    return rows;
}

/* Scored rows that are not padding. */
static size_t valid_rows(const lstm_model *m, int B, int T) {
    if (m->cfg.last_step_only || !m->ws.lengths) return head_rows(m, B, T);
    size_t n = 0;
    for (int b = 0; b < B; b++) n += (size_t)m->ws.lengths[b];
    return n;
}

/* Index of the largest of n values (the first on ties). */
static int argmax(const float *x, int n) {
    int best = 0;
    for (int j = 1; j < n; j++)
        if (x[j] > x[best]) best = j;
    return best;
}

/* Mean loss of the scored rows; w->logits becomes d loss / d outputs (zero on padding).
 * correct, if not NULL, counts the valid rows whose largest logit is the target. */
static double head_loss(lstm_model *m, int B, int T, size_t rows, size_t *correct) {
    const int V = m->cfg.output_size;
    lstm_workspace *w = &m->ws;
    const size_t n = valid_rows(m, B, T);
    if (m->cfg.head == LSTM_HEAD_MSE) {
        /* loss = sum (y - t)^2 / (n V), so d loss / d y = 2 (y - t) / (n V) */
        const double scale = 2.0 / ((double)n * V);
        double sum = 0.0;
        for (size_t r = 0; r < rows; r++) {
            float *y = w->logits + r * V;
            if (!row_valid(m, B, r)) {
                memset(y, 0, (size_t)V * sizeof(float));
                continue;
            }
            const float *t = w->values + r * V;
            for (int j = 0; j < V; j++) {
                double d = (double)y[j] - t[j];
                sum += d * d;
                y[j] = (float)(scale * d);
            }
        }
        return sum / ((double)n * V);
    }
    if (correct) {
        *correct = 0;
        for (size_t r = 0; r < rows; r++)
            if (row_valid(m, B, r) && argmax(w->logits + r * V, V) == w->targets[r]) (*correct)++;
    }
    const float scale = 1.0f / (float)n;
    if (n == rows) return m->k->softmax_xent((int)rows, V, w->logits, w->targets, scale) / (double)n;
    double sum = 0.0;
    for (size_t r = 0; r < rows; r++) {
        float *y = w->logits + r * V;
        if (row_valid(m, B, r)) sum += m->k->softmax_xent(1, V, y, w->targets + r, scale);
        else memset(y, 0, (size_t)V * sizeof(float));
    }
    return sum / (double)n;
}

/* Layers, head and loss; returns the mean loss (see head_loss). */
static double forward(lstm_model *m, int B, int T, uint64_t *rng, size_t *correct) {
    forward_layers(m, B, T, rng);
    size_t rows = head_forward(m, B, T);
    return head_loss(m, B, T, rows, correct);
}

/* ---- backward ---- */

/* Backward through unit u over T steps; its parameter gradients are added into m->grads.
 * dh (T*B, S): d loss / d h at every step; the gradient flowing back in time is added into it,
 * so it ends as each step's complete dh. x (T*B, X): the unit's input, or NULL with tokens
 * (layer 0 of a token model). dx, if not NULL, receives d loss / d x (T*B, X); it may be dh. */
static void unit_backward(lstm_model *m, int u, int B, int T, float *dh_all, const float *x, int X,
                          const int32_t *tokens, float *dx) {
    const lstm_kernels *k = m->k;
    const lstm_config *c = &m->cfg;
    const int H = c->hidden_size, S = lstm_state_size(c);
    const int G = lstm_gate_count(c) * H, gru = c->cell == LSTM_CELL_GRU;
    const int variant = lstm_variant_cell(c);
    const size_t R = (size_t)B * T;
    lstm_workspace *w = &m->ws;
    const lstm_layer_tensors *p = &m->p.layer[u];
    lstm_layer_tensors *g = &m->g.layer[u];
    lstm_layer_acts *a = &w->layer[u];
    /* backward in time; the gradient from beyond the batch is cut (truncated BPTT).
     * dh_{t-1} += dgates_t . W_hh, with W_hh transposed once for all T steps */
    k->transpose(G, S, p->w_hh, S, w->whhT, G);
    memset(w->dc, 0, (size_t)B * H * sizeof(float));
    for (int t = T - 1; t >= 0; t--) {
        const size_t s = (size_t)t * B;
        float *dh = dh_all + s * S;
        float *dgates = w->dgates + s * G;
        float *dh_prev = t > 0 ? dh - (size_t)B * S : NULL;
        if (gru) {
            /* dgh differs from dgates in the n rows: r scales the recurrent product */
            float *dgh = w->dgh + s * G;
            gru_cell_backward(B, H, a->gates + s * G, a->tanh_c + s * H, a->h + s * H, dh, dgates,
                              dgh, dh_prev, c->activation == LSTM_ACTIVATION_RELU);
            if (dh_prev) recurrent_backward(m, a, B, dgh, dh_prev);
            continue;
        }
        const float *dcell = dh; /* d loss / d (o * tanh(c)) */
        if (p->w_hr) {
            /* through the projection h = mh . W_hr^T: dmh = dh . W_hr */
            memset(w->dm, 0, (size_t)B * H * sizeof(float));
            k->gemm_nn(B, H, S, dh, S, p->w_hr, H, w->dm, H);
            dcell = w->dm;
        }
        if (p->ln_g)
            ln_cell_backward(B, H, a->gates + s * G, a->c + s * H, a->tanh_c + s * H, a->ln_xg + s * G,
                             a->ln_rg + s * 4, a->ln_xc + s * H, a->ln_rc + s, p->ln_g, p->ln_c, dcell,
                             w->dc, dgates, g->ln_g, g->ln_c, w->bias);
        else if (variant)
            variant_cell_backward(c, B, H, a->gates + s * G, a->c + s * H, a->c + s * H + (size_t)B * H,
                                  a->tanh_c + s * H, dcell, w->dc, dgates, p->peep, g->peep);
        else
            k->lstm_cell_backward(B, H, a->gates + s * G, a->c + s * H, a->tanh_c + s * H, dcell,
                                  w->dc, dgates);
        if (dh_prev) recurrent_backward(m, a, B, dgates, dh_prev);
    }
    /* weight gradients over all T*B rows at once, as dot products along the rows:
     * dW_hh = dgates^T . h[0..T-1] (the previous states), dW_ih = dgates^T . x
     * (GRU: dgh for W_hh and b_hh) */
    if (p->w_hr) {
        /* dW_hr = dh^T . mh over all rows: dh_all now holds every step's complete dh */
        k->transpose((int)R, S, dh_all, S, w->dgT, (int)R);
        k->transpose((int)R, H, a->mh, H, w->xT, (int)R);
        k->gemm_nt(S, H, (int)R, w->dgT, (int)R, w->xT, (int)R, g->w_hr, H);
    }
    const float *dgh = gru ? w->dgh : w->dgates;
    k->transpose((int)R, G, dgh, G, w->dgT, (int)R);
    k->transpose((int)R, S, a->h, S, w->xT, (int)R);
    if (a->rdrop) /* W_hh saw h * rmask: mask the transposed rows (xT[j][r], r = t*B + b) */
        for (int j = 0; j < S; j++)
            for (size_t r = 0; r < R; r++) w->xT[(size_t)j * R + r] *= a->rmask[(r % (size_t)B) * S + j];
    k->gemm_nt(G, S, (int)R, w->dgT, (int)R, w->xT, (int)R, g->w_hh, S);
    k->sum_rows((int)R, G, dgh, G, g->b_hh);
    if (gru) {
        k->sum_rows((int)R, G, w->dgates, G, g->b_ih);
        k->transpose((int)R, G, w->dgates, G, w->dgT, (int)R);
    } else {
        memcpy(g->b_ih, g->b_hh, (size_t)G * sizeof(float));
    }
    if (tokens) {
        /* one-hot input: add each row of dgates to its token's row of the transposed
         * gradient, then add that table, transposed back, into dW_ih */
        memset(w->dembed, 0, (size_t)X * G * sizeof(float));
        for (size_t r = 0; r < R; r++) {
            float *de = w->dembed + (size_t)tokens[r] * G;
            const float *dg = w->dgates + r * G;
            for (int j = 0; j < G; j++) de[j] += dg[j];
        }
        k->transpose(X, G, w->dembed, G, w->wihT, X); /* wihT as scratch: (G, X) */
        for (size_t i = 0; i < (size_t)G * X; i++) g->w_ih[i] += w->wihT[i];
    } else {
        k->transpose((int)R, X, x, X, w->xT, (int)R);
        k->gemm_nt(G, X, (int)R, w->dgT, (int)R, w->xT, (int)R, g->w_ih, X);
    }
    if (dx) {
        /* d loss / d x = dgates . W_ih */
        k->transpose(G, X, p->w_ih, X, w->wihT, G);
        memset(dx, 0, R * X * sizeof(float));
        k->gemm_nt((int)R, X, G, w->dgates, G, w->wihT, G, dx, X);
    }
}

/* Accumulate every parameter gradient of the batch into m->grads (zeroed here). */
static void backward(lstm_model *m, int B, int T, int want_dx) {
    const lstm_kernels *k = m->k;
    const lstm_config *c = &m->cfg;
    const int V = c->output_size, L = c->num_layers, S = lstm_state_size(c);
    const int D = lstm_directions(c), O = D * S;
    const size_t R = (size_t)B * T;
    lstm_workspace *w = &m->ws;
    memset(m->grads, 0, m->n_params * sizeof(float));

    /* head: logits = top . W_out^T + b_out; w->dout receives d loss / d top (R, O) */
    if (c->last_step_only) {
        /* B scored rows, one per sequence: their gradient goes to that step's output only
         * (bidirectional: the reverse half to the sequence's first step) */
        k->gemm_tn(V, O, B, w->logits, V, w->last, O, m->g.w_out, O);
        k->sum_rows(B, V, w->logits, V, m->g.b_out);
        memset(w->last, 0, (size_t)B * O * sizeof(float));
        k->gemm_nn(B, O, V, w->logits, V, m->p.w_out, O, w->last, O);
        memset(w->dout, 0, R * O * sizeof(float));
        for (int b = 0; b < B; b++) {
            const float *dl = w->last + (size_t)b * O;
            memcpy(w->dout + ((size_t)(seq_len(w, b, T) - 1) * B + b) * O, dl, (size_t)S * sizeof(float));
            if (D == 2) memcpy(w->dout + (size_t)b * O + S, dl + S, (size_t)S * sizeof(float));
        }
    } else {
        const float *top = w->layer[(L - 1) * D].out;
        k->gemm_tn(V, O, (int)R, w->logits, V, top, O, m->g.w_out, O);
        k->sum_rows((int)R, V, w->logits, V, m->g.b_out);
        memset(w->dout, 0, R * O * sizeof(float));
        k->gemm_nn((int)R, O, V, w->logits, V, m->p.w_out, O, w->dout, O);
    }

    for (int l = L - 1; l >= 0; l--) {
        const lstm_layer_acts *a = &w->layer[l * D];
        const int X = l == 0 ? m->X0 : O;
        const int32_t *tokens = l == 0 && c->input_vocab ? w->tokens : NULL;
        const float *x = l == 0 ? (tokens ? NULL : w->x) : w->layer[(l - 1) * D].out;
        /* the gradient at this layer's input: wanted above layer 0, and at 0 for dense inputs */
        float *dx = l > 0 || (want_dx && !tokens) ? w->dout : NULL;
        /* dout holds d loss / d out; through the dropout mask to d loss / d cat */
        if (a->mask)
            for (size_t i = 0; i < R * O; i++) w->dout[i] *= a->mask[i];
        if (D == 1) {
            unit_backward(m, l, B, T, w->dout, x, X, tokens, dx);
            continue;
        }
        /* bidirectional: split d loss / d cat into each unit's dh, the reverse one in its own
         * time order; then each unit, and the input gradients summed in the forward order */
        float *dhf = w->dbi, *dhr = w->dbi + R * S;
        for (size_t r = 0; r < R; r++) {
            memcpy(dhf + r * S, w->dout + r * O, (size_t)S * sizeof(float));
            memcpy(dhr + reverse_row(w, B, T, r) * S, w->dout + r * O + S, (size_t)S * sizeof(float));
        }
        reverse_input(m, B, T, x, X, tokens);
        unit_backward(m, l * D, B, T, dhf, x, X, tokens, dx);
        unit_backward(m, l * D + 1, B, T, dhr, tokens ? NULL : w->xrev, X, tokens ? w->tokrev : NULL,
                      dx ? w->dx2 : NULL);
        if (dx)
            for (size_t r = 0; r < R; r++) {
                float *d = dx + reverse_row(w, B, T, r) * X;
                const float *e = w->dx2 + r * X;
                for (int j = 0; j < X; j++) d[j] += e[j];
            }
    }
    if (want_dx && !c->input_vocab) {
        /* time-major to the caller's batch-first layout */
        const size_t X0 = (size_t)m->X0;
        for (int t = 0; t < T; t++)
            for (int b = 0; b < B; b++)
                memcpy(w->dx + ((size_t)b * T + t) * X0, w->dout + ((size_t)t * B + b) * X0,
                       X0 * sizeof(float));
    }
}

/* ---- inputs ---- */

static lstm_status check_ids(lstm_model *m, const int32_t *ids, size_t n, int32_t limit,
                             const char *what) {
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= limit)
            return lstm_fail(m, LSTM_ERR_TOKEN_RANGE, "%s[%zu] = %d is outside [0, %d)", what, i,
                             ids[i], limit);
    return LSTM_OK;
}

/* Validate a batch-first batch and copy it, time-major, into the workspace. Targets are
 * read (and must be present) only with need_targets, and only at valid steps. */
static lstm_status load_batch(lstm_model *m, const lstm_batch *bt, int need_targets) {
    if (!bt) return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "batch is NULL");
    lstm_status st = workspace_for(m, bt->batch, bt->steps);
    if (st != LSTM_OK) return st;
    const int B = bt->batch, T = bt->steps, V = m->cfg.output_size;
    const int last = m->cfg.last_step_only, mse = m->cfg.head == LSTM_HEAD_MSE;
    const size_t R = (size_t)B * T, rows = last ? (size_t)B : R;
    const int32_t *lengths = bt->lengths;
    if (lengths)
        for (int b = 0; b < B; b++)
            if (lengths[b] < 1 || lengths[b] > T)
                return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "lengths[%d] = %d is outside [1, %d]",
                                 b, lengths[b], T);
    if (need_targets) {
        if (mse && !bt->target_values)
            return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "batch.target_values is NULL (mse head)");
        if (!mse && !bt->targets)
            return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "batch.targets is NULL (softmax head)");
        for (size_t i = 0; i < rows; i++) {
            /* batch-first row i is step i % T of sequence i / T (or sequence i, last step) */
            if (!last && lengths && (int)(i % (size_t)T) >= lengths[i / (size_t)T]) continue;
            if (mse) {
                for (int j = 0; j < V; j++)
                    if (!isfinite(bt->target_values[i * V + j]))
                        return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT,
                                         "target_values[%zu] is not finite", i * V + j);
            } else if (bt->targets[i] < 0 || bt->targets[i] >= V) {
                return lstm_fail(m, LSTM_ERR_TOKEN_RANGE, "targets[%zu] = %d is outside [0, %d)", i,
                                 bt->targets[i], V);
            }
        }
    }
    if (m->cfg.input_vocab) {
        if (!bt->tokens)
            return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "batch.tokens is NULL (token model)");
        st = check_ids(m, bt->tokens, R, m->cfg.input_vocab, "tokens");
        if (st != LSTM_OK) return st;
    } else {
        if (!bt->inputs)
            return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "batch.inputs is NULL (dense model)");
        for (size_t i = 0; i < R * (size_t)m->X0; i++)
            if (!isfinite(bt->inputs[i]))
                return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "inputs[%zu] is not finite", i);
    }
    lstm_workspace *w = &m->ws;
    w->lengths = lengths;
    const size_t X0 = (size_t)m->X0;
    const int copy_ids = need_targets && !mse;
    for (int b = 0; b < B; b++) {
        for (int t = 0; t < T; t++) {
            size_t src = (size_t)b * T + t, dst = (size_t)t * B + b;
            if (copy_ids && !last) w->targets[dst] = bt->targets[src];
            if (need_targets && mse && !last)
                memcpy(w->values + dst * V, bt->target_values + src * V, (size_t)V * sizeof(float));
            if (m->cfg.input_vocab) w->tokens[dst] = bt->tokens[src];
            else memcpy(w->x + dst * X0, bt->inputs + src * X0, X0 * sizeof(float));
        }
        if (copy_ids && last) w->targets[b] = bt->targets[b];
        if (need_targets && mse && last)
            memcpy(w->values + (size_t)b * V, bt->target_values + (size_t)b * V, (size_t)V * sizeof(float));
    }
    return LSTM_OK;
}

/* The carried state for batch size B (zeros if it was for another size, and always for a
 * bidirectional model, whose reverse units start at each sequence's end). */
static const float *carried_state(lstm_model *m, int B) {
    return m->carry && m->carry_B == B && !m->cfg.bidirectional ? m->carry : NULL;
}

lstm_status lstm_compute_loss(lstm_model *m, const lstm_batch *bt, double *loss) {
    if (!m) return LSTM_ERR_INVALID_ARGUMENT;
    lstm_status st = load_batch(m, bt, 1);
    if (st != LSTM_OK) return st;
    load_initial_state(m, bt->batch, carried_state(m, bt->batch));
    double mean = forward(m, bt->batch, bt->steps, NULL, NULL);
    if (loss) *loss = mean;
    return LSTM_OK;
}

lstm_status lstm_compute_gradients(lstm_model *m, const lstm_batch *bt, double *loss) {
    if (!m) return LSTM_ERR_INVALID_ARGUMENT;
    lstm_status st = load_batch(m, bt, 1);
    if (st != LSTM_OK) return st;
    load_initial_state(m, bt->batch, carried_state(m, bt->batch));
    uint64_t rng = m->dropout_rng; /* a copy: the same masks on every call */
    double mean = forward(m, bt->batch, bt->steps, &rng, NULL);
    backward(m, bt->batch, bt->steps, 1);
    if (loss) *loss = mean;
    return LSTM_OK;
}

const float *lstm_input_gradients(const lstm_model *m) {
    return m && !m->cfg.input_vocab ? m->ws.dx : NULL;
}

/* Run the optimizer over the arena for step number `step` (1-based); see the kernels. */
static int run_optimizer(lstm_model *m, uint64_t step, int commit) {
    const lstm_kernels *k = m->k;
    const lstm_optimizer *o = &m->opt;
    float *mom = m->moments;
    switch (o->type) {
    case LSTM_OPTIMIZER_SGD:
        return k->sgd_update(m->n_params, m->params, m->grads, mom, o->learning_rate, o->momentum,
                             o->weight_decay, commit);
    case LSTM_OPTIMIZER_RMSPROP:
        return k->rmsprop_update(m->n_params, m->params, m->grads, mom, o->learning_rate, o->beta2,
                                 o->epsilon, o->weight_decay, commit);
    default: {
        const float bc1 = (float)(1.0 - pow((double)o->beta1, (double)step));
        const float bc2 = (float)(1.0 - pow((double)o->beta2, (double)step));
        return k->adam_update(m->n_params, m->params, m->grads, mom, mom + m->n_params,
                              o->learning_rate, o->beta1, o->beta2, o->epsilon, o->weight_decay,
                              bc1, bc2, commit);
    }
    }
}

/* Clip and apply the optimizer to the gradients in m->grads: a skip reason, or
 * LSTM_SKIP_NONE once applied. The update is computed once without writing, so one that
 * would overflow leaves the parameters and moments as they were. */
static lstm_skip_reason apply_update(lstm_model *m) {
    const lstm_kernels *k = m->k;
    const double norm = sqrt(k->sum_squares(m->n_params, m->grads));
    if (!isfinite(norm)) return LSTM_SKIP_GRADIENT;
    if (m->opt.clip_norm > 0.0f && norm > m->opt.clip_norm)
        k->scale(m->n_params, m->grads, (float)(m->opt.clip_norm / norm));
    if (!run_optimizer(m, m->step + 1, 0)) return LSTM_SKIP_UPDATE;
    run_optimizer(m, m->step + 1, 1);
    m->step++;
    m->param_version++;
    return LSTM_SKIP_NONE;
}

static lstm_status ensure_optimizer(lstm_model *m) {
    if (m->has_opt) return LSTM_OK;
    lstm_optimizer o;
    lstm_optimizer_defaults(&o);
    return lstm_set_optimizer(m, &o);
}

/* The carried state as it was before the current run of skipped steps: the block after the
 * live one (see lstm_carry_resize). */
static float *carry_before_skips(lstm_model *m) {
    return m->carry + (size_t)2 * m->cfg.num_layers * m->carry_cap * m->cfg.hidden_size;
}

static size_t carry_floats(const lstm_model *m) {
    return (size_t)2 * m->cfg.num_layers * m->carry_B * m->cfg.hidden_size;
}

static const char *skip_text(lstm_skip_reason r) {
    switch (r) {
    case LSTM_SKIP_LOSS: return "the loss was not finite";
    case LSTM_SKIP_GRADIENT: return "a gradient was not finite";
    case LSTM_SKIP_UPDATE: return "the update would have made a parameter or moment non-finite";
    case LSTM_SKIP_LOSS_SPIKE: return "the loss was above the guard's limit";
    default: return "applied";
    }
}

/* Record a skipped step (its batch already consumed). The K-th in a row puts back the
 * stream position, dropout generator and carried state from before the first, and fails. */
static lstm_status skip_step(lstm_model *m, lstm_skip_reason why, double loss, uint64_t rng_before) {
    if (m->skip_streak == 0) {
        m->streak_pos = m->stream_pos;
        m->streak_rng = rng_before;
        if (m->carry_B) memcpy(carry_before_skips(m), m->carry, carry_floats(m) * sizeof(float));
    }
    m->skip_streak++;
    m->skipped++;
    m->skip_reason = why;
    if (m->skip_streak < m->guard.max_skips) return LSTM_OK;
    const int32_t n = m->skip_streak;
    m->stream_pos = m->streak_pos;
    m->dropout_rng = m->streak_rng;
    if (m->carry_B) memcpy(m->carry, carry_before_skips(m), carry_floats(m) * sizeof(float));
    m->skip_streak = 0;
    char shown[40] = "";
    if (!isnan(loss) || why == LSTM_SKIP_LOSS) snprintf(shown, sizeof shown, " (loss %g)", loss);
    return lstm_fail(m, LSTM_ERR_NON_FINITE,
                     "%d training steps in a row were skipped, the last (after step %llu) because %s%s; "
                     "the model is as it was before the first of them: lower the learning rate, "
                     "clip gradients, or check the data",
                     n, (unsigned long long)m->step, skip_text(why), shown);
}

/* An applied step: the streak ends and its loss joins the running mean, an average of all
 * losses so far while there are fewer than LSTM_LOSS_WINDOW, then a moving one over about
 * that many. */
static void accept_step(lstm_model *m, double loss) {
    m->skip_streak = 0;
    m->skip_reason = LSTM_SKIP_NONE;
    if (m->loss_count < LSTM_LOSS_WINDOW) m->loss_count++;
    m->loss_mean += (loss - m->loss_mean) / m->loss_count;
}

/* Is the loss guard on, with a mean to compare with, and the loss above its limit? */
static int loss_spike(const lstm_model *m, double loss) {
    return m->guard.loss_factor > 0.0f && m->loss_count >= LSTM_LOSS_WARMUP &&
           loss > m->guard.loss_factor * m->loss_mean;
}

/* One step on the batch already in the workspace. The batch's dropout masks are used up
 * whether the step is applied or skipped; the state is carried on only when applied. */
static lstm_status train_loaded(lstm_model *m, int B, int T, float *loss) {
    const int carry = !m->cfg.bidirectional;
    lstm_status st = ensure_optimizer(m);
    if (st == LSTM_OK && carry) st = lstm_carry_resize(m, B);
    if (st != LSTM_OK) return st;
    load_initial_state(m, B, carry ? m->carry : NULL);
    const uint64_t rng_before = m->dropout_rng;
    /* the loss as reported, in float: a double loss above FLT_MAX is reported as infinity */
    const float mean = (float)forward(m, B, T, &m->dropout_rng, NULL);
    if (loss) *loss = mean;
    if (!isfinite(mean)) return skip_step(m, LSTM_SKIP_LOSS, mean, rng_before);
    if (loss_spike(m, mean)) return skip_step(m, LSTM_SKIP_LOSS_SPIKE, mean, rng_before);
    backward(m, B, T, 0);
    const lstm_skip_reason why = apply_update(m);
    if (why != LSTM_SKIP_NONE) return skip_step(m, why, mean, rng_before);
    accept_step(m, mean);
    if (carry) store_final_state(m, B, T, m->carry);
    return LSTM_OK;
}

lstm_status lstm_train_batch(lstm_model *m, const lstm_batch *bt, float *loss) {
    if (!m) return LSTM_ERR_INVALID_ARGUMENT;
    lstm_status st = load_batch(m, bt, 1);
    if (st != LSTM_OK) return st;
    return train_loaded(m, bt->batch, bt->steps, loss);
}

lstm_status lstm_apply_gradients(lstm_model *m) {
    if (!m) return LSTM_ERR_INVALID_ARGUMENT;
    lstm_status st = ensure_optimizer(m);
    if (st != LSTM_OK) return st;
    const lstm_skip_reason why = apply_update(m);
    if (why != LSTM_SKIP_NONE) return skip_step(m, why, NAN, m->dropout_rng);
    m->skip_streak = 0;
    m->skip_reason = LSTM_SKIP_NONE;
    return LSTM_OK;
}

lstm_status lstm_set_step_guard(lstm_model *m, const lstm_step_guard *g) {
    if (!m) return LSTM_ERR_INVALID_ARGUMENT;
    if (!g) return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "guard is NULL");
    if (g->max_skips < 1 || g->max_skips > 1000)
        return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "max_skips must be in [1, 1000], got %d", g->max_skips);
    if (!(g->loss_factor == 0.0f || (isfinite(g->loss_factor) && g->loss_factor > 1.0f && g->loss_factor <= 1e6f)))
        return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "loss_factor must be 0 (off) or in (1, 1e6], got %g",
                         (double)g->loss_factor);
    m->guard = *g;
    return LSTM_OK;
}

lstm_status lstm_get_step_guard(const lstm_model *m, lstm_step_guard *out) {
    if (!m || !out) return LSTM_ERR_INVALID_ARGUMENT;
    *out = m->guard;
    return LSTM_OK;
}

lstm_status lstm_reset_loss_mean(lstm_model *m) {
    if (!m) return LSTM_ERR_INVALID_ARGUMENT;
    m->loss_mean = 0.0;
    m->loss_count = 0;
    return LSTM_OK;
}

lstm_status lstm_get_training_stats(const lstm_model *m, lstm_training_stats *out) {
    if (!m || !out) return LSTM_ERR_INVALID_ARGUMENT;
    *out = (lstm_training_stats){m->step, m->skipped, m->skip_streak, m->skip_reason, m->loss_mean};
    return LSTM_OK;
}

/* Stripe geometry shared by training and evaluation on a stream. */
static lstm_status check_stream(lstm_model *m, const int32_t *stream, size_t length, int B, int T) {
    if (!stream && length > 0) return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "stream is NULL");
    if (B < 1 || B > LSTM_MAX_BATCH)
        return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "batch size must be in [1, %d], got %d",
                         LSTM_MAX_BATCH, B);
    if (T < 1 || T > LSTM_MAX_STEPS)
        return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "sequence length must be in [1, %d], got %d",
                         LSTM_MAX_STEPS, T);
    if (!m->cfg.input_vocab)
        return lstm_fail(m, LSTM_ERR_STATE, "training on a token stream needs a token model");
    if (m->cfg.bidirectional)
        return lstm_fail(m, LSTM_ERR_STATE,
                         "a bidirectional model reads whole sequences (lstm_train_batch, lstm_predict; fit and predict in JS), not a token stream");
    if (m->cfg.head != LSTM_HEAD_SOFTMAX || m->cfg.last_step_only)
        return lstm_fail(m, LSTM_ERR_STATE,
                         "a token stream needs the every-step softmax head (head 0, last_step_only 0)");
    if (length / (size_t)B < 2)
        return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT,
                         "stream of %zu tokens is too short for batch size %d (needs at least %d)",
                         length, B, 2 * B);
    int32_t limit = m->cfg.input_vocab < m->cfg.output_size ? m->cfg.input_vocab : m->cfg.output_size;
    return check_ids(m, stream, length, limit, "stream");
}

/* Copy T steps of every stripe starting at pos into the workspace, time-major. */
static void load_stream_batch(lstm_model *m, const int32_t *stream, size_t stripe, int B, int T,
                              size_t pos) {
    for (int b = 0; b < B; b++) {
        const int32_t *s = stream + (size_t)b * stripe + pos;
        for (int t = 0; t < T; t++) {
            m->ws.tokens[(size_t)t * B + b] = s[t];
            m->ws.targets[(size_t)t * B + b] = s[t + 1];
        }
    }
}

lstm_status lstm_train_stream(lstm_model *m, const int32_t *stream, size_t length, int32_t B,
                              int32_t T, int32_t n_steps, float *losses) {
    return lstm_train_stream_skips(m, stream, length, B, T, n_steps, losses, NULL);
}

lstm_status lstm_train_stream_skips(lstm_model *m, const int32_t *stream, size_t length, int32_t B,
                                    int32_t T, int32_t n_steps, float *losses, uint8_t *skips) {
    if (!m) return LSTM_ERR_INVALID_ARGUMENT;
    lstm_status st = check_stream(m, stream, length, B, T);
    if (st != LSTM_OK) return st;
    const size_t stripe = length / (size_t)B;
    if (stripe < (size_t)T + 1)
        return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT,
                         "stream of %zu tokens is too short for batch %d x sequence %d (needs %zu)",
                         length, B, T, (size_t)B * ((size_t)T + 1));
    if (n_steps < 0) return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "n_steps must be >= 0, got %d", n_steps);
    st = workspace_for(m, B, T);
    if (st != LSTM_OK) return st;
    m->ws.lengths = NULL;
    if (m->carry_B != B) m->stream_pos = 0;
    for (int32_t i = 0; i < n_steps; i++) {
        if (m->stream_pos + (size_t)T + 1 > stripe) {
            m->stream_pos = 0; /* a new epoch: the stripes restart, and so does the state */
            lstm_reset_state(m);
        }
        load_stream_batch(m, stream, stripe, B, T, (size_t)m->stream_pos);
        float loss = 0.0f;
        st = train_loaded(m, B, T, &loss);
        if (losses) losses[i] = loss;
        if (skips) skips[i] = (uint8_t)m->skip_reason;
        if (st != LSTM_OK) return st;
        m->stream_pos += (uint64_t)T; /* past the batch, whether its step was applied or skipped */
    }
    return LSTM_OK;
}

uint64_t lstm_stream_position(const lstm_model *m) { return m ? m->stream_pos : 0; }

lstm_status lstm_evaluate_stream(lstm_model *m, const int32_t *stream, size_t length, int32_t B,
                                 int32_t T, double *mean_loss) {
    if (!m) return LSTM_ERR_INVALID_ARGUMENT;
    if (!mean_loss) return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "mean_loss is NULL");
    lstm_status st = check_stream(m, stream, length, B, T);
    if (st != LSTM_OK) return st;
    const size_t stripe = length / (size_t)B;
    st = workspace_for(m, B, T);
    if (st != LSTM_OK) return st;
    m->ws.lengths = NULL;
    float *state = m->ws.state;
    memset(state, 0, (size_t)2 * m->cfg.num_layers * B * m->cfg.hidden_size * sizeof(float));
    double total = 0.0;
    size_t count = 0;
    for (size_t pos = 0; pos + 1 < stripe;) {
        int t_len = stripe - 1 - pos < (size_t)T ? (int)(stripe - 1 - pos) : T;
        /* a shorter last chunk: re-lay the workspace for it, within the same arena */
        if (t_len != m->ws.T) layout_workspace(m, B, t_len, m->ws.arena), m->ws.T = t_len;
        load_stream_batch(m, stream, stripe, B, t_len, pos);
        load_initial_state(m, B, state);
        total += forward(m, B, t_len, NULL, NULL) * ((double)B * t_len);
        store_final_state(m, B, t_len, state);
        count += (size_t)B * t_len;
        pos += (size_t)t_len;
    }
    *mean_loss = total / (double)count;
    return LSTM_OK;
}

lstm_status lstm_evaluate_batch(lstm_model *m, const lstm_batch *bt, double *loss, double *accuracy) {
    if (!m) return LSTM_ERR_INVALID_ARGUMENT;
    if (!loss) return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "loss is NULL");
    lstm_status st = load_batch(m, bt, 1);
    if (st != LSTM_OK) return st;
    const int B = bt->batch, T = bt->steps;
    load_initial_state(m, B, NULL);
    size_t correct = 0;
    const int softmax = m->cfg.head == LSTM_HEAD_SOFTMAX;
    *loss = forward(m, B, T, NULL, softmax ? &correct : NULL);
    if (accuracy) *accuracy = softmax ? (double)correct / (double)valid_rows(m, B, T) : NAN;
    return LSTM_OK;
}

lstm_status lstm_predict(lstm_model *m, const lstm_batch *bt, float *out, size_t capacity) {
    if (!m) return LSTM_ERR_INVALID_ARGUMENT;
    if (!out) return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "out is NULL");
    lstm_status st = load_batch(m, bt, 0);
    if (st != LSTM_OK) return st;
    const int B = bt->batch, T = bt->steps, V = m->cfg.output_size;
    const size_t need = head_rows(m, B, T) * (size_t)V;
    if (capacity < need)
        return lstm_fail(m, LSTM_ERR_BUFFER_TOO_SMALL, "out holds %zu floats, the batch needs %zu",
                         capacity, need);
    load_initial_state(m, B, NULL);
    forward_layers(m, B, T, NULL);
    const size_t rows = head_forward(m, B, T);
    for (size_t r = 0; r < rows; r++) {
        /* time-major row r = t*B + b to the caller's batch-first place */
        const size_t b = m->cfg.last_step_only ? r : r % (size_t)B;
        float *dst = out + (m->cfg.last_step_only ? b : b * T + r / (size_t)B) * V;
        const float *y = m->ws.logits + r * V;
        if (!row_valid(m, B, r)) {
            memset(dst, 0, (size_t)V * sizeof(float));
        } else if (m->cfg.head == LSTM_HEAD_MSE) {
            memcpy(dst, y, (size_t)V * sizeof(float));
        } else {
            const float top = y[argmax(y, V)]; /* subtract the max: exp() overflows above 88 */
            double sum = 0.0;
            for (int j = 0; j < V; j++) sum += dst[j] = expf(y[j] - top);
            for (int j = 0; j < V; j++) dst[j] = (float)(dst[j] / sum);
        }
    }
    return LSTM_OK;
}
