/* model.c - creating and freeing models: configuration checks, the parameter arenas,
 * initialisation, the tensor table, vocabulary/metadata and optimizer settings. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cell.h"
#include "rng.h"

const char *lstm_strerror(lstm_status status) {
    switch (status) {
    case LSTM_OK: return "ok";
    case LSTM_ERR_INVALID_ARGUMENT: return "invalid argument";
    case LSTM_ERR_OUT_OF_MEMORY: return "out of memory";
    case LSTM_ERR_BAD_MAGIC: return "not an lstm-wasm model (bad magic)";
    case LSTM_ERR_UNSUPPORTED_VERSION: return "unsupported model format version";
    case LSTM_ERR_TRUNCATED: return "model data is truncated";
    case LSTM_ERR_CHECKSUM: return "model data checksum mismatch (corrupt)";
    case LSTM_ERR_CORRUPT: return "model data holds an impossible value (corrupt)";
    case LSTM_ERR_NON_FINITE: return "loss or gradient is not finite; update not applied";
    case LSTM_ERR_TOKEN_RANGE: return "token id out of range";
    case LSTM_ERR_BUFFER_TOO_SMALL: return "output buffer too small";
    case LSTM_ERR_STATE: return "operation not valid in the model's current state";
    }
    return "unknown status";
}

lstm_status lstm_fail(lstm_model *m, lstm_status status, const char *fmt, ...) {
    if (m) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(m->err, sizeof m->err, fmt, ap);
        va_end(ap);
    }
    return status;
}

void lstm_message_set(lstm_message *msg, const char *fmt, ...) {
    if (!msg) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg->text, sizeof msg->text, fmt, ap);
    va_end(ap);
}

const char *lstm_error_message(const lstm_model *m) { return m ? m->err : "model is NULL"; }

static int finite_in(float x, float lo, float hi) { return isfinite(x) && x >= lo && x <= hi; }

lstm_status lstm_config_check(const lstm_config *c, uint64_t *n_params, lstm_message *msg) {
    if (!c) { lstm_message_set(msg, "config is NULL"); return LSTM_ERR_INVALID_ARGUMENT; }
#define BAD(...) do { lstm_message_set(msg, __VA_ARGS__); return LSTM_ERR_INVALID_ARGUMENT; } while (0)
    if (c->input_vocab < 0 || c->input_vocab > LSTM_MAX_VOCAB)
        BAD("input_vocab must be in [0, %d], got %d", LSTM_MAX_VOCAB, c->input_vocab);
    if (c->input_vocab == 0 && (c->input_size < 1 || c->input_size > LSTM_MAX_INPUT))
        BAD("input_size must be in [1, %d] for dense inputs (input_vocab 0), got %d",
            LSTM_MAX_INPUT, c->input_size);
    if (c->hidden_size < 1 || c->hidden_size > LSTM_MAX_HIDDEN)
        BAD("hidden_size must be in [1, %d], got %d", LSTM_MAX_HIDDEN, c->hidden_size);
    if (c->num_layers < 1 || c->num_layers > LSTM_MAX_LAYERS)
        BAD("num_layers must be in [1, %d], got %d", LSTM_MAX_LAYERS, c->num_layers);
    if (c->output_size < 1 || c->output_size > LSTM_MAX_VOCAB)
        BAD("output_size must be in [1, %d], got %d", LSTM_MAX_VOCAB, c->output_size);
    if (!(isfinite(c->dropout) && c->dropout >= 0.0f && c->dropout < 1.0f))
        BAD("dropout must be in [0, 1), got %g", (double)c->dropout);
    if (!finite_in(c->init_scale, 0.0f, 100.0f))
        BAD("init_scale must be in [0, 100], got %g", (double)c->init_scale);
    if (!finite_in(c->forget_bias, -100.0f, 100.0f))
        BAD("forget_bias must be in [-100, 100], got %g", (double)c->forget_bias);
    if (c->head != LSTM_HEAD_SOFTMAX && c->head != LSTM_HEAD_MSE)
        BAD("head must be 0 (softmax) or 1 (mse), got %d", c->head);
    if (c->last_step_only != 0 && c->last_step_only != 1)
        BAD("last_step_only must be 0 or 1, got %d", c->last_step_only);
    if (c->cell != LSTM_CELL_LSTM && c->cell != LSTM_CELL_GRU)
        BAD("cell must be 0 (lstm) or 1 (gru), got %d", c->cell);
    if (!(isfinite(c->recurrent_dropout) && c->recurrent_dropout >= 0.0f && c->recurrent_dropout < 1.0f))
        BAD("recurrent_dropout must be in [0, 1), got %g", (double)c->recurrent_dropout);
    if (c->orthogonal_init != 0 && c->orthogonal_init != 1)
        BAD("orthogonal_init must be 0 or 1, got %d", c->orthogonal_init);
    if (c->peephole != 0 && c->peephole != 1) BAD("peephole must be 0 or 1, got %d", c->peephole);
    if (c->cifg != 0 && c->cifg != 1) BAD("cifg must be 0 or 1, got %d", c->cifg);
    if (c->activation != LSTM_ACTIVATION_TANH && c->activation != LSTM_ACTIVATION_RELU)
        BAD("activation must be 0 (tanh) or 1 (relu), got %d", c->activation);
    if (c->proj_size < 0 || (c->proj_size > 0 && c->proj_size >= c->hidden_size))
        BAD("proj_size must be 0 or in [1, hidden_size - 1] = [1, %d], got %d", c->hidden_size - 1, c->proj_size);
    if (c->proj_size > 0 && c->cell == LSTM_CELL_GRU)
        BAD("proj_size is for the LSTM cell (PyTorch's GRU has none), got proj_size %d with the GRU", c->proj_size);
    if (c->proj_size > 0 && c->orthogonal_init)
        BAD("orthogonal_init needs square (H, H) gate blocks; with proj_size %d they are (H, P)", c->proj_size);
    if (c->layer_norm != 0 && c->layer_norm != 1) BAD("layer_norm must be 0 or 1, got %d", c->layer_norm);
    if (c->layer_norm && (c->cell != LSTM_CELL_LSTM || c->peephole || c->cifg || c->proj_size ||
                          c->activation != LSTM_ACTIVATION_TANH))
        BAD("layer_norm is for the plain LSTM cell (no gru, peephole, cifg, relu or proj_size), "
            "got cell %d, peephole %d, cifg %d, activation %d, proj_size %d",
            c->cell, c->peephole, c->cifg, c->activation, c->proj_size);
    if (c->bidirectional != 0 && c->bidirectional != 1)
        BAD("bidirectional must be 0 or 1, got %d", c->bidirectional);
    if (c->cell == LSTM_CELL_GRU && (c->peephole || c->cifg))
        BAD("peephole and cifg are LSTM variants; the GRU has neither (got peephole %d, cifg %d)",
            c->peephole, c->cifg);
    if (c->recurrent_activation != LSTM_GATE_SIGMOID && c->recurrent_activation != LSTM_GATE_HARD_SIGMOID)
        BAD("recurrent_activation must be 0 (sigmoid) or 1 (hard sigmoid), got %d", c->recurrent_activation);
    if (c->recurrent_activation && c->layer_norm)
        BAD("the hard sigmoid gates are not for the layer-normalised LSTM (recurrent_activation %d, layer_norm 1)",
            c->recurrent_activation);
    if (c->gru_reset_before != 0 && c->gru_reset_before != 1)
        BAD("gru_reset_before must be 0 or 1, got %d", c->gru_reset_before);
    if (c->gru_reset_before && c->cell != LSTM_CELL_GRU)
        BAD("gru_reset_before is a GRU option, got it with cell %d", c->cell);
    if (c->gru_reset_before && c->recurrent_dropout > 0.0f)
        BAD("gru_reset_before does not take recurrent_dropout (got %g): the reset gate would scale the masked state",
            (double)c->recurrent_dropout);
    const uint64_t n = lstm_parameter_total(c);
    if (n > LSTM_MAX_PARAMS)
        BAD("model has %llu parameters, more than the limit of %llu", (unsigned long long)n,
            (unsigned long long)LSTM_MAX_PARAMS);
#undef BAD
    if (n_params) *n_params = n;
    return LSTM_OK;
}

void lstm_parameters_changed(lstm_model *m) {
    if (m) m->param_version++;
}

lstm_status lstm_model_alloc(const lstm_config *cfg, int quantized, lstm_model **out, lstm_message *msg) {
    uint64_t n_params = 0;
    lstm_status st = lstm_config_check(cfg, &n_params, msg);
    if (st != LSTM_OK) return st;
    lstm_model *m = calloc(1, sizeof *m);
    if (!m) { lstm_message_set(msg, "cannot allocate the model struct"); return LSTM_ERR_OUT_OF_MEMORY; }
    m->cfg = *cfg;
    m->X0 = cfg->input_vocab ? cfg->input_vocab : cfg->input_size;
    m->k = lstm_kernels_best();
    m->cell = lstm_cell_for(cfg);
    m->n_params = (size_t)n_params;
    const size_t V = (size_t)cfg->output_size, G = (size_t)lstm_gate_count(cfg) * cfg->hidden_size;
    const size_t embed = (size_t)lstm_directions(cfg) * cfg->input_vocab * G;
    lstm_tensors none = {0}; /* measured only */
    /* parameters and gradients: one allocation each; a quantised model keeps its matrices as
     * int8 (m->q8) and has no gradients */
    m->params = malloc((size_t)lstm_point_tensors(cfg, NULL, &none, !quantized) * sizeof(float));
    m->grads = quantized ? NULL : calloc(m->n_params, sizeof(float));
    m->probs = malloc(V * sizeof(float));
    m->pairs = malloc(V * 2 * sizeof(float)); /* a float and an int32 per entry */
    if (quantized) {
        m->q8 = calloc(1, sizeof *m->q8);
        if (m->q8) m->q8->arena = malloc((size_t)lstm_point_q8(cfg, NULL, m->q8) + embed);
    } else {
        if (cfg->input_vocab) m->embed = malloc(embed * sizeof(float));
        m->packed_arena = malloc((size_t)lstm_point_packed(cfg, NULL, &m->pk) * sizeof(float));
    }
    if (!m->params || (!quantized && !m->grads) || !m->probs || !m->pairs ||
        (quantized ? !m->q8 || !m->q8->arena : (cfg->input_vocab && !m->embed) || !m->packed_arena) ||
        lstm_workspace_infer(m) != LSTM_OK) {
        lstm_free(m);
        lstm_message_set(msg, "cannot allocate %llu parameters", (unsigned long long)n_params);
        return LSTM_ERR_OUT_OF_MEMORY;
    }
    lstm_point_tensors(cfg, m->params, &m->p, !quantized);
    if (!quantized) lstm_point_packed(cfg, m->packed_arena, &m->pk);
    if (quantized) m->q8->embed = (int8_t *)m->q8->arena + lstm_point_q8(cfg, m->q8->arena, m->q8);
    else lstm_point_tensors(cfg, m->grads, &m->g, 1);
    lstm_describe_tensors(m);
    lstm_optimizer_defaults(&m->opt);
    m->guard = (lstm_step_guard){.max_skips = 5, .loss_factor = 0.0f};
    *out = m;
    return LSTM_OK;
}

lstm_status lstm_refuse_quantized(lstm_model *m, const char *what) {
    if (!m->q8) return LSTM_OK;
    return lstm_fail(m, LSTM_ERR_STATE,
                     "%s: a quantised (int8) model is for inference; train the float model it came from", what);
}

lstm_status lstm_create(const lstm_config *cfg, lstm_model **out, lstm_message *msg) {
    if (!out) { lstm_message_set(msg, "out is NULL"); return LSTM_ERR_INVALID_ARGUMENT; }
    *out = NULL;
    lstm_model *m = NULL;
    lstm_status st = lstm_model_alloc(cfg, 0, &m, msg);
    if (st != LSTM_OK) return st;
    lstm_init_parameters(m);
    m->dropout_rng = rng_seed(cfg->seed, 1);
    m->sample_rng = rng_seed(cfg->seed, 2);
    m->param_version = 1;
    *out = m;
    return LSTM_OK;
}

void lstm_free(lstm_model *m) {
    if (!m) return;
    free(m->params);
    free(m->grads);
    free(m->moments);
    free(m->carry);
    free(m->ws.arena);
    free(m->infer.arena);
    lstm_samples_release(m);
    if (m->q8) free(m->q8->arena);
    free(m->q8);
    free(m->probs);
    free(m->pairs);
    free(m->embed);
    free(m->packed_arena);
    free(m->vocab);
    free(m->metadata);
    free(m);
}

lstm_status lstm_get_config(const lstm_model *m, lstm_config *out) {
    if (!m || !out) return LSTM_ERR_INVALID_ARGUMENT;
    *out = m->cfg;
    return LSTM_OK;
}

size_t lstm_parameter_count(const lstm_model *m) { return m ? m->n_params : 0; }
/* a quantised model's float arena lacks the matrices: not the layout of lstm_tensor */
float *lstm_parameters(lstm_model *m) { return m && !m->q8 ? m->params : NULL; }
float *lstm_gradients(lstm_model *m) { return m ? m->grads : NULL; }
int32_t lstm_tensor_count(const lstm_model *m) { return m ? m->n_tensors : 0; }

lstm_status lstm_tensor(const lstm_model *m, int32_t index, lstm_tensor_info *out) {
    if (!m || !out) return LSTM_ERR_INVALID_ARGUMENT;
    if (index < 0 || index >= lstm_tensor_count(m))
        return lstm_fail((lstm_model *)m, LSTM_ERR_INVALID_ARGUMENT,
                         "tensor index must be in [0, %d), got %d", lstm_tensor_count(m), index);
    *out = m->tensor_info[index];
    return LSTM_OK;
}

/* A malloc'd copy of n bytes of src (NULL for n = 0) that replaces old, which is freed; if
 * the allocation fails, *ok is 0 and old is returned as it was. */
static void *replace_bytes(void *old, const void *src, size_t n, int *ok) {
    void *copy = n > 0 ? malloc(n) : NULL;
    *ok = n == 0 || copy != NULL;
    if (!*ok) return old;
    if (copy) memcpy(copy, src, n);
    free(old);
    return copy;
}

lstm_status lstm_set_vocabulary(lstm_model *m, const uint32_t *cp, int32_t count) {
    if (!m) return LSTM_ERR_INVALID_ARGUMENT;
    if (count < 0 || count > LSTM_MAX_VOCAB || (count > 0 && !cp))
        return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "vocabulary size must be in [0, %d], got %d",
                         LSTM_MAX_VOCAB, count);
    for (int32_t i = 0; i < count; i++)
        if (cp[i] > 0x10FFFF || (cp[i] >= 0xD800 && cp[i] <= 0xDFFF))
            return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT,
                             "vocabulary entry %d is not a Unicode scalar value: 0x%X", i, cp[i]);
    int ok;
    m->vocab = replace_bytes(m->vocab, cp, (size_t)count * sizeof *cp, &ok);
    if (!ok) return lstm_fail(m, LSTM_ERR_OUT_OF_MEMORY, "cannot allocate the vocabulary");
    m->vocab_size = count;
    return LSTM_OK;
}

int32_t lstm_vocabulary_size(const lstm_model *m) { return m ? m->vocab_size : 0; }
const uint32_t *lstm_vocabulary(const lstm_model *m) { return m ? m->vocab : NULL; }

lstm_status lstm_set_metadata(lstm_model *m, const uint8_t *bytes, uint32_t size) {
    if (!m) return LSTM_ERR_INVALID_ARGUMENT;
    if (size > (1u << 26) || (size > 0 && !bytes))
        return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "metadata must be at most 64 MiB, got %u bytes",
                         size);
    int ok;
    m->metadata = replace_bytes(m->metadata, bytes, size, &ok);
    if (!ok) return lstm_fail(m, LSTM_ERR_OUT_OF_MEMORY, "cannot allocate the metadata");
    m->metadata_size = size;
    return LSTM_OK;
}

uint32_t lstm_metadata_size(const lstm_model *m) { return m ? m->metadata_size : 0; }
const uint8_t *lstm_metadata(const lstm_model *m) { return m ? m->metadata : NULL; }

lstm_status lstm_carry_resize(lstm_model *m, int B) {
    if (m->carry_B == B) return LSTM_OK;
    size_t n = (size_t)2 * m->cfg.num_layers * B * m->cfg.hidden_size;
    if (B <= m->carry_cap) {
        /* a smaller batch (an epoch's last, say) reuses the block: no allocation per step */
        memset(m->carry, 0, n * sizeof(float));
        m->carry_B = B;
        return LSTM_OK;
    }
    /* twice: the second half keeps the state from before a run of skipped steps (train.c) */
    float *c = calloc(2 * n, sizeof(float));
    if (!c) return lstm_fail(m, LSTM_ERR_OUT_OF_MEMORY, "cannot allocate the carried state");
    free(m->carry);
    m->carry = c;
    m->carry_B = B;
    m->carry_cap = B;
    return LSTM_OK;
}

lstm_status lstm_reset_state(lstm_model *m) {
    if (!m) return LSTM_ERR_INVALID_ARGUMENT;
    if (m->carry) memset(m->carry, 0, (size_t)2 * m->cfg.num_layers * m->carry_B *
                                          m->cfg.hidden_size * sizeof(float));
    return LSTM_OK;
}
