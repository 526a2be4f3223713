/* cell_gru.c - the GRU cell (PyTorch nn.GRU), forward beside backward. As include/lstm.h:
 *   r = gate(W_ir x + b_ir + W_hr h + b_hr)      z = gate(W_iz x + b_iz + W_hz h + b_hz)
 *   n = act(W_in x + b_in + r * (W_hn h + b_hn))    h_t = (1 - z) n + z h_{t-1}
 * The reset gate scales the recurrent product, b_hn included, so that product (gh below) is
 * kept apart from the input product. With reset_before (Keras' reset_after=False, TF.js's GRU)
 * it scales h before the product instead: n = act(W_in x + b_in + W_hn (r * h) + b_hn). act is
 * tanh or relu; gate is sigmoid or the hard sigmoid. Each combination is a function of its own,
 * made from one template whose options are constants. */
#include <string.h>

#include "cell.h"

#if defined(__GNUC__)
#define CELL_INLINE static inline __attribute__((always_inline))
#else
#define CELL_INLINE static inline
#endif

/* reset_before: out (B, ldo) += in (B, S) . W_hh[row0 .. row0 + rows)^T, the rows r, z
 * (row0 0) or n (row0 2H): the parts of the recurrent product (packed apart, lstm_packed) */
static void recurrent_rows(const lstm_unit *u, const float *in, int row0, int rows, float *out, int ldo) {
    const lstm_q8 *q = u->q ? &u->q->w_hh : NULL;
    const lstm_q8 part = q ? (lstm_q8){q->q + (size_t)row0 * u->S, q->scale + row0} : (lstm_q8){NULL, NULL};
    const float *packed = q ? NULL : row0 ? u->pk->w_hn : u->pk->w_hh;
    lstm_product(u->k, u->w, u->B, rows, u->S, in, u->S, packed, q ? &part : NULL, out, ldo);
}

/* gates (B, 3H): the input products W_i x + b_i in, activations r, z, n out; act_c keeps gh's
 * n rows (W_hn h + b_hn), or with reset_before r * h_{t-1}: what backward needs. */
CELL_INLINE void gru_forward(const lstm_unit *u, int t, const int relu, const int hard, const int before) {
    const int B = u->B, H = u->H, G = u->G;
    float *gates = unit_gates(u, t), *hn = unit_act_c(u, t), *h = unit_cell_out(u, t), *gh = u->w->gh;
    const float *h_prev = unit_h_prev(u, t);
    for (int b = 0; b < B; b++) memcpy(gh + (size_t)b * G, u->p->b_hh, (size_t)G * sizeof(float));
    if (before) recurrent_rows(u, h_prev, 0, 2 * H, gh, G);
    else unit_recurrent(u, t, gh, G);
    for (int b = 0; b < B; b++) {
        float *r = gates + (size_t)b * G;
        const float *q = gh + (size_t)b * G;
        for (int j = 0; j < 2 * H; j++) r[j] += q[j]; /* r and z rows are contiguous */
        if (hard) for (int j = 0; j < 2 * H; j++) r[j] = cell_gate(r[j], 1);
        else u->k->vec_sigmoid(2 * H, r, r);
    }
    if (before) { /* r * h_{t-1}, then its product with W_hn, b_hn outside the reset */
        for (int b = 0; b < B; b++)
            for (int j = 0; j < H; j++) hn[(size_t)b * H + j] = gates[(size_t)b * G + j] * h_prev[(size_t)b * H + j];
        recurrent_rows(u, hn, 2 * H, H, gh + 2 * H, G);
    }
    for (int b = 0; b < B; b++) {
        float *r = gates + (size_t)b * G, *z = r + H, *n = z + H;
        const float *q = gh + (size_t)b * G, *hp = h_prev + (size_t)b * H;
        float *hnb = hn + (size_t)b * H, *hb = h + (size_t)b * H;
        for (int j = 0; j < H; j++) {
            if (before) {
                n[j] += q[2 * H + j];
            } else {
                hnb[j] = q[2 * H + j];
                n[j] += r[j] * hnb[j];
            }
        }
        if (relu) for (int j = 0; j < H; j++) n[j] = n[j] > 0.0f ? n[j] : 0.0f;
        else u->k->vec_tanh(H, n, n);
        for (int j = 0; j < H; j++) hb[j] = n[j] + z[j] * (hp[j] - n[j]); /* (1-z) n + z h */
    }
}

/* dgates (B, 3H) receives d loss / d (W_i x + b_i), w->dgh d loss / d (W_h h + b_h), which
 * differ in the n rows: r scales the recurrent product. The direct path z dh goes to dh_prev.
 * With reset_before, dgh's n rows are left zero: those weights saw r * h, not h, and
 * before_weights adds their gradient once all steps are done. */
CELL_INLINE void gru_backward(const lstm_unit *u, int t, const float *dh, float *dh_prev, const int relu,
                              const int hard, const int before) {
    const int B = u->B, H = u->H, G = u->G;
    const float *gates = unit_gates(u, t), *hn = unit_act_c(u, t), *h_prev = unit_h_prev(u, t);
    float *dgi = unit_dgates(u, t), *dgh = u->w->dgh + (size_t)t * B * G;
    float *drh = u->w->gh; /* reset_before: d loss / d (r * h), (B, H) */
    for (int b = 0; b < B; b++) {
        const size_t o = (size_t)b * G, ob = (size_t)b * H;
        const float *z = gates + o + H, *n = z + H;
        for (int j = 0; j < H; j++) {
            const float d = dh[ob + j];
            const float dn = d * (1.0f - z[j]), dz = d * (h_prev[ob + j] - n[j]);
            dgi[o + 2 * H + j] = relu ? (n[j] > 0.0f ? dn : 0.0f) : dn * (1.0f - n[j] * n[j]);
            dgi[o + H + j] = dgh[o + H + j] = cell_times_dgate(dz, z[j], hard);
            if (dh_prev) dh_prev[ob + j] += d * z[j];
        }
    }
    if (before) { /* d (r * h) = dan . W_hn; the first step back (t = T-1) packs W_hn for all */
        if (t == u->T - 1) u->k->pack_panels(H, H, u->p->w_hh + (size_t)2 * H * H, H, 0, u->w->pk_aux, LSTM_PANEL_WIDTH(H), 0);
        memset(drh, 0, (size_t)B * H * sizeof(float));
        u->k->gemm_panels(B, H, H, dgi + 2 * H, G, 0, u->w->pk_aux, LSTM_PANEL_WIDTH(H), 0, drh, H);
    }
    for (int b = 0; b < B; b++) {
        const size_t o = (size_t)b * G, ob = (size_t)b * H;
        const float *r = gates + o;
        for (int j = 0; j < H; j++) {
            const float dan = dgi[o + 2 * H + j];
            if (before) {
                dgi[o + j] = dgh[o + j] = cell_times_dgate(drh[ob + j] * h_prev[ob + j], r[j], hard);
                dgh[o + 2 * H + j] = 0.0f;
                if (dh_prev) dh_prev[ob + j] += drh[ob + j] * r[j];
            } else {
                dgi[o + j] = dgh[o + j] = cell_times_dgate(dan * hn[ob + j], r[j], hard);
                dgh[o + 2 * H + j] = dan * r[j];
            }
        }
    }
    if (dh_prev) unit_recurrent_backward(u, dgh, dh_prev);
}

/* reset_before: W_hn and b_hn saw r * h (kept in act_c), over all steps at once */
static void before_weights(const lstm_unit *u) {
    const int H = u->H, G = u->G, R = u->B * u->T;
    lstm_rows_product(u->k, u->w, H, H, R, u->w->dgates + 2 * H, G, u->a->tanh_c, H, u->g->w_hh + (size_t)2 * H * H, H);
    u->k->sum_rows(R, H, u->w->dgates + 2 * H, G, u->g->b_hh + 2 * H);
}

/* relu x hard sigmoid gates x reset_before */
#define GRU_CELL(name, R, S, BEFORE)                                                                     \
    static void name##_forward(const lstm_unit *u, int t) { gru_forward(u, t, R, S, BEFORE); }            \
    static void name##_backward(const lstm_unit *u, int t, const float *dh, float *dh_prev) {            \
        gru_backward(u, t, dh, dh_prev, R, S, BEFORE);                                                   \
    }
GRU_CELL(tanh, 0, 0, 0)
GRU_CELL(relu, 1, 0, 0)
GRU_CELL(tanh_hard, 0, 1, 0)
GRU_CELL(relu_hard, 1, 1, 0)
GRU_CELL(tanh_before, 0, 0, 1)
GRU_CELL(relu_before, 1, 0, 1)
GRU_CELL(tanh_hard_before, 0, 1, 1)
GRU_CELL(relu_hard_before, 1, 1, 1)
#undef GRU_CELL

/* indexed by relu + 2 hard + 4 reset_before */
static const lstm_cell GRU_CELLS[8] = {
    {"gru", 1, tanh_forward, tanh_backward, NULL},
    {"gru relu", 1, relu_forward, relu_backward, NULL},
    {"gru hard sigmoid", 1, tanh_hard_forward, tanh_hard_backward, NULL},
    {"gru relu hard sigmoid", 1, relu_hard_forward, relu_hard_backward, NULL},
    {"gru reset before", 1, tanh_before_forward, tanh_before_backward, before_weights},
    {"gru relu reset before", 1, relu_before_forward, relu_before_backward, before_weights},
    {"gru hard sigmoid reset before", 1, tanh_hard_before_forward, tanh_hard_before_backward, before_weights},
    {"gru relu hard sigmoid reset before", 1, relu_hard_before_forward, relu_hard_before_backward, before_weights},
};

const lstm_cell *lstm_cell_gru(const lstm_config *c) {
    return &GRU_CELLS[(c->activation == LSTM_ACTIVATION_RELU) + 2 * (c->recurrent_activation == LSTM_GATE_HARD_SIGMOID) +
                      4 * c->gru_reset_before];
}
