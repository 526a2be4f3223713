/* workspace.c - the activations' layout: every piece of a workspace for a (B, T) batch, laid
 * out in one allocation. The same function measures (base NULL) and lays out, so the size is
 * the layout's own, computed in 64 bits and checked before anything is allocated. */
#include <stdlib.h>
#include <string.h>

#include "model.h"

/* Under AddressSanitizer (the native test builds) every piece of the workspace is followed by
 * a poisoned gap, so a piece sized too small is reported where it overflows, as a separate
 * allocation would be, instead of silently writing into its neighbour in the arena. */
#if defined(__SANITIZE_ADDRESS__)
#define WS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WS_ASAN 1
#endif
#endif
#ifdef WS_ASAN
#include <sanitizer/asan_interface.h>
#define WS_REDZONE 32
#define WS_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define WS_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define WS_REDZONE 0
#define WS_POISON(p, n) ((void)0)
#define WS_UNPOISON(p, n) ((void)0)
#endif

typedef struct {
    char *base;    /* NULL: measure only */
    uint64_t off;  /* bytes so far */
} layout;

/* The next piece of `count` elements of `size` bytes, 16-byte aligned (SIMD loads are fastest
 * aligned); NULL when it is empty or only being measured. */
static void *take(layout *l, uint64_t count, size_t size) {
    void *p = l->base && count ? l->base + l->off : NULL;
    l->off += (count * size + 15) & ~(uint64_t)15;
    if (l->base) WS_POISON(l->base + l->off, WS_REDZONE);
    l->off += WS_REDZONE;
    return p;
}
#define TAKE_F(l, n) ((float *)take(l, (uint64_t)(n), sizeof(float)))
#define TAKE_I(l, n) ((int32_t *)take(l, (uint64_t)(n), sizeof(int32_t)))

/* Lay out (or, with base NULL, measure) workspace w for (B, T); returns its bytes. Forward-only
 * workspaces (inference) leave out what backward, dropout and the task heads' targets need. */
static uint64_t lay_out(const lstm_config *c, int quantized, lstm_workspace *w, int B, int T, int backward, char *base) {
    const uint64_t H = (uint64_t)c->hidden_size, L = (uint64_t)c->num_layers, V = (uint64_t)c->output_size;
    const uint64_t X0 = (uint64_t)(c->input_vocab ? c->input_vocab : c->input_size), R = (uint64_t)B * (uint64_t)T, Bu = (uint64_t)B;
    const int dense = c->input_vocab == 0, mse = c->head == LSTM_HEAD_MSE, last = c->last_step_only;
    const int gru = c->cell == LSTM_CELL_GRU, proj = c->proj_size > 0, ln = c->layer_norm;
    const int drop = backward && c->dropout > 0.0f, rdrop = backward && c->recurrent_dropout > 0.0f;
    const uint64_t G = (uint64_t)lstm_gate_count(c) * H, S = (uint64_t)lstm_state_size(c);
    const uint64_t D = (uint64_t)lstm_directions(c), O = D * S, U = (uint64_t)lstm_unit_count(c);
    const int bidi = D == 2;
    /* the widest layer input (dense X0 or a layer's output) and a bound on it of D*H */
    const uint64_t XI = dense && X0 > O ? X0 : O, XH = dense && X0 > D * H ? X0 : D * H;
    layout l = {base, 0};
    if (base) WS_UNPOISON(base, w->bytes); /* a new layout: earlier gaps may be pieces now */
    w->backward = backward;
    /* first, so its place depends on B only: evaluation re-lays the rest for a short tail */
    w->state = TAKE_F(&l, backward ? 2 * L * Bu * H : 0);
    for (uint64_t u = 0; u < U; u++) {
        lstm_layer_acts *a = &w->layer[u];
        const int first = u % D == 0; /* a layer's output lives with its forward unit */
        a->h = TAKE_F(&l, (R + Bu) * S);
        a->c = TAKE_F(&l, (R + Bu) * H);
        a->gates = TAKE_F(&l, R * G);
        a->tanh_c = TAKE_F(&l, R * H);
        a->cat = bidi ? TAKE_F(&l, first ? R * O : 0) : (a->h ? a->h + Bu * S : NULL);
        a->mask = TAKE_F(&l, drop && first ? R * O : 0);
        a->out = drop && first ? TAKE_F(&l, R * O) : a->cat;
        a->rmask = TAKE_F(&l, rdrop ? Bu * S : 0);
        a->mh = TAKE_F(&l, proj ? R * H : 0);
        a->ln_xg = TAKE_F(&l, ln ? R * G : 0);
        a->ln_rg = TAKE_F(&l, ln ? R * 4 : 0);
        a->ln_xc = TAKE_F(&l, ln ? R * H : 0);
        a->ln_rc = TAKE_F(&l, ln ? R : 0);
    }
    w->x = TAKE_F(&l, dense ? R * X0 : 0);
    w->tokens = TAKE_I(&l, R);
    w->targets = TAKE_I(&l, backward ? R : 0);
    w->logits = TAKE_F(&l, R * V);
    w->bias = TAKE_F(&l, G);
    w->values = TAKE_F(&l, backward && mse ? (last ? Bu : R) * V : 0);
    w->last = TAKE_F(&l, last ? Bu * O : 0);
    w->hm = TAKE_F(&l, rdrop ? Bu * S : 0);
    w->gh = TAKE_F(&l, gru ? Bu * G : 0);
    w->xrev = TAKE_F(&l, bidi ? R * XI : 0);
    w->tokrev = TAKE_I(&l, bidi && !dense ? R : 0);
    /* gradients: a quantised model never trains (every backward call refuses it) */
    const int grads = backward && !quantized;
    w->dgates = TAKE_F(&l, grads ? R * G : 0);
    w->dgh = TAKE_F(&l, grads && gru ? R * G : 0);
    w->dout = TAKE_F(&l, grads ? R * XH : 0);
    w->dc = TAKE_F(&l, grads ? Bu * H : 0);
    w->cell_scratch = TAKE_F(&l, grads && ln ? 5 * H : 0);
    w->dbi = TAKE_F(&l, grads && bidi ? 2 * R * S : 0);
    w->dx2 = TAKE_F(&l, grads && bidi ? R * XI : 0);
    w->dm = TAKE_F(&l, grads && proj ? Bu * H : 0);
    w->dx = TAKE_F(&l, grads && dense ? R * X0 : 0);
    w->pk_rec = TAKE_F(&l, grads ? LSTM_PANEL_FLOATS(G, S) : 0);
    w->pk_aux = TAKE_F(&l, !grads ? 0 : proj ? LSTM_PANEL_FLOATS(S, H) : gru && c->gru_reset_before ? LSTM_PANEL_FLOATS(H, H) : 0);
    /* one product's operand: a weight gradient's rows (x, h, mh, r * h, the head's input),
     * W_ih for the input gradient, W_out for the head's; token models' (G, X0) scratch */
    uint64_t op = LSTM_PANEL_FLOATS(R, XH);
    if (LSTM_PANEL_FLOATS(G, XH) > op) op = LSTM_PANEL_FLOATS(G, XH);
    if (LSTM_PANEL_FLOATS(V, O) > op) op = LSTM_PANEL_FLOATS(V, O);
    if (!dense && X0 * G > op) op = X0 * G;
    w->pk_op = TAKE_F(&l, grads ? op : 0);
    w->dembed = TAKE_F(&l, grads && !dense ? X0 * G : 0);
    w->aq = (int16_t *)take(&l, quantized ? R * XH : 0, sizeof(int16_t));
    w->aq_scale = TAKE_F(&l, quantized ? R : 0);
    w->seen = (uint32_t *)take(&l, backward ? 0 : Bu * (uint64_t)lstm_seen_words(c), sizeof(uint32_t));
    w->lengths = NULL;
    return l.off;
}

lstm_status lstm_workspace_for(lstm_model *m, int B, int T) {
    if (B < 1 || B > LSTM_MAX_BATCH)
        return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "batch size must be in [1, %d], got %d", LSTM_MAX_BATCH, B);
    if (T < 1 || T > LSTM_MAX_STEPS)
        return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "sequence length must be in [1, %d], got %d",
                         LSTM_MAX_STEPS, T);
    lstm_workspace *w = &m->ws;
    if (w->arena && w->B == B && w->T == T) return LSTM_OK;
    lstm_workspace sized = *w;
    const uint64_t bytes = lay_out(&m->cfg, m->q8 != NULL, &sized, B, T, 1, NULL);
    if (bytes > (uint64_t)SIZE_MAX / 2)
        return lstm_fail(m, LSTM_ERR_OUT_OF_MEMORY,
                         "batch %d x %d needs %.0f MB of activations, too much for this build", B, T, (double)bytes / 1e6);
    if (bytes > w->bytes) {
        void *arena = malloc((size_t)bytes);
        if (!arena)
            return lstm_fail(m, LSTM_ERR_OUT_OF_MEMORY, "cannot allocate %zu bytes of activations for batch %d x %d",
                             (size_t)bytes, B, T);
        free(w->arena);
        w->arena = arena;
        w->bytes = (size_t)bytes;
    }
    lay_out(&m->cfg, m->q8 != NULL, w, B, T, 1, w->arena);
    w->B = B;
    w->T = T;
    return LSTM_OK;
}

void lstm_workspace_relayout(lstm_model *m, int T) {
    lay_out(&m->cfg, m->q8 != NULL, &m->ws, m->ws.B, T, 1, m->ws.arena);
    m->ws.T = T;
}

lstm_status lstm_workspace_forward(const lstm_model *m, lstm_workspace *w, int B, int T) {
    memset(w, 0, sizeof *w);
    const uint64_t bytes = lay_out(&m->cfg, m->q8 != NULL, w, B, T, 0, NULL);
    if (bytes > (uint64_t)SIZE_MAX / 2) return LSTM_ERR_OUT_OF_MEMORY;
    w->arena = calloc(1, (size_t)bytes); /* zeroed: every unit starts from a zero state */
    if (!w->arena) return LSTM_ERR_OUT_OF_MEMORY;
    w->bytes = (size_t)bytes;
    lay_out(&m->cfg, m->q8 != NULL, w, B, T, 0, w->arena);
    w->B = B;
    w->T = T;
    return LSTM_OK;
}

void lstm_workspace_free(lstm_workspace *w) {
    free(w->arena);
    memset(w, 0, sizeof *w);
}

lstm_status lstm_workspace_infer(lstm_model *m) { return lstm_workspace_forward(m, &m->infer, 1, 1); }

lstm_status lstm_estimate_memory(const lstm_config *config, int32_t batch, int32_t steps, int32_t optimizer,
                                 lstm_memory *out, lstm_message *msg) {
    uint64_t n = 0;
    lstm_status st = lstm_config_check(config, &n, msg);
    if (st != LSTM_OK) return st;
    if (batch < 1 || batch > LSTM_MAX_BATCH || steps < 1 || steps > LSTM_MAX_STEPS) {
        lstm_message_set(msg, "batch must be in [1, %d] and steps in [1, %d], got %d and %d", LSTM_MAX_BATCH,
                         LSTM_MAX_STEPS, batch, steps);
        return LSTM_ERR_INVALID_ARGUMENT;
    }
    if (optimizer < LSTM_OPTIMIZER_SGD || optimizer > LSTM_OPTIMIZER_ADAM) {
        lstm_message_set(msg, "optimizer type must be 0 (sgd), 1 (rmsprop) or 2 (adam), got %d", optimizer);
        return LSTM_ERR_INVALID_ARGUMENT;
    }
    if (!out) {
        lstm_message_set(msg, "out is NULL");
        return LSTM_ERR_INVALID_ARGUMENT;
    }
    lstm_workspace w;
    memset(&w, 0, sizeof w);
    const uint64_t V = (uint64_t)config->output_size, G = (uint64_t)lstm_gate_count(config) * config->hidden_size;
    const uint64_t carry = 2ull * 2 * config->num_layers * (uint64_t)batch * config->hidden_size; /* see lstm_carry_resize */
    out->parameters = n;
    out->parameter_bytes = 2 * 4 * n; /* parameters and gradients */
    out->optimizer_bytes = (uint64_t)lstm_moments_for(optimizer) * 4 * n;
    out->activation_bytes = lay_out(config, 0, &w, batch, steps, 1, NULL) + 4 * carry;
    lstm_packed pk;
    out->inference_bytes = lay_out(config, 0, &w, 1, 1, 0, NULL) + 4 * 3 * V +                   /* sampler */
                           4 * (uint64_t)lstm_directions(config) * (uint64_t)config->input_vocab * G + /* embed */
                           4 * lstm_point_packed(config, NULL, &pk);                              /* packed weights */
    out->total_bytes = out->parameter_bytes + out->optimizer_bytes + out->activation_bytes + out->inference_bytes;
    return LSTM_OK;
}
