/* cell_gru.c - the GRU cell (PyTorch nn.GRU), forward beside backward. As include/lstm.h:
 *   r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)      z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
 *   n = act(W_in x + b_in + r * (W_hn h + b_hn))    h_t = (1 - z) n + z h_{t-1}
 * The reset gate scales the recurrent product, b_hn included, so that product (gh below) is
 * kept apart from the input product; act is tanh, or relu as Keras allows. */
#include <string.h>

#include "cell.h"

#if defined(__GNUC__)
#define CELL_INLINE static inline __attribute__((always_inline))
#else
#define CELL_INLINE static inline
#endif

/* gates (B, 3H): the input products W_i x + b_i in, activations r, z, n out; act_c keeps
 * gh's n rows (W_hn h + b_hn), which backward needs. */
CELL_INLINE void gru_forward(const lstm_unit *u, int t, const int relu) {
    const int B = u->B, H = u->H, G = u->G;
    float *gates = unit_gates(u, t), *hn = unit_act_c(u, t), *h = unit_cell_out(u, t), *gh = u->w->gh;
    const float *h_prev = unit_h_prev(u, t);
    for (int b = 0; b < B; b++) memcpy(gh + (size_t)b * G, u->p->b_hh, (size_t)G * sizeof(float));
    unit_recurrent(u, t, gh, G);
    for (int b = 0; b < B; b++) {
        float *r = gates + (size_t)b * G, *z = r + H, *n = z + H;
        const float *q = gh + (size_t)b * G, *hp = h_prev + (size_t)b * H;
        float *hnb = hn + (size_t)b * H, *hb = h + (size_t)b * H;
        for (int j = 0; j < 2 * H; j++) r[j] += q[j]; /* r and z rows are contiguous */
        u->k->vec_sigmoid(2 * H, r, r);
        for (int j = 0; j < H; j++) {
            hnb[j] = q[2 * H + j];
            n[j] += r[j] * hnb[j];
        }
        if (relu) for (int j = 0; j < H; j++) n[j] = n[j] > 0.0f ? n[j] : 0.0f;
        else u->k->vec_tanh(H, n, n);
        for (int j = 0; j < H; j++) hb[j] = n[j] + z[j] * (hp[j] - n[j]); /* (1-z) n + z h */
    }
}

/* dgates (B, 3H) receives d loss / d (W_i x + b_i), w->dgh d loss / d (W_h h + b_h), which
 * differ in the n rows: r scales the recurrent product. The direct path z dh goes to dh_prev. */
CELL_INLINE void gru_backward(const lstm_unit *u, int t, const float *dh, float *dh_prev, const int relu) {
    const int B = u->B, H = u->H, G = u->G;
    const float *gates = unit_gates(u, t), *hn = unit_act_c(u, t), *h_prev = unit_h_prev(u, t);
    float *dgi = unit_dgates(u, t), *dgh = u->w->dgh + (size_t)t * B * G;
    for (int b = 0; b < B; b++) {
        const size_t o = (size_t)b * G, ob = (size_t)b * H;
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
    if (dh_prev) unit_recurrent_backward(u, dgh, dh_prev);
}

static void tanh_forward(const lstm_unit *u, int t) { gru_forward(u, t, 0); }
static void tanh_backward(const lstm_unit *u, int t, const float *dh, float *dh_prev) { gru_backward(u, t, dh, dh_prev, 0); }
static void relu_forward(const lstm_unit *u, int t) { gru_forward(u, t, 1); }
static void relu_backward(const lstm_unit *u, int t, const float *dh, float *dh_prev) { gru_backward(u, t, dh, dh_prev, 1); }

const lstm_cell lstm_cell_gru = {"gru", 1, tanh_forward, tanh_backward};
const lstm_cell lstm_cell_gru_relu = {"gru relu", 1, relu_forward, relu_backward};
