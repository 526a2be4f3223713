/* train.c - the public training calls: batches and token streams are checked and copied
 * into the workspace, then run through the network (network.c); a training step adds the
 * optimizer update under the bad-step policy (optimizer.c, step_guard.c). Also evaluation and
 * prediction, which run the same forward pass from a zero state. */
#include <math.h>
#include <string.h>

#include "model.h"

/* Layers, head and loss over the batch in the training workspace; the mean loss. */
static double forward(lstm_model *m, int B, int T, uint64_t *rng, size_t *correct) {
    lstm_network_forward(m, &m->ws, B, T, rng);
    const size_t rows = lstm_head_forward(m, &m->ws, B, T);
    return lstm_head_loss(m, B, T, rows, correct);
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
    lstm_status st = lstm_workspace_for(m, bt->batch, bt->steps);
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
    lstm_load_state(&m->ws, &m->cfg, bt->batch, carried_state(m, bt->batch));
    double mean = forward(m, bt->batch, bt->steps, NULL, NULL);
    if (loss) *loss = mean;
    return LSTM_OK;
}

lstm_status lstm_compute_gradients(lstm_model *m, const lstm_batch *bt, double *loss) {
    if (!m) return LSTM_ERR_INVALID_ARGUMENT;
    lstm_status st = lstm_refuse_quantized(m, "compute_gradients");
    if (st == LSTM_OK) st = load_batch(m, bt, 1);
    if (st != LSTM_OK) return st;
    lstm_load_state(&m->ws, &m->cfg, bt->batch, carried_state(m, bt->batch));
    uint64_t rng = m->dropout_rng; /* a copy: the same masks on every call */
    double mean = forward(m, bt->batch, bt->steps, &rng, NULL);
    lstm_network_backward(m, bt->batch, bt->steps, 1);
    if (loss) *loss = mean;
    return LSTM_OK;
}

const float *lstm_input_gradients(const lstm_model *m) {
    return m && !m->cfg.input_vocab ? m->ws.dx : NULL;
}

/* One step on the batch already in the workspace. The batch's dropout masks are used up
 * whether the step is applied or skipped; the state is carried on only when applied. */
static lstm_status train_loaded(lstm_model *m, int B, int T, float *loss) {
    const int carry = !m->cfg.bidirectional;
    lstm_status st = lstm_ensure_optimizer(m);
    if (st == LSTM_OK && carry) st = lstm_carry_resize(m, B);
    if (st != LSTM_OK) return st;
    lstm_load_state(&m->ws, &m->cfg, B, carry ? m->carry : NULL);
    const uint64_t rng_before = m->dropout_rng;
    /* the loss as reported, in float: a double loss above FLT_MAX is reported as infinity */
    const float mean = (float)forward(m, B, T, &m->dropout_rng, NULL);
    if (loss) *loss = mean;
    if (!isfinite(mean)) return lstm_skip_step(m, LSTM_SKIP_LOSS, mean, rng_before);
    if (lstm_loss_spike(m, mean)) return lstm_skip_step(m, LSTM_SKIP_LOSS_SPIKE, mean, rng_before);
    lstm_network_backward(m, B, T, 0);
    const lstm_skip_reason why = lstm_apply_update(m);
    if (why != LSTM_SKIP_NONE) return lstm_skip_step(m, why, mean, rng_before);
    lstm_accept_step(m, mean);
    if (carry) lstm_store_state(&m->ws, &m->cfg, B, T, m->carry);
    return LSTM_OK;
}

lstm_status lstm_train_batch(lstm_model *m, const lstm_batch *bt, float *loss) {
    if (!m) return LSTM_ERR_INVALID_ARGUMENT;
    lstm_status st = lstm_refuse_quantized(m, "train_batch");
    if (st == LSTM_OK) st = load_batch(m, bt, 1);
    if (st != LSTM_OK) return st;
    return train_loaded(m, bt->batch, bt->steps, loss);
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
    lstm_status st = lstm_refuse_quantized(m, "train_stream");
    if (st == LSTM_OK) st = check_stream(m, stream, length, B, T);
    if (st != LSTM_OK) return st;
    const size_t stripe = length / (size_t)B;
    if (stripe < (size_t)T + 1)
        return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT,
                         "stream of %zu tokens is too short for batch %d x sequence %d (needs %zu)",
                         length, B, T, (size_t)B * ((size_t)T + 1));
    if (n_steps < 0) return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "n_steps must be >= 0, got %d", n_steps);
    st = lstm_workspace_for(m, B, T);
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
    st = lstm_workspace_for(m, B, T);
    if (st != LSTM_OK) return st;
    m->ws.lengths = NULL;
    float *state = m->ws.state;
    memset(state, 0, (size_t)2 * m->cfg.num_layers * B * m->cfg.hidden_size * sizeof(float));
    double total = 0.0;
    size_t count = 0;
    for (size_t pos = 0; pos + 1 < stripe;) {
        int t_len = stripe - 1 - pos < (size_t)T ? (int)(stripe - 1 - pos) : T;
        /* a shorter last chunk: re-lay the workspace for it, within the same arena */
        if (t_len != m->ws.T) lstm_workspace_relayout(m, t_len);
        load_stream_batch(m, stream, stripe, B, t_len, pos);
        lstm_load_state(&m->ws, &m->cfg, B, state);
        total += forward(m, B, t_len, NULL, NULL) * ((double)B * t_len);
        lstm_store_state(&m->ws, &m->cfg, B, t_len, state);
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
    lstm_load_state(&m->ws, &m->cfg, B, NULL);
    size_t correct = 0;
    const int softmax = m->cfg.head == LSTM_HEAD_SOFTMAX;
    *loss = forward(m, B, T, NULL, softmax ? &correct : NULL);
    if (accuracy) *accuracy = softmax ? (double)correct / (double)lstm_valid_rows(m, B, T) : NAN;
    return LSTM_OK;
}

lstm_status lstm_predict(lstm_model *m, const lstm_batch *bt, float *out, size_t capacity) {
    if (!m) return LSTM_ERR_INVALID_ARGUMENT;
    if (!out) return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "out is NULL");
    lstm_status st = load_batch(m, bt, 0);
    if (st != LSTM_OK) return st;
    const int B = bt->batch, T = bt->steps, V = m->cfg.output_size;
    const size_t need = lstm_head_rows(m, B, T) * (size_t)V;
    if (capacity < need)
        return lstm_fail(m, LSTM_ERR_BUFFER_TOO_SMALL, "out holds %zu floats, the batch needs %zu",
                         capacity, need);
    lstm_load_state(&m->ws, &m->cfg, B, NULL);
    lstm_network_forward(m, &m->ws, B, T, NULL);
    const size_t rows = lstm_head_forward(m, &m->ws, B, T);
    for (size_t r = 0; r < rows; r++) {
        /* time-major row r = t*B + b to the caller's batch-first place */
        const size_t b = m->cfg.last_step_only ? r : r % (size_t)B;
        float *dst = out + (m->cfg.last_step_only ? b : b * T + r / (size_t)B) * V;
        const float *y = m->ws.logits + r * V;
        if (!lstm_row_valid(m, B, r)) {
            memset(dst, 0, (size_t)V * sizeof(float));
        } else if (m->cfg.head == LSTM_HEAD_MSE) {
            memcpy(dst, y, (size_t)V * sizeof(float));
        } else {
            const float top = y[lstm_argmax(y, V)]; /* subtract the max: exp() overflows above 88 */
            double sum = 0.0;
            for (int j = 0; j < V; j++) sum += dst[j] = expf(y[j] - top);
            for (int j = 0; j < V; j++) dst[j] = (float)(dst[j] / sum);
        }
    }
    return LSTM_OK;
}
