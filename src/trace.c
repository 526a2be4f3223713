/* trace.c - a look inside (lstm_trace in include/lstm.h): one sequence through the network's
 * own forward pass (network.c) from a zero state, in chunks of steps with the state carried,
 * and the activations that forward keeps copied out step by step. Not a second forward: the
 * cells compute, this file only moves their results. */
#include <math.h>
#include <string.h>

#include "cell.h" /* lstm_product */

/* Steps per chunk: rows enough for the input products of a chunk to run as one matrix product
 * (the recurrent product is one row per step whatever the chunk), few enough that a chunk's
 * activations stay small. A bidirectional model's reverse units read the sequence from its end,
 * so it runs as one chunk. */
#define TRACE_CHUNK 128

static unsigned bits_set(uint32_t x) {
    unsigned n = 0;
    for (; x; x &= x - 1) n++;
    return n;
}

static lstm_status check_capacity(lstm_model *m, const char *name, const float *buf, uint32_t capacity,
                                  uint64_t need) {
    if (!buf || capacity >= need) return LSTM_OK;
    return lstm_fail(m, LSTM_ERR_BUFFER_TOO_SMALL, "%s holds %u floats, the trace needs %llu", name, capacity,
                     (unsigned long long)need);
}

static lstm_status check_request(lstm_model *m, const lstm_trace_request *r) {
    const lstm_config *c = &m->cfg;
    if (!r) return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "request is NULL");
    if (r->steps < 1 || r->steps > LSTM_MAX_STEPS)
        return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "steps must be in [1, %d], got %d", LSTM_MAX_STEPS, r->steps);
    if (r->layers >> c->num_layers) /* num_layers <= 16: the shift is defined */
        return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "layers 0x%x names a layer the model lacks (it has %d: bits 0..%d)",
                         r->layers, c->num_layers, c->num_layers - 1);
    if (c->cell == LSTM_CELL_GRU && r->c)
        return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "the GRU has no cell state: c must be NULL");
    const uint64_t T = (uint64_t)r->steps, U = (uint64_t)bits_set(r->layers) * (uint64_t)lstm_directions(c);
    const uint64_t H = (uint64_t)c->hidden_size, S = (uint64_t)lstm_state_size(c);
    lstm_status st = check_capacity(m, "h", r->h, r->h_capacity, U * T * S);
    if (st == LSTM_OK) st = check_capacity(m, "c", r->c, r->c_capacity, U * T * H);
    if (st == LSTM_OK) st = check_capacity(m, "gates", r->gates, r->gates_capacity, U * (uint64_t)lstm_gate_count(c) * T * H);
    if (st == LSTM_OK) st = check_capacity(m, "outputs", r->outputs, r->outputs_capacity, T * (uint64_t)c->output_size);
    if (st != LSTM_OK) return st;
    if (c->input_vocab) {
        if (!r->tokens) return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "tokens is NULL (token model)");
        for (int32_t t = 0; t < r->steps; t++)
            if (r->tokens[t] < 0 || r->tokens[t] >= c->input_vocab)
                return lstm_fail(m, LSTM_ERR_TOKEN_RANGE, "tokens[%d] = %d is outside [0, %d)", t, r->tokens[t],
                                 c->input_vocab);
    } else {
        if (!r->inputs) return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "inputs is NULL (dense model)");
        for (size_t i = 0; i < (size_t)T * (size_t)m->X0; i++)
            if (!isfinite(r->inputs[i]))
                return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "inputs[%zu] is not finite", i);
    }
    return LSTM_OK;
}

/* Steps t0 .. t0+n-1 of one unit (B = 1, so a workspace row is a step) into recorded unit
 * `slot` of the request. A reverse unit's row i is sequence step T-1-i (its chunk is whole). */
static void copy_unit(const lstm_config *c, const lstm_layer_acts *a, const lstm_trace_request *r, size_t slot,
                      int reverse, int t0, int n) {
    const size_t T = (size_t)r->steps, H = (size_t)c->hidden_size, S = (size_t)lstm_state_size(c);
    const size_t ng = (size_t)lstm_gate_count(c), G = ng * H;
    for (int i = 0; i < n; i++) {
        const size_t t = reverse ? T - 1 - (size_t)(t0 + i) : (size_t)(t0 + i), row = (size_t)i;
        /* h and c: row i + 1 is the state after step i (row 0 the one before the chunk) */
        if (r->h) memcpy(r->h + (slot * T + t) * S, a->h + (row + 1) * S, S * sizeof(float));
        if (r->c) memcpy(r->c + (slot * T + t) * H, a->c + (row + 1) * H, H * sizeof(float));
        if (r->gates)
            for (size_t q = 0; q < ng; q++)
                memcpy(r->gates + ((slot * ng + q) * T + t) * H, a->gates + row * G + q * H, H * sizeof(float));
    }
}

/* The head on each of the chunk's n steps: softmax probabilities (the formula of lstm_predict)
 * or the MSE head's values, into out (n, V). */
static void head_outputs(lstm_model *m, lstm_workspace *w, int n, float *out) {
    const lstm_config *c = &m->cfg;
    const int D = lstm_directions(c), O = lstm_output_width(c), V = c->output_size;
    const float *top = w->layer[(c->num_layers - 1) * D].out; /* (n, O) */
    for (int r = 0; r < n; r++) memcpy(w->logits + (size_t)r * V, m->p.b_out, (size_t)V * sizeof(float));
    lstm_product(m->k, w, n, V, O, top, O, m->pk.w_out, m->q8 ? &m->q8->w_out : NULL, w->logits, V);
    for (int r = 0; r < n; r++) {
        const float *y = w->logits + (size_t)r * V;
        float *dst = out + (size_t)r * V;
        if (c->head == LSTM_HEAD_MSE) {
            memcpy(dst, y, (size_t)V * sizeof(float));
            continue;
        }
        const float top_logit = y[lstm_argmax(y, V)]; /* subtract the max: exp() overflows above 88 */
        double sum = 0.0;
        for (int j = 0; j < V; j++) sum += dst[j] = expf(y[j] - top_logit);
        for (int j = 0; j < V; j++) dst[j] = (float)(dst[j] / sum);
    }
}

lstm_status lstm_trace(lstm_model *m, const lstm_trace_request *r) {
    if (!m) return LSTM_ERR_INVALID_ARGUMENT;
    lstm_status st = check_request(m, r);
    if (st != LSTM_OK) return st;
    const lstm_config *c = &m->cfg;
    const int T = r->steps, D = lstm_directions(c), L = c->num_layers, V = c->output_size;
    const size_t H = (size_t)c->hidden_size, S = (size_t)lstm_state_size(c), X0 = (size_t)m->X0;
    const int chunk = D == 2 || T < TRACE_CHUNK ? T : TRACE_CHUNK;
    lstm_workspace w;
    if (lstm_workspace_forward(m, &w, 1, chunk) != LSTM_OK)
        return lstm_fail(m, LSTM_ERR_OUT_OF_MEMORY, "cannot allocate the activations of %d steps for a trace", chunk);
    /* the workspace starts zeroed: each unit's initial h and c (row 0) are a zero state */
    for (int t0 = 0; t0 < T; t0 += chunk) {
        const int n = T - t0 < chunk ? T - t0 : chunk; /* the last chunk may be shorter: same B, fewer rows */
        if (c->input_vocab) memcpy(w.tokens, r->tokens + t0, (size_t)n * sizeof(int32_t));
        else memcpy(w.x, r->inputs + (size_t)t0 * X0, (size_t)n * X0 * sizeof(float));
        lstm_network_forward(m, &w, 1, n, NULL);
        size_t slot = 0;
        for (int l = 0; l < L; l++)
            if (r->layers >> l & 1u)
                for (int d = 0; d < D; d++) copy_unit(c, &w.layer[l * D + d], r, slot++, d == 1, t0, n);
        if (r->outputs) head_outputs(m, &w, n, r->outputs + (size_t)t0 * V);
        /* the state after the chunk is the next chunk's initial state */
        for (int u = 0; u < L * D; u++) {
            lstm_layer_acts *a = &w.layer[u];
            memcpy(a->h, a->h + (size_t)n * S, S * sizeof(float));
            memcpy(a->c, a->c + (size_t)n * H, H * sizeof(float));
        }
    }
    lstm_workspace_free(&w);
    return LSTM_OK;
}
