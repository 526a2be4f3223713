/* infer.c - step-by-step inference on one sequence: the network's own forward pass (network.c)
 * on the inference workspace, one step at a time, whose units' first rows are the state; and
 * generation, which feeds each sampled token (sampler.c) back in (several samples at once:
 * samples.c). */
#include <math.h>
#include <string.h>

#include "model.h"

/* Step-by-step inference cannot run a unit that reads the sequence from its end. */
static lstm_status refuse_bidirectional(lstm_model *m) {
    return lstm_fail(m, LSTM_ERR_STATE,
                     "a bidirectional model needs the whole sequence: use predict (lstm_predict), not step-by-step inference");
}

void lstm_infer_zero(lstm_model *m) {
    lstm_load_state(&m->infer, &m->cfg, 1, NULL);
    if (m->infer.seen) memset(m->infer.seen, 0, (size_t)lstm_seen_words(&m->cfg) * sizeof(uint32_t));
    m->has_logits = 0;
}

lstm_status lstm_infer_reset(lstm_model *m) {
    if (!m) return LSTM_ERR_INVALID_ARGUMENT;
    if (m->cfg.bidirectional) return refuse_bidirectional(m);
    lstm_infer_zero(m);
    return LSTM_OK;
}

/* Advance the inference state by one input (validated by the caller): the network over one
 * step from the state in each unit's first row, then the new state (its second row) moved
 * into the first. */
void lstm_infer_advance(lstm_model *m, int32_t token, const float *input) {
    lstm_workspace *w = &m->infer;
    if (input) {
        memcpy(w->x, input, (size_t)m->X0 * sizeof(float)); /* a dense model's */
    } else {
        w->tokens[0] = token;
        lstm_seen_add(w->seen, token, m->cfg.output_size); /* what the repetition penalty scales */
    }
    lstm_network_forward(m, w, 1, 1, NULL);
    lstm_head_forward(m, w, 1, 1);
    const size_t H = (size_t)m->cfg.hidden_size, S = (size_t)lstm_state_size(&m->cfg);
    for (int u = 0; u < m->cfg.num_layers; u++) {
        lstm_layer_acts *a = &w->layer[u];
        memcpy(a->h, a->h + S, S * sizeof(float));
        memcpy(a->c, a->c + H, H * sizeof(float));
    }
    m->has_logits = 1;
}

lstm_status lstm_infer_step(lstm_model *m, int32_t token, const float *input, float *logits_out) {
    if (!m) return LSTM_ERR_INVALID_ARGUMENT;
    if (m->cfg.bidirectional) return refuse_bidirectional(m);
    if (m->cfg.input_vocab) {
        if (token < 0 || token >= m->cfg.input_vocab)
            return lstm_fail(m, LSTM_ERR_TOKEN_RANGE, "token %d is outside [0, %d)", token,
                             m->cfg.input_vocab);
    } else {
        if (!input) return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "input is NULL (dense model)");
        for (int i = 0; i < m->X0; i++)
            if (!isfinite(input[i]))
                return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "input[%d] is not finite", i);
    }
    lstm_infer_advance(m, token, m->cfg.input_vocab ? NULL : input);
    if (logits_out) memcpy(logits_out, m->infer.logits, (size_t)m->cfg.output_size * sizeof(float));
    return LSTM_OK;
}

const float *lstm_infer_logits(const lstm_model *m) { return m ? m->infer.logits : NULL; }

lstm_status lstm_check_generation(lstm_model *m) {
    if (m->cfg.bidirectional) return refuse_bidirectional(m);
    if (!m->cfg.input_vocab)
        return lstm_fail(m, LSTM_ERR_STATE, "generate needs a token model; use infer_step");
    if (m->cfg.head != LSTM_HEAD_SOFTMAX)
        return lstm_fail(m, LSTM_ERR_STATE, "generate needs the softmax head (head 0), got head %d",
                         m->cfg.head);
    /* generated tokens are fed back, so they must be valid inputs too */
    if (m->cfg.output_size > m->cfg.input_vocab)
        return lstm_fail(m, LSTM_ERR_STATE, "output_size %d exceeds input_vocab %d: samples cannot be fed back",
                         m->cfg.output_size, m->cfg.input_vocab);
    return LSTM_OK;
}

lstm_status lstm_check_prompt(lstm_model *m, const int32_t *prompt, int32_t n_prompt) {
    if (n_prompt < 0 || (n_prompt > 0 && !prompt))
        return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "prompt length must be >= 0, got %d", n_prompt);
    for (int32_t i = 0; i < n_prompt; i++)
        if (prompt[i] < 0 || prompt[i] >= m->cfg.input_vocab)
            return lstm_fail(m, LSTM_ERR_TOKEN_RANGE, "prompt[%d] = %d is outside [0, %d)", i,
                             prompt[i], m->cfg.input_vocab);
    return LSTM_OK;
}

lstm_status lstm_generate(lstm_model *m, const int32_t *prompt, int32_t n_prompt,
                          const lstm_sampling *s, int32_t n_out, int32_t *out) {
    if (!m) return LSTM_ERR_INVALID_ARGUMENT;
    lstm_status st = lstm_check_generation(m);
    if (st == LSTM_OK) st = lstm_check_sampling(m, s);
    if (st == LSTM_OK) st = lstm_check_prompt(m, prompt, n_prompt);
    if (st != LSTM_OK) return st;
    if (n_out < 0 || (n_out > 0 && !out))
        return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "output length must be >= 0, got %d", n_out);
    if (n_prompt == 0 && !m->has_logits && n_out > 0)
        return lstm_fail(m, LSTM_ERR_STATE, "empty prompt and no previous step to continue from");
    for (int32_t i = 0; i < n_prompt; i++) lstm_infer_advance(m, prompt[i], NULL);
    for (int32_t i = 0; i < n_out; i++) {
        int32_t t = lstm_sample_logits(m, s);
        out[i] = t;
        lstm_infer_advance(m, t, NULL);
    }
    return LSTM_OK;
}
