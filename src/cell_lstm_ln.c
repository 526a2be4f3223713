/* cell_lstm_ln.c - the layer-normalised LSTM cell, forward beside backward. As include/lstm.h:
 * each gate block k of a = b_ih + b_hh + W_ih x + W_hh h_{t-1} is normalised over its H units,
 *   y_k = gain_k (a_k - mean a_k) / sqrt(var a_k + 1e-5) + bias_k,   i, f, g, o from y,
 *   c_t = LN_cell(f c_{t-1} + i g),   h_t = o tanh(c_t). */
#include <string.h>

#include "cell.h"

#define LN_EPS 1e-5f /* inside the square root, as PyTorch's LayerNorm */

/* Normalise x (n) in place to zero mean and unit variance; returns 1/std. */
static float normalise(float *x, int n) {
    double mean = 0.0, var = 0.0;
    for (int j = 0; j < n; j++) mean += x[j];
    mean /= n;
    for (int j = 0; j < n; j++) var += ((double)x[j] - mean) * ((double)x[j] - mean);
    const float rstd = (float)(1.0 / sqrt(var / n + LN_EPS));
    for (int j = 0; j < n; j++) x[j] = (float)(((double)x[j] - mean) * rstd);
    return rstd;
}

/* d loss / d x of x_hat = (x - mean) * rstd, from dxh = d loss / d x_hat, written into dx */
static void normalise_backward(const float *xhat, const float *dxh, float rstd, int n, float *dx) {
    double m1 = 0.0, m2 = 0.0;
    for (int j = 0; j < n; j++) m1 += dxh[j], m2 += (double)dxh[j] * xhat[j];
    m1 /= n;
    m2 /= n;
    for (int j = 0; j < n; j++) dx[j] = (float)(rstd * (dxh[j] - m1 - xhat[j] * m2));
}

static void ln_forward(const lstm_unit *u, int t) {
    const int B = u->B, H = u->H, G = 4 * H;
    const lstm_layer_acts *A = u->a;
    const float *ln_g = u->p->ln_g, *ln_c = u->p->ln_c, *c_prev = unit_c(u, t);
    float *gates = unit_gates(u, t), *c = unit_c(u, t + 1), *tanh_c = unit_act_c(u, t), *h = unit_cell_out(u, t);
    float *xg = A->ln_xg + (size_t)t * B * G, *rg = A->ln_rg + (size_t)t * B * 4;
    float *xc = A->ln_xc + (size_t)t * B * H, *rc = A->ln_rc + (size_t)t * B;
    unit_recurrent(u, t, gates, G);
    for (int b = 0; b < B; b++) {
        float *a = gates + (size_t)b * G;
        const size_t r = (size_t)b * H;
        for (int k = 0; k < 4; k++) {
            rg[(size_t)b * 4 + k] = normalise(a + k * H, H);
            memcpy(xg + (size_t)b * G + k * H, a + k * H, (size_t)H * sizeof(float));
        }
        for (int j = 0; j < G; j++) a[j] = ln_g[j] * a[j] + ln_g[G + j];
        for (int j = 0; j < H; j++) {
            const float i = cell_sigmoid(a[j]), f = cell_sigmoid(a[H + j]);
            const float g = tanhf(a[2 * H + j]), o = cell_sigmoid(a[3 * H + j]);
            a[j] = i, a[H + j] = f, a[2 * H + j] = g, a[3 * H + j] = o;
            c[r + j] = f * c_prev[r + j] + i * g;
        }
        rc[b] = normalise(c + r, H);
        memcpy(xc + r, c + r, (size_t)H * sizeof(float));
        for (int j = 0; j < H; j++) {
            c[r + j] = ln_c[j] * c[r + j] + ln_c[H + j];
            tanh_c[r + j] = tanhf(c[r + j]);
            h[r + j] = a[3 * H + j] * tanh_c[r + j];
        }
    }
}

static void ln_backward(const lstm_unit *u, int t, const float *dh, float *dh_prev) {
    const int B = u->B, H = u->H, G = 4 * H;
    const lstm_layer_acts *A = u->a;
    const float *ln_g = u->p->ln_g, *ln_c = u->p->ln_c, *gates = unit_gates(u, t);
    const float *c_prev = unit_c(u, t), *tanh_c = unit_act_c(u, t);
    const float *xg = A->ln_xg + (size_t)t * B * G, *rg = A->ln_rg + (size_t)t * B * 4;
    const float *xc = A->ln_xc + (size_t)t * B * H, *rc = A->ln_rc + (size_t)t * B;
    float *dgates = unit_dgates(u, t), *dc = u->w->dc, *dln_g = u->g->ln_g, *dln_c = u->g->ln_c;
    float *dy = u->w->cell_scratch, *dxh = dy + G; /* (G) d/d post-norm gates; (H) */
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
        normalise_backward(xc + r, dxh, rc[b], H, dcr);
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
        for (int k = 0; k < 4; k++) normalise_backward(x + k * H, dy + k * H, rg[(size_t)b * 4 + k], H, dg + k * H);
    }
    if (dh_prev) unit_recurrent_backward(u, dgates, dh_prev);
}

const lstm_cell lstm_cell_layer_norm = {"lstm layer norm", 0, ln_forward, ln_backward, NULL};
