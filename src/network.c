/* network.c - the network over a batch: layers x directions, dropout between them, the head
 * and its loss, forward and backward. Activations are time-major (row r = t*B + b), so all T*B
 * rows of a unit's input product, its weight gradients and the head form one matrix product.
 * A bidirectional layer's reverse unit is the same unit code run on each sequence's valid
 * steps reversed (reverse_row), so every cell has it without code of its own. */
#include <math.h>
#include <string.h>

#include "cell.h"
#include "rng.h"

void lstm_unit_forward(lstm_model *m, lstm_workspace *w, int index, int B, int T, const float *x, int X,
                       const int32_t *tokens);
void lstm_unit_backward(lstm_model *m, int index, int B, int T, float *dh_all, const float *x, int X,
                        const int32_t *tokens, float *dx);

/* Valid steps of sequence b: its length, or all T. */
static int seq_len(const lstm_workspace *w, int b, int T) { return w->lengths ? w->lengths[b] : T; }

size_t lstm_head_rows(const lstm_model *m, int B, int T) {
    return m->cfg.last_step_only ? (size_t)B : (size_t)B * T;
}

int lstm_row_valid(const lstm_model *m, int B, size_t r) {
    return m->cfg.last_step_only || !m->ws.lengths || (int)(r / (size_t)B) < m->ws.lengths[r % (size_t)B];
}

size_t lstm_valid_rows(const lstm_model *m, int B, int T) {
    if (m->cfg.last_step_only || !m->ws.lengths) return lstm_head_rows(m, B, T);
    size_t n = 0;
    for (int b = 0; b < B; b++) n += (size_t)m->ws.lengths[b];
    return n;
}

int lstm_argmax(const float *x, int n) {
    int best = 0;
    for (int j = 1; j < n; j++)
        if (x[j] > x[best]) best = j;
    return best;
}

/* The reverse unit's row for time-major row r = t*B + b: step length-1-t of the same
 * sequence for a valid step, r itself for padding (which is read after every valid step, so
 * it reaches no valid output). The map is its own inverse. */
static size_t reverse_row(const lstm_workspace *w, int B, int T, size_t r) {
    const int t = (int)(r / (size_t)B), b = (int)(r % (size_t)B), len = seq_len(w, b, T);
    return t < len ? (size_t)(len - 1 - t) * B + b : r;
}

/* A layer's input as the reverse unit reads it: xrev or tokrev, each sequence reversed. */
static void reverse_input(lstm_workspace *w, int B, int T, const float *x, int X, const int32_t *tokens) {
    for (size_t r = 0; r < (size_t)B * T; r++) {
        const size_t q = reverse_row(w, B, T, r);
        if (tokens) w->tokrev[q] = tokens[r];
        else memcpy(w->xrev + q * X, x + r * X, (size_t)X * sizeof(float));
    }
}

void lstm_load_state(lstm_workspace *w, const lstm_config *c, int B, const float *state) {
    /* state (2, L, B, H): with a projection h uses the first B*S floats of its block. Units are
     * layers whenever a state is given: bidirectional models carry none. */
    const int U = lstm_unit_count(c);
    const size_t BH = (size_t)B * c->hidden_size, BS = (size_t)B * lstm_state_size(c);
    for (int u = 0; u < U; u++) {
        lstm_layer_acts *a = &w->layer[u];
        if (state) {
            memcpy(a->h, state + (size_t)u * BH, BS * sizeof(float));
            memcpy(a->c, state + ((size_t)U + u) * BH, BH * sizeof(float));
        } else {
            memset(a->h, 0, BS * sizeof(float));
            memset(a->c, 0, BH * sizeof(float));
        }
    }
}

void lstm_store_state(const lstm_workspace *w, const lstm_config *c, int B, int T, float *state) {
    const int L = c->num_layers, H = c->hidden_size, S = lstm_state_size(c);
    const size_t BH = (size_t)B * H;
    for (int l = 0; l < L; l++) {
        const lstm_layer_acts *a = &w->layer[l];
        float *h = state + (size_t)l * BH, *cs = state + ((size_t)L + l) * BH;
        for (int b = 0; b < B; b++) {
            const size_t row = (size_t)seq_len(w, b, T) * B + b; /* row t: the state after t steps */
            memcpy(h + (size_t)b * S, a->h + row * S, (size_t)S * sizeof(float));
            memcpy(cs + (size_t)b * H, a->c + row * H, (size_t)H * sizeof(float));
        }
    }
}

void lstm_network_forward(lstm_model *m, lstm_workspace *w, int B, int T, uint64_t *rng) {
    const lstm_config *c = &m->cfg;
    const int S = lstm_state_size(c), L = c->num_layers, D = lstm_directions(c), O = D * S;
    const size_t R = (size_t)B * T;
    /* the weights as the products read them: packed again for every batch call, for step
     * inference when the parameters changed; a quantised model's never change */
    lstm_derived_refresh(m, w->backward && !m->q8);
    for (int l = 0; l < L; l++) {
        const int X = l == 0 ? m->X0 : O;
        const int32_t *tokens = l == 0 && c->input_vocab ? w->tokens : NULL;
        const float *x = l == 0 ? (tokens ? NULL : w->x) : w->layer[(l - 1) * D].out;
        for (int d = 0; d < D; d++) {
            lstm_layer_acts *ua = &w->layer[l * D + d];
            ua->rdrop = rng && c->recurrent_dropout > 0.0f;
            if (ua->rdrop) {
                /* variational: one mask per sequence for all T steps of the batch */
                const float p = c->recurrent_dropout, keep = 1.0f / (1.0f - p);
                for (size_t i = 0; i < (size_t)B * S; i++) ua->rmask[i] = rng_uniform(rng) < p ? 0.0f : keep;
            }
            if (d == 0) {
                lstm_unit_forward(m, w, l * D, B, T, x, X, tokens);
            } else {
                reverse_input(w, B, T, x, X, tokens);
                lstm_unit_forward(m, w, l * D + 1, B, T, tokens ? NULL : w->xrev, X, tokens ? w->tokrev : NULL);
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
        if (rng && c->dropout > 0.0f) {
            /* inverted dropout on the layer's output: out = cat * mask, mask in {0, 1/(1-p)} */
            const float p = c->dropout, keep = 1.0f / (1.0f - p);
            for (size_t i = 0; i < R * O; i++) {
                a->mask[i] = rng_uniform(rng) < p ? 0.0f : keep;
                a->out[i] = a->cat[i] * a->mask[i];
            }
        } else if (a->mask) {
            memcpy(a->out, a->cat, R * O * sizeof(float));
        }
    }
}

size_t lstm_head_forward(lstm_model *m, lstm_workspace *w, int B, int T) {
    const lstm_config *c = &m->cfg;
    const int S = lstm_state_size(c), D = lstm_directions(c), O = D * S, V = c->output_size;
    const float *top = w->layer[(c->num_layers - 1) * D].out;
    const size_t rows = lstm_head_rows(m, B, T);
    if (c->last_step_only) {
        /* each sequence's top output at its last valid step (the reverse direction: its own
         * last step, the sequence's first) */
        for (int b = 0; b < B; b++) {
            float *dst = w->last + (size_t)b * O;
            memcpy(dst, top + ((size_t)(seq_len(w, b, T) - 1) * B + b) * O, (size_t)S * sizeof(float));
            if (D == 2) memcpy(dst + S, top + (size_t)b * O + S, (size_t)S * sizeof(float));
        }
        top = w->last;
    }
    for (size_t r = 0; r < rows; r++) memcpy(w->logits + r * V, m->p.b_out, (size_t)V * sizeof(float));
    lstm_product(m->k, w, (int)rows, V, O, top, O, m->pk.w_out, m->q8 ? &m->q8->w_out : NULL, w->logits, V);
    return rows;
}

double lstm_head_loss(lstm_model *m, int B, int T, size_t rows, size_t *correct) {
    const int V = m->cfg.output_size;
    lstm_workspace *w = &m->ws;
    const size_t n = lstm_valid_rows(m, B, T);
    if (m->cfg.head == LSTM_HEAD_MSE) {
        /* loss = sum (y - t)^2 / (n V), so d loss / d y = 2 (y - t) / (n V) */
        const double scale = 2.0 / ((double)n * V);
        double sum = 0.0;
        for (size_t r = 0; r < rows; r++) {
            float *y = w->logits + r * V;
            if (!lstm_row_valid(m, B, r)) {
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
            if (lstm_row_valid(m, B, r) && lstm_argmax(w->logits + r * V, V) == w->targets[r]) (*correct)++;
    }
    const float scale = 1.0f / (float)n;
    if (n == rows) return m->k->softmax_xent((int)rows, V, w->logits, w->targets, scale) / (double)n;
    double sum = 0.0;
    for (size_t r = 0; r < rows; r++) {
        float *y = w->logits + r * V;
        if (lstm_row_valid(m, B, r)) sum += m->k->softmax_xent(1, V, y, w->targets + r, scale);
        else memset(y, 0, (size_t)V * sizeof(float));
    }
    return sum / (double)n;
}

/* The head over `rows` scored rows: from d loss / d logits (w->logits) and the rows' top
 * outputs top (rows, O), dW_out and db_out, and d loss / d top in dtop (which may be top). */
static void head_backward(lstm_model *m, int rows, const float *top, float *dtop) {
    const lstm_kernels *k = m->k;
    const int V = m->cfg.output_size, O = lstm_output_width(&m->cfg), ldp = LSTM_PANEL_WIDTH(O);
    lstm_workspace *w = &m->ws;
    lstm_rows_product(k, w, V, O, rows, w->logits, V, top, O, m->g.w_out, O);
    k->sum_rows(rows, V, w->logits, V, m->g.b_out);
    k->pack_panels(V, O, m->p.w_out, O, 0, w->pk_op, ldp, 0);
    memset(dtop, 0, (size_t)rows * O * sizeof(float));
    k->gemm_panels(rows, O, V, w->logits, V, 0, w->pk_op, ldp, 0, dtop, O);
}

void lstm_network_backward(lstm_model *m, int B, int T, int want_dx) {
    const lstm_config *c = &m->cfg;
    const int L = c->num_layers, S = lstm_state_size(c);
    const int D = lstm_directions(c), O = D * S;
    const size_t R = (size_t)B * T;
    lstm_workspace *w = &m->ws;
    memset(m->grads, 0, m->n_params * sizeof(float));

    /* head: logits = top . W_out^T + b_out; w->dout receives d loss / d top (R, O) */
    if (c->last_step_only) {
        /* B scored rows, one per sequence: their gradient goes to that step's output only
         * (bidirectional: the reverse half to the sequence's first step) */
        head_backward(m, B, w->last, w->last);
        memset(w->dout, 0, R * O * sizeof(float));
        for (int b = 0; b < B; b++) {
            const float *dl = w->last + (size_t)b * O;
            memcpy(w->dout + ((size_t)(seq_len(w, b, T) - 1) * B + b) * O, dl, (size_t)S * sizeof(float));
            if (D == 2) memcpy(w->dout + (size_t)b * O + S, dl + S, (size_t)S * sizeof(float));
        }
    } else {
        head_backward(m, (int)R, w->layer[(L - 1) * D].out, w->dout);
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
            lstm_unit_backward(m, l, B, T, w->dout, x, X, tokens, dx);
            continue;
        }
        /* bidirectional: split d loss / d cat into each unit's dh, the reverse one in its own
         * time order; then each unit, and the input gradients summed in the forward order */
        float *dhf = w->dbi, *dhr = w->dbi + R * S;
        for (size_t r = 0; r < R; r++) {
            memcpy(dhf + r * S, w->dout + r * O, (size_t)S * sizeof(float));
            memcpy(dhr + reverse_row(w, B, T, r) * S, w->dout + r * O + S, (size_t)S * sizeof(float));
        }
        reverse_input(w, B, T, x, X, tokens);
        lstm_unit_backward(m, l * D, B, T, dhf, x, X, tokens, dx);
        lstm_unit_backward(m, l * D + 1, B, T, dhr, tokens ? NULL : w->xrev, X, tokens ? w->tokrev : NULL,
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
                memcpy(w->dx + ((size_t)b * T + t) * X0, w->dout + ((size_t)t * B + b) * X0, X0 * sizeof(float));
    }
}
