/* sampler.c - the next token from a row of logits: the repetition penalty on the tokens read,
 * then temperature, then top-k, then top-p over what top-k kept (renormalised), or argmax at
 * temperature 0, drawn with a seeded generator (the model's own, or a sample's). The only
 * softmax and argmax outside the kernels. */
#include <math.h>
#include <stdlib.h>

#include "fastmath.h"
#include "model.h"
#include "rng.h"

lstm_status lstm_sampler_seed(lstm_model *m, uint32_t seed) {
    if (!m) return LSTM_ERR_INVALID_ARGUMENT;
    m->sample_rng = rng_seed(seed, 2);
    return LSTM_OK;
}

lstm_status lstm_check_sampling(lstm_model *m, const lstm_sampling *s) {
    if (!s) return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "sampling is NULL");
    if (!(isfinite(s->temperature) && s->temperature >= 0.0f && s->temperature <= 100.0f))
        return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "temperature must be in [0, 100], got %g",
                         (double)s->temperature);
    if (s->top_k < 0)
        return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "top_k must be >= 0, got %d", s->top_k);
    if (!(isfinite(s->top_p) && s->top_p >= 0.0f && s->top_p <= 1.0f))
        return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "top_p must be in [0, 1], got %g",
                         (double)s->top_p);
    if (!(isfinite(s->repetition_penalty) && s->repetition_penalty >= 0.0f && s->repetition_penalty <= 100.0f))
        return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "repetition_penalty must be 0 (off) or in (0, 100], got %g",
                         (double)s->repetition_penalty);
    return LSTM_OK;
}

typedef struct { float p; int32_t i; } prob_index;

/* descending probability, ties by lower index: the same order on every platform */
static int by_prob_desc(const void *a, const void *b) {
    const prob_index *x = a, *y = b;
    if (x->p != y->p) return x->p > y->p ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

int32_t lstm_sample_row(lstm_model *m, const float *z, const uint32_t *seen, uint64_t *rng, const lstm_sampling *s) {
    const int V = m->cfg.output_size;
    float *p = m->probs;
    const float penalty = s->repetition_penalty;
    if (seen && penalty > 0.0f && penalty != 1.0f) {
        /* the penalised logits, in the scratch the probabilities then overwrite one by one */
        for (int v = 0; v < V; v++) p[v] = !lstm_seen_has(seen, v) ? z[v] : z[v] > 0.0f ? z[v] / penalty : z[v] * penalty;
        z = p;
    }
    int32_t best = 0;
    for (int v = 1; v < V; v++) best = z[v] > z[best] ? v : best;
    if (s->temperature == 0.0f) return best; /* argmax */
    const float inv_t = 1.0f / s->temperature, top = z[best];
    double total = 0.0;
    for (int v = 0; v < V; v++) {
        /* subtract the max: exp() overflows above 88 */
        p[v] = lstm_expf((z[v] - top) * inv_t);
        total += p[v];
    }
    int use_k = s->top_k > 0 && s->top_k < V;
    int use_p = s->top_p > 0.0f && s->top_p < 1.0f;
    float u = rng_uniform(rng);
    if (!use_k && !use_p) {
        double target = u * total, acc = 0.0;
        for (int v = 0; v < V; v++) {
            acc += p[v];
            if (acc > target) return v;
        }
        return best; /* rounding left u*total at the very end */
    }
    prob_index *pi = m->pairs;
    for (int v = 0; v < V; v++) pi[v] = (prob_index){p[v], v};
    qsort(pi, (size_t)V, sizeof *pi, by_prob_desc);
    int n = use_k ? s->top_k : V;
    if (use_p) {
        /* top-p over what top-k kept, renormalised (as Hugging Face applies the two) */
        double mass = 0.0;
        for (int q = 0; q < n; q++) mass += pi[q].p;
        double acc = 0.0, limit = s->top_p * mass;
        int cut = 0;
        while (cut < n) {
            acc += pi[cut].p;
            cut++;
            if (acc >= limit) break;
        }
        n = cut;
    }
    double kept = 0.0;
    for (int q = 0; q < n; q++) kept += pi[q].p;
    double target = u * kept, acc = 0.0;
    for (int q = 0; q < n; q++) {
        acc += pi[q].p;
        if (acc > target) return pi[q].i;
    }
    return pi[0].i;
}

int32_t lstm_sample_logits(lstm_model *m, const lstm_sampling *s) {
    return lstm_sample_row(m, m->infer.logits, m->infer.seen, &m->sample_rng, s);
}

lstm_status lstm_sample(lstm_model *m, const lstm_sampling *s, int32_t *token) {
    if (!m) return LSTM_ERR_INVALID_ARGUMENT;
    lstm_status st = lstm_check_sampling(m, s);
    if (st != LSTM_OK) return st;
    if (!token) return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "token is NULL");
    if (m->cfg.head != LSTM_HEAD_SOFTMAX)
        return lstm_fail(m, LSTM_ERR_STATE, "sampling needs the softmax head (head 0), got head %d",
                         m->cfg.head);
    if (!m->has_logits)
        return lstm_fail(m, LSTM_ERR_STATE, "no logits to sample from: take an inference step first");
    *token = lstm_sample_logits(m, s);
    return LSTM_OK;
}

