/* pack.c - what the forward reads instead of the parameters: a token model's layer-0 input
 * weights transposed into a table of rows (m->embed), and a float model's weight matrices
 * packed as gemm_panels reads them (m->pk). Both are copies, made again from the parameters
 * whenever those may have changed; packing costs one pass over the weights, against the
 * several passes of a product over them for every step of a batch. */
#include "model.h"

/* A piece of `floats`, 16-byte aligned (every size here is a multiple of 8 floats). */
static float *take(float *base, uint64_t *at, uint64_t floats) {
    float *p = base && floats ? base + *at : NULL;
    *at += floats;
    return p;
}

uint64_t lstm_point_packed(const lstm_config *c, float *base, lstm_packed *pk) {
    const int H = c->hidden_size, S = lstm_state_size(c), D = lstm_directions(c), G = lstm_gate_count(c) * H;
    const int before = c->cell == LSTM_CELL_GRU && c->gru_reset_before;
    const int X0 = c->input_vocab ? c->input_vocab : c->input_size;
    uint64_t at = 0;
    for (int u = 0; u < lstm_unit_count(c); u++) {
        const int l = u / D, X = l == 0 ? X0 : D * S;
        lstm_layer_packed *p = &pk->layer[u];
        p->w_ih = take(base, &at, l == 0 && c->input_vocab ? 0 : LSTM_PANEL_FLOATS(X, G));
        p->w_hh = take(base, &at, LSTM_PANEL_FLOATS(S, before ? 2 * H : G));
        p->w_hn = take(base, &at, before ? LSTM_PANEL_FLOATS(S, H) : 0);
        p->w_hr = take(base, &at, c->proj_size ? LSTM_PANEL_FLOATS(H, S) : 0);
    }
    pk->w_out = take(base, &at, LSTM_PANEL_FLOATS(D * S, c->output_size));
    return at;
}

/* W (N, K) row-major, packed as W^T (K, N) */
static void pack_weight(const lstm_kernels *k, int N, int K, const float *W, float *P) {
    k->pack_panels(K, N, W, K, 1, P, LSTM_PANEL_WIDTH(N), 0);
}

static void refresh_embed(lstm_model *m) {
    const size_t G = (size_t)lstm_gate_count(&m->cfg) * m->cfg.hidden_size, X = (size_t)m->X0;
    for (int d = 0; d < lstm_directions(&m->cfg); d++) { /* units 0 and 1 are layer 0's directions */
        if (!m->q8) {
            m->k->transpose((int)G, (int)X, m->p.layer[d].w_ih, (int)X, m->embed + d * X * G, (int)G);
            continue;
        }
        const int8_t *w = m->q8->layer[d].w_ih.q;
        int8_t *e = m->q8->embed + d * X * G;
        for (size_t g = 0; g < G; g++)
            for (size_t x = 0; x < X; x++) e[x * G + g] = w[g * X + x];
    }
}

static void refresh_packed(lstm_model *m) {
    const lstm_config *c = &m->cfg;
    const int H = c->hidden_size, S = lstm_state_size(c), D = lstm_directions(c), G = lstm_gate_count(c) * H;
    for (int u = 0; u < lstm_unit_count(c); u++) {
        const lstm_layer_tensors *p = &m->p.layer[u];
        const lstm_layer_packed *pk = &m->pk.layer[u];
        const int X = u / D == 0 ? m->X0 : D * S;
        if (pk->w_ih) pack_weight(m->k, G, X, p->w_ih, pk->w_ih);
        if (pk->w_hn) {
            pack_weight(m->k, 2 * H, S, p->w_hh, pk->w_hh);
            pack_weight(m->k, H, S, p->w_hh + (size_t)2 * H * S, pk->w_hn);
        } else {
            pack_weight(m->k, G, S, p->w_hh, pk->w_hh);
        }
        if (pk->w_hr) pack_weight(m->k, S, H, p->w_hr, pk->w_hr);
    }
    pack_weight(m->k, c->output_size, D * S, m->p.w_out, m->pk.w_out);
}

void lstm_derived_refresh(lstm_model *m, int force) {
    if (!force && m->derived_version == m->param_version) return;
    if (m->cfg.input_vocab) refresh_embed(m);
    if (m->packed_arena) refresh_packed(m); /* a quantised model multiplies its int8 rows instead */
    m->derived_version = m->param_version;
}
