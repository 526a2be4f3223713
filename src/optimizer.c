/* optimizer.c - the optimizer's settings and its update: clipping by the global gradient norm,
 * then SGD with momentum, RMSprop or Adam, all with decoupled weight decay, over the whole
 * parameter arena at once (one flat loop: the arenas are single allocations). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "model.h"

int lstm_moments_for(int32_t type) { return type == LSTM_OPTIMIZER_ADAM ? 2 : 1; }

void lstm_optimizer_defaults(lstm_optimizer *o) {
    if (!o) return;
    *o = (lstm_optimizer){.type = LSTM_OPTIMIZER_ADAM, .learning_rate = 2e-3f, .momentum = 0.0f,
                          .beta1 = 0.9f, .beta2 = 0.999f, .epsilon = 1e-8f, .weight_decay = 0.0f,
                          .clip_norm = 5.0f};
}

lstm_status lstm_optimizer_check(const lstm_optimizer *o, char *msg, size_t cap) {
#define BAD(...) do { snprintf(msg, cap, __VA_ARGS__); return LSTM_ERR_INVALID_ARGUMENT; } while (0)
    if (o->type < LSTM_OPTIMIZER_SGD || o->type > LSTM_OPTIMIZER_ADAM)
        BAD("optimizer type must be 0 (sgd), 1 (rmsprop) or 2 (adam), got %d", o->type);
    if (!(isfinite(o->learning_rate) && o->learning_rate > 0.0f && o->learning_rate <= 1e3f))
        BAD("learning_rate must be in (0, 1000], got %g", (double)o->learning_rate);
    if (!(isfinite(o->momentum) && o->momentum >= 0.0f && o->momentum < 1.0f))
        BAD("momentum must be in [0, 1), got %g", (double)o->momentum);
    if (!(isfinite(o->beta1) && o->beta1 >= 0.0f && o->beta1 < 1.0f))
        BAD("beta1 must be in [0, 1), got %g", (double)o->beta1);
    if (!(isfinite(o->beta2) && o->beta2 >= 0.0f && o->beta2 < 1.0f))
        BAD("beta2 must be in [0, 1), got %g", (double)o->beta2);
    if (!(isfinite(o->epsilon) && o->epsilon > 0.0f && o->epsilon <= 1.0f))
        BAD("epsilon must be in (0, 1], got %g", (double)o->epsilon);
    if (!(isfinite(o->weight_decay) && o->weight_decay >= 0.0f && o->weight_decay <= 1e3f))
        BAD("weight_decay must be in [0, 1000], got %g", (double)o->weight_decay);
    /* decoupled decay scales p by (1 - lr*decay) each step: at or past 1 it flips or explodes */
    if ((double)o->learning_rate * o->weight_decay >= 1.0)
        BAD("learning_rate * weight_decay must be below 1, got %g * %g", (double)o->learning_rate,
            (double)o->weight_decay);
    if (!isfinite(o->clip_norm))
        BAD("clip_norm must be finite (<= 0 disables clipping), got %g", (double)o->clip_norm);
#undef BAD
    return LSTM_OK;
}

lstm_status lstm_set_optimizer(lstm_model *m, const lstm_optimizer *o) {
    if (!m) return LSTM_ERR_INVALID_ARGUMENT;
    if (!o) return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "optimizer is NULL");
    lstm_status st = lstm_refuse_quantized(m, "set_optimizer");
    if (st != LSTM_OK) return st;
    st = lstm_optimizer_check(o, m->err, sizeof m->err);
    if (st != LSTM_OK) return st;
    if (!m->has_opt || o->type != m->opt.type) {
        int n = lstm_moments_for(o->type);
        float *mom = calloc((size_t)n * m->n_params, sizeof(float));
        if (!mom) return lstm_fail(m, LSTM_ERR_OUT_OF_MEMORY, "cannot allocate optimizer state");
        free(m->moments);
        m->moments = mom;
        m->n_moments = n;
        m->step = 0;
    }
    m->opt = *o;
    m->has_opt = 1;
    return LSTM_OK;
}

lstm_status lstm_get_optimizer(const lstm_model *m, lstm_optimizer *out) {
    if (!m || !out) return LSTM_ERR_INVALID_ARGUMENT;
    *out = m->opt;
    return LSTM_OK;
}

uint64_t lstm_step_count(const lstm_model *m) { return m ? m->step : 0; }

/* Run the optimizer over the arena for step number `step` (1-based); see the kernels. */
static int run_optimizer(lstm_model *m, uint64_t step, int commit) {
    const lstm_kernels *k = m->k;
    const lstm_optimizer *o = &m->opt;
    float *mom = m->moments;
    switch (o->type) {
    case LSTM_OPTIMIZER_SGD:
        return k->sgd_update(m->n_params, m->params, m->grads, mom, o->learning_rate, o->momentum,
                             o->weight_decay, commit);
    case LSTM_OPTIMIZER_RMSPROP:
        return k->rmsprop_update(m->n_params, m->params, m->grads, mom, o->learning_rate, o->beta2,
                                 o->epsilon, o->weight_decay, commit);
    default: {
        const float bc1 = (float)(1.0 - pow((double)o->beta1, (double)step));
        const float bc2 = (float)(1.0 - pow((double)o->beta2, (double)step));
        return k->adam_update(m->n_params, m->params, m->grads, mom, mom + m->n_params,
                              o->learning_rate, o->beta1, o->beta2, o->epsilon, o->weight_decay,
                              bc1, bc2, commit);
    }
    }
}

/* Clip and apply the optimizer to the gradients in m->grads: a skip reason, or
 * LSTM_SKIP_NONE once applied. The update is computed once without writing, so one that
 * would overflow leaves the parameters and moments as they were. */
lstm_skip_reason lstm_apply_update(lstm_model *m) {
    const lstm_kernels *k = m->k;
    const double norm = sqrt(k->sum_squares(m->n_params, m->grads));
    if (!isfinite(norm)) return LSTM_SKIP_GRADIENT;
    if (m->opt.clip_norm > 0.0f && norm > m->opt.clip_norm)
        k->scale(m->n_params, m->grads, (float)(m->opt.clip_norm / norm));
    if (!run_optimizer(m, m->step + 1, 0)) return LSTM_SKIP_UPDATE;
    run_optimizer(m, m->step + 1, 1);
    m->step++;
    m->param_version++;
    return LSTM_SKIP_NONE;
}

lstm_status lstm_ensure_optimizer(lstm_model *m) {
    if (m->has_opt) return LSTM_OK;
    lstm_optimizer o;
    lstm_optimizer_defaults(&o);
    return lstm_set_optimizer(m, &o);
}

