/* infer.c - single-sequence inference, one step at a time, and the sampler
 * (temperature, top-k, top-p, argmax) driven by the model's own seeded generator. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fastmath.h"
#include "model.h"
#include "rng.h"

/* Step-by-step inference cannot run a unit that reads the sequence from its end. */
static lstm_status refuse_bidirectional(lstm_model *m) {
    return lstm_fail(m, LSTM_ERR_STATE,
                     "a bidirectional model needs the whole sequence: use predict (lstm_predict), not step-by-step inference");
}

lstm_status lstm_infer_reset(lstm_model *m) {
    if (!m) return LSTM_ERR_INVALID_ARGUMENT;
    if (m->cfg.bidirectional) return refuse_bidirectional(m);
    const size_t n = (size_t)m->cfg.num_layers * m->cfg.hidden_size;
    memset(m->inf.h, 0, n * sizeof(float));
    memset(m->inf.c, 0, n * sizeof(float));
    m->inf.has_logits = 0;
    lstm_embed_refresh(m);
    return LSTM_OK;
}

/* Advance the inference state by one input; the caller has validated it. */
static void infer_step(lstm_model *m, int32_t token, const float *input) {
    const lstm_kernels *k = m->k;
    const int gru = m->cfg.cell == LSTM_CELL_GRU;
    const int H = m->cfg.hidden_size, G = lstm_gate_count(&m->cfg) * H, L = m->cfg.num_layers;
    const int S = lstm_state_size(&m->cfg); /* h is S wide, in blocks of H */
    lstm_infer *s = &m->inf;
    for (int l = 0; l < L; l++) {
        const lstm_layer_tensors *p = &m->p.layer[l];
        float *h = s->h + (size_t)l * H, *c = s->c + (size_t)l * H;
        /* the GRU keeps b_hh with the recurrent product: the reset gate scales its n rows */
        if (l == 0 && m->cfg.input_vocab) {
            if (m->embed_version != m->param_version) lstm_embed_refresh(m);
            const float *e = m->embed + (size_t)token * G;
            for (int j = 0; j < G; j++) s->gates[j] = p->b_ih[j] + (gru ? 0.0f : p->b_hh[j]) + e[j];
        } else {
            for (int j = 0; j < G; j++) s->gates[j] = p->b_ih[j] + (gru ? 0.0f : p->b_hh[j]);
            const int X = l == 0 ? m->X0 : S;
            const float *x = l == 0 ? input : s->h + (size_t)(l - 1) * H;
            k->gemm_nt(1, G, X, x, X, p->w_ih, X, s->gates, G);
        }
        if (gru) {
            float *gh = s->gates + G;
            memcpy(gh, p->b_hh, (size_t)G * sizeof(float));
            k->gemm_nt(1, G, H, h, H, p->w_hh, H, gh, G);
            lstm_gru_cell_forward(k, 1, H, s->gates, gh, h, s->tanh_c, h,
                                  m->cfg.activation == LSTM_ACTIVATION_RELU); /* h in place */
            continue;
        }
        k->gemm_nt(1, G, S, h, S, p->w_hh, S, s->gates, G);
        /* c and h update in place: each element is read before it is written; with a
         * projection the cell writes o * tanh(c) to mh and h = W_hr mh */
        float *cell_h = p->w_hr ? s->mh : h;
        if (p->ln_g) lstm_ln_cell_forward(1, H, s->gates, c, c, s->tanh_c, cell_h, p->ln_g, p->ln_c, NULL, NULL, NULL, NULL);
        else if (lstm_variant_cell(&m->cfg)) lstm_variant_cell_forward(&m->cfg, 1, H, s->gates, c, c, s->tanh_c, cell_h, p->peep);
        else k->lstm_cell_forward(1, H, s->gates, c, c, s->tanh_c, cell_h);
        if (p->w_hr) {
            memset(h, 0, (size_t)S * sizeof(float));
            k->gemm_nt(1, S, H, s->mh, H, p->w_hr, H, h, S);
        }
    }
    memcpy(s->logits, m->p.b_out, (size_t)m->cfg.output_size * sizeof(float));
    k->gemm_nt(1, m->cfg.output_size, S, s->h + (size_t)(L - 1) * H, S, m->p.w_out, S, s->logits,
               m->cfg.output_size);
    s->has_logits = 1;
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
    infer_step(m, token, input);
    if (logits_out) memcpy(logits_out, m->inf.logits, (size_t)m->cfg.output_size * sizeof(float));
    return LSTM_OK;
}

const float *lstm_infer_logits(const lstm_model *m) { return m ? m->inf.logits : NULL; }

lstm_status lstm_sampler_seed(lstm_model *m, uint32_t seed) {
    if (!m) return LSTM_ERR_INVALID_ARGUMENT;
    m->sample_rng = rng_seed(seed, 2);
    return LSTM_OK;
}

static lstm_status check_sampling(lstm_model *m, const lstm_sampling *s) {
    if (!s) return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "sampling is NULL");
    if (!(isfinite(s->temperature) && s->temperature >= 0.0f && s->temperature <= 100.0f))
        return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "temperature must be in [0, 100], got %g",
                         (double)s->temperature);
    if (s->top_k < 0)
        return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "top_k must be >= 0, got %d", s->top_k);
    if (!(isfinite(s->top_p) && s->top_p >= 0.0f && s->top_p <= 1.0f))
        return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "top_p must be in [0, 1], got %g",
                         (double)s->top_p);
    return LSTM_OK;
}

typedef struct { float p; int32_t i; } prob_index;

/* descending probability, ties by lower index: the same order on every platform */
static int by_prob_desc(const void *a, const void *b) {
    const prob_index *x = a, *y = b;
    if (x->p != y->p) return x->p > y->p ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

static int32_t sample_logits(lstm_model *m, const lstm_sampling *s) {
    const int V = m->cfg.output_size;
    const float *z = m->inf.logits;
    int32_t best = 0;
    for (int v = 1; v < V; v++) best = z[v] > z[best] ? v : best;
    if (s->temperature == 0.0f) return best; /* argmax */
    float *p = m->inf.probs;
    const float inv_t = 1.0f / s->temperature;
    double total = 0.0;
    for (int v = 0; v < V; v++) {
        /* subtract the max: exp() overflows above 88 */
        p[v] = lstm_expf((z[v] - z[best]) * inv_t);
        total += p[v];
    }
    int use_k = s->top_k > 0 && s->top_k < V;
    int use_p = s->top_p > 0.0f && s->top_p < 1.0f;
    float u = rng_uniform(&m->sample_rng);
    if (!use_k && !use_p) {
        double target = u * total, acc = 0.0;
        for (int v = 0; v < V; v++) {
            acc += p[v];
            if (acc > target) return v;
        }
        return best; /* rounding left u*total at the very end */
    }
    prob_index *pi = m->inf.pairs;
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

lstm_status lstm_sample(lstm_model *m, const lstm_sampling *s, int32_t *token) {
    if (!m) return LSTM_ERR_INVALID_ARGUMENT;
    lstm_status st = check_sampling(m, s);
    if (st != LSTM_OK) return st;
    if (!token) return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "token is NULL");
    if (m->cfg.head != LSTM_HEAD_SOFTMAX)
        return lstm_fail(m, LSTM_ERR_STATE, "sampling needs the softmax head (head 0), got head %d",
                         m->cfg.head);
    if (!m->inf.has_logits)
        return lstm_fail(m, LSTM_ERR_STATE, "no logits to sample from: take an inference step first");
    *token = sample_logits(m, s);
    return LSTM_OK;
}

lstm_status lstm_generate(lstm_model *m, const int32_t *prompt, int32_t n_prompt,
                          const lstm_sampling *s, int32_t n_out, int32_t *out) {
    if (!m) return LSTM_ERR_INVALID_ARGUMENT;
    if (m->cfg.bidirectional) return refuse_bidirectional(m);
    if (!m->cfg.input_vocab)
        return lstm_fail(m, LSTM_ERR_STATE, "generate needs a token model; use infer_step");
    if (m->cfg.head != LSTM_HEAD_SOFTMAX)
        return lstm_fail(m, LSTM_ERR_STATE, "generate needs the softmax head (head 0), got head %d",
                         m->cfg.head);
    lstm_status st = check_sampling(m, s);
    if (st != LSTM_OK) return st;
    if (n_prompt < 0 || (n_prompt > 0 && !prompt))
        return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "prompt length must be >= 0, got %d", n_prompt);
    if (n_out < 0 || (n_out > 0 && !out))
        return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "output length must be >= 0, got %d", n_out);
    /* generated tokens are fed back, so they must be valid inputs too */
    if (m->cfg.output_size > m->cfg.input_vocab)
        return lstm_fail(m, LSTM_ERR_STATE, "output_size %d exceeds input_vocab %d: samples cannot be fed back",
                         m->cfg.output_size, m->cfg.input_vocab);
    for (int32_t i = 0; i < n_prompt; i++)
        if (prompt[i] < 0 || prompt[i] >= m->cfg.input_vocab)
            return lstm_fail(m, LSTM_ERR_TOKEN_RANGE, "prompt[%d] = %d is outside [0, %d)", i,
                             prompt[i], m->cfg.input_vocab);
    if (n_prompt == 0 && !m->inf.has_logits && n_out > 0)
        return lstm_fail(m, LSTM_ERR_STATE, "empty prompt and no previous step to continue from");
    for (int32_t i = 0; i < n_prompt; i++) infer_step(m, prompt[i], NULL);
    for (int32_t i = 0; i < n_out; i++) {
        int32_t t = sample_logits(m, s);
        out[i] = t;
        infer_step(m, t, NULL);
    }
    return LSTM_OK;
}
