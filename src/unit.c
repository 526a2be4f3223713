/* unit.c - one unit (one direction of one layer) over the T steps of a batch, forward and
 * backward. The input products of all T*B rows are one matrix product before the time loop;
 * inside it the cell (cell.h) adds the recurrent product and applies its nonlinearity, and
 * a projection (PyTorch's proj_size) maps its output to h. Backward runs the steps in reverse
 * (truncated at the batch's first step), then forms the weight gradients of all rows at once. */
#include <string.h>

#include "cell.h"

static lstm_unit unit_of(lstm_model *m, lstm_workspace *w, int u, int B, int T) {
    const lstm_config *c = &m->cfg;
    return (lstm_unit){m->k, B, T, c->hidden_size, lstm_state_size(c), lstm_gate_count(c) * c->hidden_size,
                       &m->p.layer[u], &m->pk.layer[u], m->q8 ? &m->q8->layer[u] : NULL, &m->g.layer[u],
                       &w->layer[u], w};
}

void lstm_product(const lstm_kernels *k, lstm_workspace *w, int M, int N, int K, const float *A, int lda,
                  const float *packed, const lstm_q8 *q, float *C, int ldc) {
    if (!q) {
        k->gemm_panels(M, N, K, A, lda, 0, packed, LSTM_PANEL_WIDTH(N), 0, C, ldc);
        return;
    }
    k->quantize_i16(M, K, A, lda, w->aq, K, w->aq_scale);
    k->gemm_nt_q8(M, N, K, w->aq, K, w->aq_scale, q->q, K, q->scale, C, ldc);
}

/* What W_hh multiplies at step t: h_{t-1}, or with recurrent dropout h_{t-1} * rmask. */
static const float *recurrent_input(const lstm_unit *u, int t) {
    const float *h = unit_h_prev(u, t);
    if (!u->a->rdrop) return h;
    const size_t n = (size_t)u->B * u->S;
    for (size_t i = 0; i < n; i++) u->w->hm[i] = h[i] * u->a->rmask[i];
    return u->w->hm;
}

void unit_recurrent(const lstm_unit *u, int t, float *out, int ldo) {
    lstm_product(u->k, u->w, u->B, u->G, u->S, recurrent_input(u, t), u->S, u->pk->w_hh, u->q ? &u->q->w_hh : NULL,
                 out, ldo);
}

void unit_recurrent_backward(const lstm_unit *u, const float *d_rec, float *dh_prev) {
    const size_t n = (size_t)u->B * u->S;
    const int ldp = LSTM_PANEL_WIDTH(u->S);
    if (!u->a->rdrop) {
        u->k->gemm_panels(u->B, u->S, u->G, d_rec, u->G, 0, u->w->pk_rec, ldp, 0, dh_prev, u->S);
        return;
    }
    float *d = u->w->hm;
    memset(d, 0, n * sizeof(float));
    u->k->gemm_panels(u->B, u->S, u->G, d_rec, u->G, 0, u->w->pk_rec, ldp, 0, d, u->S);
    for (size_t i = 0; i < n; i++) dh_prev[i] += d[i] * u->a->rmask[i];
}

void lstm_rows_product(const lstm_kernels *k, lstm_workspace *w, int M, int N, size_t R, const float *A, int lda,
                         const float *Y, int ldy, float *C, int ldc) {
    k->pack_panels((int)R, N, Y, ldy, 0, w->pk_op, LSTM_PANEL_WIDTH(N), 0);
    k->gemm_panels(M, N, (int)R, A, lda, 1, w->pk_op, LSTM_PANEL_WIDTH(N), 0, C, ldc);
}

void lstm_unit_forward(lstm_model *m, lstm_workspace *w, int index, int B, int T, const float *x, int X,
                       const int32_t *tokens) {
    const lstm_unit u = unit_of(m, w, index, B, T);
    const lstm_cell *cell = m->cell;
    const int G = u.G, S = u.S, H = u.H;
    const size_t R = (size_t)B * T;
    const lstm_layer_tensors *p = u.p;
    float *bias = w->bias;
    for (int j = 0; j < G; j++) bias[j] = cell->bias_hh_in_recurrent ? p->b_ih[j] : p->b_ih[j] + p->b_hh[j];
    if (tokens) {
        /* one-hot input: W_ih x is column `token` of W_ih, a row of the transposed copy;
         * units 0 and 1 (the directions of layer 0) each have their table (pack.c) */
        for (size_t r = 0; r < R; r++) {
            float *g = u.a->gates + r * G;
            const size_t row = ((size_t)index * m->X0 + (size_t)tokens[r]) * G;
            if (u.q) { /* a quantised model's table is int8, its scales those of W_ih's rows */
                const int8_t *e = m->q8->embed + row;
                for (int j = 0; j < G; j++) g[j] = bias[j] + (float)e[j] * u.q->w_ih.scale[j];
            } else {
                const float *e = m->embed + row;
                for (int j = 0; j < G; j++) g[j] = bias[j] + e[j];
            }
        }
    } else {
        for (size_t r = 0; r < R; r++) memcpy(u.a->gates + r * G, bias, (size_t)G * sizeof(float));
        lstm_product(m->k, w, (int)R, G, X, x, X, u.pk->w_ih, u.q ? &u.q->w_ih : NULL, u.a->gates, G);
    }
    for (int t = 0; t < T; t++) {
        cell->forward(&u, t);
        if (u.a->mh) { /* a projection (its weights may be a quantised model's int8 ones) */
            float *h = u.a->h + (size_t)(t + 1) * B * S;
            memset(h, 0, (size_t)B * S * sizeof(float));
            lstm_product(m->k, w, B, S, H, unit_cell_out(&u, t), H, u.pk->w_hr, u.q ? &u.q->w_hr : NULL, h, S);
        }
    }
}

void lstm_unit_backward(lstm_model *m, int index, int B, int T, float *dh_all, const float *x, int X,
                        const int32_t *tokens, float *dx) {
    lstm_workspace *w = &m->ws;
    const lstm_unit u = unit_of(m, w, index, B, T);
    const lstm_kernels *k = m->k;
    const int H = u.H, S = u.S, G = u.G;
    const size_t R = (size_t)B * T;
    const lstm_layer_tensors *p = u.p;
    lstm_layer_tensors *g = u.g;
    lstm_layer_acts *a = u.a;
    /* dh_{t-1} += d_rec_t . W_hh and (projection) dmh_t = dh_t . W_hr: the weights packed once
     * for all T steps */
    k->pack_panels(G, S, p->w_hh, S, 0, w->pk_rec, LSTM_PANEL_WIDTH(S), 0);
    if (p->w_hr) k->pack_panels(S, H, p->w_hr, H, 0, w->pk_aux, LSTM_PANEL_WIDTH(H), 0);
    memset(w->dc, 0, (size_t)B * H * sizeof(float));
    for (int t = T - 1; t >= 0; t--) {
        float *dh = dh_all + (size_t)t * B * S;
        float *dh_prev = t > 0 ? dh - (size_t)B * S : NULL;
        const float *dcell = dh; /* d loss / d the cell output */
        if (p->w_hr) {
            /* through the projection h = mh . W_hr^T: dmh = dh . W_hr */
            memset(w->dm, 0, (size_t)B * H * sizeof(float));
            k->gemm_panels(B, H, S, dh, S, 0, w->pk_aux, LSTM_PANEL_WIDTH(H), 0, w->dm, H);
            dcell = w->dm;
        }
        m->cell->backward(&u, t, dcell, dh_prev);
    }
    /* weight gradients over all T*B rows at once: dW_hh and db_hh from the recurrent product's
     * gradient (the GRU's dgh, else dgates), dW_ih and db_ih from the input product's */
    const float *drec = w->dgh ? w->dgh : w->dgates;
    if (p->w_hr) /* dW_hr = dh^T . mh: dh_all now holds every step's complete dh */
        lstm_rows_product(k, w, S, H, R, dh_all, S, a->mh, H, g->w_hr, H);
    const int ldp = LSTM_PANEL_WIDTH(S);
    k->pack_panels((int)R, S, a->h, S, 0, w->pk_op, ldp, 0);
    if (a->rdrop) /* W_hh saw h * rmask (row r = t*B + b, mask row b): mask the packed rows */
        for (size_t r = 0; r < R; r++) {
            const size_t k0 = r / LSTM_PANEL_KC * LSTM_PANEL_KC, kc = R - k0 < LSTM_PANEL_KC ? R - k0 : LSTM_PANEL_KC;
            float *row = w->pk_op + k0 * ldp + (r - k0) * 8;
            const float *mask = a->rmask + (r % (size_t)B) * S;
            for (int j = 0; j < S; j++) row[(size_t)(j & ~7) * kc + (j & 7)] *= mask[j];
        }
    k->gemm_panels(G, S, (int)R, drec, G, 1, w->pk_op, ldp, 0, g->w_hh, S);
    k->sum_rows((int)R, G, drec, G, g->b_hh);
    if (drec != w->dgates) k->sum_rows((int)R, G, w->dgates, G, g->b_ih);
    else memcpy(g->b_ih, g->b_hh, (size_t)G * sizeof(float));
    if (m->cell->backward_weights) m->cell->backward_weights(&u);
    if (tokens) {
        /* one-hot input: add each row of dgates to its token's row of the transposed
         * gradient, then add that table, transposed back, into dW_ih */
        memset(w->dembed, 0, (size_t)X * G * sizeof(float));
        for (size_t r = 0; r < R; r++) {
            float *de = w->dembed + (size_t)tokens[r] * G;
            const float *dg = w->dgates + r * G;
            for (int j = 0; j < G; j++) de[j] += dg[j];
        }
        k->transpose(X, G, w->dembed, G, w->pk_op, X); /* pk_op as scratch: (G, X) */
        for (size_t i = 0; i < (size_t)G * X; i++) g->w_ih[i] += w->pk_op[i];
    } else {
        lstm_rows_product(k, w, G, X, R, w->dgates, G, x, X, g->w_ih, X);
    }
    if (dx) {
        /* d loss / d x = dgates . W_ih */
        k->pack_panels(G, X, p->w_ih, X, 0, w->pk_op, LSTM_PANEL_WIDTH(X), 0);
        memset(dx, 0, R * X * sizeof(float));
        k->gemm_panels((int)R, X, G, w->dgates, G, 0, w->pk_op, LSTM_PANEL_WIDTH(X), 0, dx, X);
    }
}
