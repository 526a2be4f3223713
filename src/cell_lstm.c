/* cell_lstm.c - the LSTM cell and its options (peephole, coupled input and forget gate,
 * relu, hard sigmoid gates), forward beside backward. The equations are those of include/lstm.h:
 *   i = gate(a_i [+ w_i c_{t-1}])   f = gate(a_f [+ w_f c_{t-1}])   (CIFG: f = 1 - i)
 *   g = act(a_g)   c_t = f c_{t-1} + i g   o = gate(a_o [+ w_o c_t])   h_t = o act(c_t)
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
                                const int relu, const int hard) {
    const int B = u->B, H = u->H, G = u->G, og = cifg ? H : 2 * H, oo = cifg ? 2 * H : 3 * H;
    float *gates = unit_gates(u, t), *c = unit_c(u, t + 1), *act_c = unit_act_c(u, t), *h = unit_cell_out(u, t);
    const float *c_prev = unit_c(u, t), *peep = u->p->peep;
    unit_recurrent(u, t, gates, G);
    for (int b = 0; b < B; b++) {
        float *a = gates + (size_t)b * G;
        const size_t r = (size_t)b * H;
        for (int j = 0; j < H; j++) {
            const float cp = c_prev[r + j];
            const float i = cell_gate(a[j] + (peephole ? peep[j] * cp : 0.0f), hard);
            const float f = cifg ? 1.0f - i : cell_gate(a[H + j] + (peephole ? peep[H + j] * cp : 0.0f), hard);
            const float g = cell_act(a[og + j], relu);
            const float cn = f * cp + i * g;
            const float o = cell_gate(a[oo + j] + (peephole ? peep[og + j] * cn : 0.0f), hard); /* o sees c_t */
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
                                 const int peephole, const int cifg, const int relu, const int hard) {
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
            const float dao = cell_times_dgate(dh[r + j] * ac, o, hard);
            float dct = dc[r + j] + dh[r + j] * o * cell_dact(ac, relu);
            if (peephole) dct += dao * peep[og + j];
            const float df = dct * cp;
            const float di = dct * g - (cifg ? df : 0.0f); /* CIFG: f = 1 - i */
            const float dai = cell_times_dgate(di, i, hard);
            const float daf = cifg ? 0.0f : cell_times_dgate(df, f, hard);
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

/* peephole x cifg x relu x hard sigmoid gates; the all-off combination is the plain cell above */
#define OPTION_CELL(name, P, C, R, S)                                                          \
    static void name##_forward(const lstm_unit *u, int t) { option_forward(u, t, P, C, R, S); } \
    static void name##_backward(const lstm_unit *u, int t, const float *dh, float *dh_prev) {  \
        option_backward(u, t, dh, dh_prev, P, C, R, S);                                        \
    }
OPTION_CELL(p, 1, 0, 0, 0)
OPTION_CELL(c, 0, 1, 0, 0)
OPTION_CELL(pc, 1, 1, 0, 0)
OPTION_CELL(r, 0, 0, 1, 0)
OPTION_CELL(pr, 1, 0, 1, 0)
OPTION_CELL(cr, 0, 1, 1, 0)
OPTION_CELL(pcr, 1, 1, 1, 0)
OPTION_CELL(h, 0, 0, 0, 1)
OPTION_CELL(ph, 1, 0, 0, 1)
OPTION_CELL(ch, 0, 1, 0, 1)
OPTION_CELL(pch, 1, 1, 0, 1)
OPTION_CELL(rh, 0, 0, 1, 1)
OPTION_CELL(prh, 1, 0, 1, 1)
OPTION_CELL(crh, 0, 1, 1, 1)
OPTION_CELL(pcrh, 1, 1, 1, 1)
#undef OPTION_CELL

/* indexed by peephole + 2 cifg + 4 relu + 8 hard sigmoid gates */
static const lstm_cell LSTM_CELLS[16] = {
    {"lstm", 0, plain_forward, plain_backward, NULL},
    {"lstm peephole", 0, p_forward, p_backward, NULL},
    {"lstm cifg", 0, c_forward, c_backward, NULL},
    {"lstm peephole cifg", 0, pc_forward, pc_backward, NULL},
    {"lstm relu", 0, r_forward, r_backward, NULL},
    {"lstm peephole relu", 0, pr_forward, pr_backward, NULL},
    {"lstm cifg relu", 0, cr_forward, cr_backward, NULL},
    {"lstm peephole cifg relu", 0, pcr_forward, pcr_backward, NULL},
    {"lstm hard sigmoid", 0, h_forward, h_backward, NULL},
    {"lstm peephole hard sigmoid", 0, ph_forward, ph_backward, NULL},
    {"lstm cifg hard sigmoid", 0, ch_forward, ch_backward, NULL},
    {"lstm peephole cifg hard sigmoid", 0, pch_forward, pch_backward, NULL},
    {"lstm relu hard sigmoid", 0, rh_forward, rh_backward, NULL},
    {"lstm peephole relu hard sigmoid", 0, prh_forward, prh_backward, NULL},
    {"lstm cifg relu hard sigmoid", 0, crh_forward, crh_backward, NULL},
    {"lstm peephole cifg relu hard sigmoid", 0, pcrh_forward, pcrh_backward, NULL},
};

const lstm_cell *lstm_cell_lstm(const lstm_config *c) {
    return &LSTM_CELLS[c->peephole + 2 * c->cifg + 4 * (c->activation == LSTM_ACTIVATION_RELU) +
                       8 * (c->recurrent_activation == LSTM_GATE_HARD_SIGMOID)];
}

const lstm_cell *lstm_cell_for(const lstm_config *c) {
    if (c->cell == LSTM_CELL_GRU) return lstm_cell_gru(c);
    return c->layer_norm ? &lstm_cell_layer_norm : lstm_cell_lstm(c);
}
