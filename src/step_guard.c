/* step_guard.c - the bad-step policy (include/lstm.h, "Bad steps"): a training step whose
 * loss or gradient is not finite, whose update would overflow, or whose loss spikes above the
 * guard is skipped and changes nothing a step changes; the K-th in a row fails the call and
 * puts back what the run of skips moved. Also the running loss mean the guard compares with. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "model.h"

/* The carried state as it was before the current run of skipped steps: the block after the
 * live one (see lstm_carry_resize). */
static float *carry_before_skips(lstm_model *m) {
    return m->carry + (size_t)2 * m->cfg.num_layers * m->carry_cap * m->cfg.hidden_size;
}

static size_t carry_floats(const lstm_model *m) {
    return (size_t)2 * m->cfg.num_layers * m->carry_B * m->cfg.hidden_size;
}

static const char *skip_text(lstm_skip_reason r) {
    switch (r) {
    case LSTM_SKIP_LOSS: return "the loss was not finite";
    case LSTM_SKIP_GRADIENT: return "a gradient was not finite";
    case LSTM_SKIP_UPDATE: return "the update would have made a parameter or moment non-finite";
    case LSTM_SKIP_LOSS_SPIKE: return "the loss was above the guard's limit";
    default: return "applied";
    }
}

/* Record a skipped step (its batch already consumed). The K-th in a row puts back the
 * stream position, dropout generator and carried state from before the first, and fails. */
lstm_status lstm_skip_step(lstm_model *m, lstm_skip_reason why, double loss, uint64_t rng_before) {
    if (m->skip_streak == 0) {
        m->streak_pos = m->stream_pos;
        m->streak_rng = rng_before;
        if (m->carry_B) memcpy(carry_before_skips(m), m->carry, carry_floats(m) * sizeof(float));
    }
    m->skip_streak++;
    m->skipped++;
    m->skip_reason = why;
    if (m->skip_streak < m->guard.max_skips) return LSTM_OK;
    const int32_t n = m->skip_streak;
    m->stream_pos = m->streak_pos;
    m->dropout_rng = m->streak_rng;
    if (m->carry_B) memcpy(m->carry, carry_before_skips(m), carry_floats(m) * sizeof(float));
    m->skip_streak = 0;
    char shown[40] = "";
    if (!isnan(loss) || why == LSTM_SKIP_LOSS) snprintf(shown, sizeof shown, " (loss %g)", loss);
    return lstm_fail(m, LSTM_ERR_NON_FINITE,
                     "%d training steps in a row were skipped, the last (after step %llu) because %s%s; "
                     "the model is as it was before the first of them: lower the learning rate, "
                     "clip gradients, or check the data",
                     n, (unsigned long long)m->step, skip_text(why), shown);
}

/* An applied step: the streak ends and its loss joins the running mean, an average of all
 * losses so far while there are fewer than LSTM_LOSS_WINDOW, then a moving one over about
 * that many. */
void lstm_accept_step(lstm_model *m, double loss) {
    m->skip_streak = 0;
    m->skip_reason = LSTM_SKIP_NONE;
    if (m->loss_count < LSTM_LOSS_WINDOW) m->loss_count++;
    m->loss_mean += (loss - m->loss_mean) / m->loss_count;
}

/* Is the loss guard on, with a mean to compare with, and the loss above its limit? */
int lstm_loss_spike(const lstm_model *m, double loss) {
    return m->guard.loss_factor > 0.0f && m->loss_count >= LSTM_LOSS_WARMUP &&
           loss > m->guard.loss_factor * m->loss_mean;
}

lstm_status lstm_apply_gradients(lstm_model *m) {
    if (!m) return LSTM_ERR_INVALID_ARGUMENT;
    lstm_status st = lstm_refuse_quantized(m, "apply_gradients");
    if (st == LSTM_OK) st = lstm_ensure_optimizer(m);
    if (st != LSTM_OK) return st;
    const lstm_skip_reason why = lstm_apply_update(m);
    if (why != LSTM_SKIP_NONE) return lstm_skip_step(m, why, NAN, m->dropout_rng);
    m->skip_streak = 0;
    m->skip_reason = LSTM_SKIP_NONE;
    return LSTM_OK;
}

lstm_status lstm_set_step_guard(lstm_model *m, const lstm_step_guard *g) {
    if (!m) return LSTM_ERR_INVALID_ARGUMENT;
    if (!g) return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "guard is NULL");
    if (g->max_skips < 1 || g->max_skips > LSTM_MAX_SKIPS)
        return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "max_skips must be in [1, %d], got %d", LSTM_MAX_SKIPS,
                         g->max_skips);
    if (!(g->loss_factor == 0.0f || (isfinite(g->loss_factor) && g->loss_factor > 1.0f && g->loss_factor <= 1e6f)))
        return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "loss_factor must be 0 (off) or in (1, 1e6], got %g",
                         (double)g->loss_factor);
    m->guard = *g;
    return LSTM_OK;
}

lstm_status lstm_get_step_guard(const lstm_model *m, lstm_step_guard *out) {
    if (!m || !out) return LSTM_ERR_INVALID_ARGUMENT;
    *out = m->guard;
    return LSTM_OK;
}

lstm_status lstm_reset_loss_mean(lstm_model *m) {
    if (!m) return LSTM_ERR_INVALID_ARGUMENT;
    m->loss_mean = 0.0;
    m->loss_count = 0;
    return LSTM_OK;
}

lstm_status lstm_get_training_stats(const lstm_model *m, lstm_training_stats *out) {
    if (!m || !out) return LSTM_ERR_INVALID_ARGUMENT;
    *out = (lstm_training_stats){m->step, m->skipped, m->skip_streak, m->skip_reason, m->loss_mean};
    return LSTM_OK;
}

