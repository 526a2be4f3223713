/* samples.c - several samples of one prompt at once (lstm_samples_* in include/lstm.h): sample
 * k's state is row k of one forward-only workspace, all rows advanced together by the network's
 * own forward pass (one matrix product per layer and step for all of them, network.c), each
 * sampled with its own generator (sampler.c). A stopped sample's row goes on being computed,
 * unused, until the batch ends: its slot cannot be given up without laying the workspace out
 * again for fewer rows (a layer's output sits after all B rows of its state). A product's
 * elements do not depend on the other rows or their number (kernels.h), so a sample writes the
 * same tokens however many run beside it. */
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "rng.h"

void lstm_samples_release(lstm_model *m) {
    lstm_workspace_free(&m->samples.w);
    free(m->samples.rng); /* the slot table's one allocation */
    memset(&m->samples, 0, sizeof m->samples);
}

/* Copy row `from` (of the batch, or with batch NULL the inference state) into row `to` of
 * `into` (NULL: the inference state): each unit's h and c, the logits, the tokens read. */
static void copy_row(lstm_model *m, lstm_workspace *into, int to, const lstm_workspace *batch, int from) {
    const lstm_config *c = &m->cfg;
    const size_t S = (size_t)lstm_state_size(c), H = (size_t)c->hidden_size, V = (size_t)c->output_size;
    const size_t W = (size_t)lstm_seen_words(c);
    lstm_workspace *dst = into ? into : &m->infer;
    const lstm_workspace *src = batch ? batch : &m->infer;
    for (int u = 0; u < c->num_layers; u++) {
        memcpy(dst->layer[u].h + (size_t)to * S, src->layer[u].h + (size_t)from * S, S * sizeof(float));
        memcpy(dst->layer[u].c + (size_t)to * H, src->layer[u].c + (size_t)from * H, H * sizeof(float));
    }
    memcpy(dst->logits + (size_t)to * V, src->logits + (size_t)from * V, V * sizeof(float));
    memcpy(dst->seen + (size_t)to * W, src->seen + (size_t)from * W, W * sizeof(uint32_t));
}

lstm_status lstm_samples_start(lstm_model *m, int32_t n, uint32_t flags, uint32_t seed, const int32_t *prompt,
                               int32_t n_prompt) {
    if (!m) return LSTM_ERR_INVALID_ARGUMENT;
    lstm_status st = lstm_check_generation(m);
    if (st == LSTM_OK) st = lstm_check_prompt(m, prompt, n_prompt);
    if (st != LSTM_OK) return st;
    if (n < 1 || n > LSTM_MAX_SAMPLES)
        return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "samples must be in [1, %d], got %d", LSTM_MAX_SAMPLES, n);
    if (flags & ~(LSTM_SAMPLES_CONTINUE | LSTM_SAMPLES_KEEP_SAMPLER))
        return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT,
                         "flags must combine LSTM_SAMPLES_CONTINUE (1) and LSTM_SAMPLES_KEEP_SAMPLER (2), got %u", flags);
    if ((flags & LSTM_SAMPLES_KEEP_SAMPLER) && n != 1)
        return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT,
                         "LSTM_SAMPLES_KEEP_SAMPLER continues the one sampler the model has: n must be 1, got %d (seed the samples instead)", n);
    const int from_state = (flags & LSTM_SAMPLES_CONTINUE) != 0;
    if (n_prompt == 0 && !(from_state && m->has_logits))
        return lstm_fail(m, LSTM_ERR_STATE, "empty prompt and no previous step to continue from");
    /* the rows first: a failed allocation leaves the model as it was */
    if (m->samples.n != n) {
        lstm_sample_batch b;
        memset(&b, 0, sizeof b);
        if (lstm_workspace_forward(m, &b.w, n, 1) != LSTM_OK)
            return lstm_fail(m, LSTM_ERR_OUT_OF_MEMORY, "cannot allocate the states of %d samples", n);
        b.rng = malloc((size_t)n * (sizeof(uint64_t) + 1));
        if (!b.rng) {
            lstm_workspace_free(&b.w);
            return lstm_fail(m, LSTM_ERR_OUT_OF_MEMORY, "cannot allocate the samplers of %d samples", n);
        }
        b.running = (uint8_t *)(b.rng + n);
        b.n = n;
        lstm_samples_release(m);
        m->samples = b;
    }
    /* the start: the inference state after the prompt, read once */
    if (!from_state) lstm_infer_zero(m);
    for (int32_t i = 0; i < n_prompt; i++) lstm_infer_advance(m, prompt[i], NULL);
    lstm_sample_batch *b = &m->samples;
    for (int k = 0; k < n; k++) {
        copy_row(m, &b->w, k, NULL, 0);
        b->rng[k] = flags & LSTM_SAMPLES_KEEP_SAMPLER ? m->sample_rng : rng_seed(seed + (uint32_t)k, 2);
        b->running[k] = 1;
    }
    b->active = n;
    m->sample_rng = b->rng[0]; /* the inference state follows sample 0 */
    return LSTM_OK;
}

lstm_status lstm_samples_generate(lstm_model *m, const lstm_sampling *s, int32_t n_out, int32_t *out) {
    if (!m) return LSTM_ERR_INVALID_ARGUMENT;
    lstm_sample_batch *b = &m->samples;
    if (!b->n) return lstm_fail(m, LSTM_ERR_STATE, "no samples are running: lstm_samples_start first");
    lstm_status st = lstm_check_sampling(m, s);
    if (st != LSTM_OK) return st;
    if (n_out < 0 || (n_out > 0 && !out))
        return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "output length must be >= 0, got %d", n_out);
    const lstm_config *c = &m->cfg;
    const size_t S = (size_t)lstm_state_size(c), H = (size_t)c->hidden_size, V = (size_t)c->output_size;
    const size_t W = (size_t)lstm_seen_words(c);
    lstm_workspace *w = &b->w;
    const int B = b->n;
    for (size_t i = 0; i < (size_t)B * (size_t)n_out; i++) out[i] = -1;
    for (int32_t i = 0; i < n_out && b->active > 0; i++) {
        for (int k = 0; k < B; k++) {
            if (!b->running[k]) continue; /* its row reads its last token again, unused */
            const int32_t t = lstm_sample_row(m, w->logits + (size_t)k * V, w->seen + (size_t)k * W, &b->rng[k], s);
            out[(size_t)k * (size_t)n_out + (size_t)i] = t;
            w->tokens[k] = t;
            lstm_seen_add(w->seen + (size_t)k * W, t, (int)V);
        }
        /* every sample one step on: row k of each product is sample k's */
        lstm_network_forward(m, w, B, 1, NULL);
        lstm_head_forward(m, w, B, 1);
        for (int u = 0; u < c->num_layers; u++) {
            lstm_layer_acts *a = &w->layer[u];
            memcpy(a->h, a->h + (size_t)B * S, (size_t)B * S * sizeof(float));
            memcpy(a->c, a->c + (size_t)B * H, (size_t)B * H * sizeof(float));
        }
    }
    if (b->running[0]) { /* the inference state follows sample 0 */
        copy_row(m, NULL, 0, w, 0);
        m->sample_rng = b->rng[0];
        m->has_logits = 1;
    }
    return LSTM_OK;
}

lstm_status lstm_samples_stop(lstm_model *m, int32_t k) {
    if (!m) return LSTM_ERR_INVALID_ARGUMENT;
    lstm_sample_batch *b = &m->samples;
    if (k == -1) {
        lstm_samples_release(m);
        return LSTM_OK;
    }
    if (!b->n) return lstm_fail(m, LSTM_ERR_STATE, "no samples are running: lstm_samples_start first");
    if (k < 0 || k >= b->n)
        return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "sample must be in [0, %d) or -1 (all), got %d", b->n, k);
    if (b->running[k]) { /* a sample already stopped stays stopped */
        b->running[k] = 0;
        b->active--;
    }
    return LSTM_OK;
}
