/* cell_lstm.c - the LSTM cell and its options (peephole, coupled input and forget gate,
 * relu), forward beside backward. The equations are those of include/lstm.h:
 *   i = sigmoid(a_i [+ w_i c_{t-1}])   f = sigmoid(a_f [+ w_f c_{t-1}])   (CIFG: f = 1 - i)
 *   g = act(a_g)   c_t = f c_{t-1} + i g   o = sigmoid(a_o [+ w_o c_t])   h_t = o act(c_t)
 * where a = b_ih + b_hh + W_ih x + W_hh h_{t-1}. The plain cell runs on the SIMD kernels; each
 * combination of options is a function of its own, made from one template whose option
 * arguments are constants, so no option is tested inside the loop over units. */
#include <string.h>

#include "cell.h"

/* ---- the plain cell: the kernels' lstm_cell_forward / lstm_cell_backward ---- */

static void plain_forward(const lstm_unit *u, int t) {
    float *gates = unit_gates(u, t);
    unit_recurrent(u, t, gates, u->G);
    u->k->lstm_cell_forward(u->B, u->H, gates, unit_c(u, t), unit_c(u, t + 1), unit_act_c(u, t),
                            unit_cell_out(u, t));
}

static void plain_backward(const lstm_unit *u, int t, const float *dh, float *dh_prev) {
    float *dgates = unit_dgates(u, t);
    u->k->lstm_cell_backward(u->B, u->H, unit_gates(u, t), unit_c(u, t), unit_act_c(u, t), dh,
                             u->w->dc, dgates);
    if (dh_prev) unit_recurrent_backward(u, dgates, dh_prev);
}

/* ---- the options: one template, instantiated per combination ---- */

/* Gate offsets within a row of G: i 0, f H, g 2H, o 3H; with CIFG (no f rows) i 0, g H, o 2H.
 * Peephole rows: i, f, o (CIFG: i, o). */
#if defined(__GNUC__)
#define CELL_INLINE static inline __attribute__((always_inline))
#else
#define CELL_INLINE static inline
#endif

CELL_INLINE void option_forward(const lstm_unit *u, int t, const int peephole, const int cifg,
                                const int relu) {
    const int B = u->B, H = u->H, G = u->G, og = cifg ? H : 2 * H, oo = cifg ? 2 * H : 3 * H;
    float *gates = unit_gates(u, t), *c = unit_c(u, t + 1), *act_c = unit_act_c(u, t), *h = unit_cell_out(u, t);
    const float *c_prev = unit_c(u, t), *peep = u->p->peep;
    unit_recurrent(u, t, gates, G);
    for (int b = 0; b < B; b++) {
        float *a = gates + (size_t)b * G;
        const size_t r = (size_t)b * H;
        for (int j = 0; j < H; j++) {
            const float cp = c_prev[r + j];
            const float i = cell_sigmoid(a[j] + (peephole ? peep[j] * cp : 0.0f));
            const float f = cifg ? 1.0f - i : cell_sigmoid(a[H + j] + (peephole ? peep[H + j] * cp : 0.0f));
            const float g = cell_act(a[og + j], relu);
            const float cn = f * cp + i * g;
            const float o = cell_sigmoid(a[oo + j] + (peephole ? peep[og + j] * cn : 0.0f)); /* o sees c_t */
            const float ac = cell_act(cn, relu);
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

CELL_INLINE void option_backward(const lstm_unit *u, int t, const float *dh, float *dh_prev,
                                 const int peephole, const int cifg, const int relu) {
    const int B = u->B, H = u->H, G = u->G, og = cifg ? H : 2 * H, oo = cifg ? 2 * H : 3 * H;
    const float *gates = unit_gates(u, t), *c_prev = unit_c(u, t), *c = unit_c(u, t + 1);
    const float *act_c = unit_act_c(u, t), *peep = u->p->peep;
    float *dgates = unit_dgates(u, t), *dc = u->w->dc, *dpeep = u->g->peep;
    for (int b = 0; b < B; b++) {
        const float *a = gates + (size_t)b * G;
        float *d = dgates + (size_t)b * G;
        const size_t r = (size_t)b * H;
        for (int j = 0; j < H; j++) {
            const float i = a[j], f = cifg ? 1.0f - i : a[H + j], g = a[og + j], o = a[oo + j];
            const float cp = c_prev[r + j], cn = c[r + j], ac = act_c[r + j];
            const float dao = dh[r + j] * ac * o * (1.0f - o);
            float dct = dc[r + j] + dh[r + j] * o * cell_dact(ac, relu);
            if (peephole) dct += dao * peep[og + j];
            const float df = dct * cp;
            const float di = dct * g - (cifg ? df : 0.0f); /* CIFG: f = 1 - i */
            const float dai = di * i * (1.0f - i);
            const float daf = cifg ? 0.0f : df * f * (1.0f - f);
            d[j] = dai;
            if (!cifg) d[H + j] = daf;
            d[og + j] = dct * i * cell_dact(g, relu);
            d[oo + j] = dao;
            float dcp = dct * f;
            if (peephole) {
                dcp += dai * peep[j] + (cifg ? 0.0f : daf * peep[H + j]);
                dpeep[j] += dai * cp;
                if (!cifg) dpeep[H + j] += daf * cp;
                dpeep[og + j] += dao * cn;
            }
            dc[r + j] = dcp;
        }
    }
    if (dh_prev) unit_recurrent_backward(u, dgates, dh_prev);
}

/* peephole x cifg x relu; the all-off combination is the plain cell above */
#define OPTION_CELL(name, P, C, R)                                                             \
    static void name##_forward(const lstm_unit *u, int t) { option_forward(u, t, P, C, R); }    \
    static void name##_backward(const lstm_unit *u, int t, const float *dh, float *dh_prev) {  \
        option_backward(u, t, dh, dh_prev, P, C, R);                                           \
    }
OPTION_CELL(peephole, 1, 0, 0)
OPTION_CELL(cifg, 0, 1, 0)
OPTION_CELL(peephole_cifg, 1, 1, 0)
OPTION_CELL(relu, 0, 0, 1)
OPTION_CELL(peephole_relu, 1, 0, 1)
OPTION_CELL(cifg_relu, 0, 1, 1)
OPTION_CELL(peephole_cifg_relu, 1, 1, 1)
#undef OPTION_CELL

/* indexed by peephole + 2 cifg + 4 relu */
static const lstm_cell LSTM_CELLS[8] = {
    {"lstm", 0, plain_forward, plain_backward},
    {"lstm peephole", 0, peephole_forward, peephole_backward},
    {"lstm cifg", 0, cifg_forward, cifg_backward},
    {"lstm peephole cifg", 0, peephole_cifg_forward, peephole_cifg_backward},
    {"lstm relu", 0, relu_forward, relu_backward},
    {"lstm peephole relu", 0, peephole_relu_forward, peephole_relu_backward},
    {"lstm cifg relu", 0, cifg_relu_forward, cifg_relu_backward},
    {"lstm peephole cifg relu", 0, peephole_cifg_relu_forward, peephole_cifg_relu_backward},
};

const lstm_cell *lstm_cell_lstm(const lstm_config *c) {
    return &LSTM_CELLS[c->peephole + 2 * c->cifg + 4 * (c->activation == LSTM_ACTIVATION_RELU)];
}

const lstm_cell *lstm_cell_for(const lstm_config *c) {
    if (c->cell == LSTM_CELL_GRU) return c->activation == LSTM_ACTIVATION_RELU ? &lstm_cell_gru_relu : &lstm_cell_gru;
    return c->layer_norm ? &lstm_cell_layer_norm : lstm_cell_lstm(c);
}
