/* model.c - creating and freeing models: configuration checks, the parameter arenas,
 * initialisation, the tensor table, vocabulary/metadata and optimizer settings. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
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
    const uint64_t G = (uint64_t)lstm_gate_count(c);
    uint64_t H = (uint64_t)c->hidden_size, X = c->input_vocab ? (uint64_t)c->input_vocab
                                                              : (uint64_t)c->input_size;
    const uint64_t P = (uint64_t)lstm_peephole_rows(c) * H, S = (uint64_t)lstm_state_size(c);
    const uint64_t R = (c->proj_size > 0 ? (uint64_t)c->proj_size * H : 0) + /* W_hr */
                       (c->layer_norm ? 2 * G * H + 2 * H : 0);               /* layer norm */
    const uint64_t D = (uint64_t)lstm_directions(c), O = D * S; /* O: a layer's output width */
    uint64_t n = D * (G * H * (X + S) + 2 * G * H + P + R);                       /* layer 0 */
    n += (uint64_t)(c->num_layers - 1) * D * (G * H * (O + S) + 2 * G * H + P + R); /* layers above */
    n += (uint64_t)c->output_size * (O + 1);                    /* head */
    if (n > LSTM_MAX_PARAMS)
        BAD("model has %llu parameters, more than the limit of %llu", (unsigned long long)n,
            (unsigned long long)LSTM_MAX_PARAMS);
#undef BAD
    if (n_params) *n_params = n;
    return LSTM_OK;
}

int lstm_moments_for(int32_t type) { return type == LSTM_OPTIMIZER_ADAM ? 2 : 1; }

void lstm_embed_refresh(lstm_model *m) {
    if (!m->embed) return;
    const int G = lstm_gate_count(&m->cfg) * m->cfg.hidden_size;
    for (int d = 0; d < lstm_directions(&m->cfg); d++) /* units 0 and 1 are layer 0's directions */
        m->k->transpose(G, m->X0, m->p.layer[d].w_ih, m->X0, m->embed + (size_t)d * m->X0 * G, G);
    m->embed_version = m->param_version;
}

void lstm_parameters_changed(lstm_model *m) {
    if (m) m->param_version++;
}

/* Point a struct of tensors into an arena laid out as the header describes. */
static void layout_tensors(const lstm_model *m, float *base, lstm_tensors *t) {
    const int H = m->cfg.hidden_size, V = m->cfg.output_size, S = lstm_state_size(&m->cfg);
    const int D = lstm_directions(&m->cfg), O = lstm_output_width(&m->cfg);
    const size_t G = (size_t)lstm_gate_count(&m->cfg) * H;
    float *p = base;
    for (int l = 0; l < lstm_unit_count(&m->cfg); l++) {
        int X = l < D ? m->X0 : O;
        t->layer[l].w_ih = p; p += G * X;
        t->layer[l].w_hh = p; p += G * S;
        t->layer[l].b_ih = p; p += G;
        t->layer[l].b_hh = p; p += G;
        const size_t P = (size_t)lstm_peephole_rows(&m->cfg) * H;
        t->layer[l].peep = P ? p : NULL;
        p += P;
        const size_t Pr = (size_t)m->cfg.proj_size * H;
        t->layer[l].w_hr = Pr ? p : NULL;
        p += Pr;
        const int ln = m->cfg.layer_norm;
        t->layer[l].ln_g = ln ? p : NULL;
        p += ln ? 2 * G : 0;
        t->layer[l].ln_c = ln ? p : NULL;
        p += ln ? 2 * (size_t)H : 0;
    }
    t->w_out = p; p += (size_t)V * O;
    t->b_out = p;
}

static void build_tensor_table(lstm_model *m) {
    const int H = m->cfg.hidden_size, S = lstm_state_size(&m->cfg);
    const int D = lstm_directions(&m->cfg), O = lstm_output_width(&m->cfg);
    int n = 0;
    for (int u = 0; u < lstm_unit_count(&m->cfg); u++) {
        const lstm_layer_tensors *lt = &m->p.layer[u];
        const int l = u / D, X = l == 0 ? m->X0 : O;
        /* PyTorch's names: the reverse unit's tensors end in _reverse */
        const char *names[4] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"}, *sfx = u % D ? "_reverse" : "";
        float *ptrs[4] = {lt->w_ih, lt->w_hh, lt->b_ih, lt->b_hh};
        int cols[4] = {X, S, 1, 1};
        for (int q = 0; q < 4; q++, n++) {
            snprintf(m->tensor_names[n], sizeof m->tensor_names[n], "%s_l%d%s", names[q], l, sfx);
            m->tensor_info[n] = (lstm_tensor_info){m->tensor_names[n],
                                                   (uint32_t)(ptrs[q] - m->params),
                                                   lstm_gate_count(&m->cfg) * H, cols[q]};
        }
        if (lt->peep) {
            snprintf(m->tensor_names[n], sizeof m->tensor_names[n], "peephole_l%d%s", l, sfx);
            m->tensor_info[n] = (lstm_tensor_info){m->tensor_names[n], (uint32_t)(lt->peep - m->params),
                                                   lstm_peephole_rows(&m->cfg), H};
            n++;
        }
        if (lt->w_hr) {
            snprintf(m->tensor_names[n], sizeof m->tensor_names[n], "weight_hr_l%d%s", l, sfx);
            m->tensor_info[n] = (lstm_tensor_info){m->tensor_names[n], (uint32_t)(lt->w_hr - m->params),
                                                   m->cfg.proj_size, H};
            n++;
        }
        if (lt->ln_g) {
            snprintf(m->tensor_names[n], sizeof m->tensor_names[n], "layer_norm_gates_l%d%s", l, sfx);
            m->tensor_info[n] = (lstm_tensor_info){m->tensor_names[n], (uint32_t)(lt->ln_g - m->params),
                                                   2, lstm_gate_count(&m->cfg) * H};
            n++;
            snprintf(m->tensor_names[n], sizeof m->tensor_names[n], "layer_norm_cell_l%d%s", l, sfx);
            m->tensor_info[n] = (lstm_tensor_info){m->tensor_names[n], (uint32_t)(lt->ln_c - m->params), 2, H};
            n++;
        }
    }
    snprintf(m->tensor_names[n], sizeof m->tensor_names[n], "out.weight");
    m->tensor_info[n] = (lstm_tensor_info){m->tensor_names[n], (uint32_t)(m->p.w_out - m->params),
                                           m->cfg.output_size, O};
    n++;
    snprintf(m->tensor_names[n], sizeof m->tensor_names[n], "out.bias");
    m->tensor_info[n] = (lstm_tensor_info){m->tensor_names[n], (uint32_t)(m->p.b_out - m->params),
                                           m->cfg.output_size, 1};
}

lstm_status lstm_model_alloc(const lstm_config *cfg, lstm_model **out, lstm_message *msg) {
    uint64_t n_params = 0;
    lstm_status st = lstm_config_check(cfg, &n_params, msg);
    if (st != LSTM_OK) return st;
    lstm_model *m = calloc(1, sizeof *m);
    if (!m) { lstm_message_set(msg, "cannot allocate the model struct"); return LSTM_ERR_OUT_OF_MEMORY; }
    m->cfg = *cfg;
    m->X0 = cfg->input_vocab ? cfg->input_vocab : cfg->input_size;
    m->k = lstm_kernels_best();
    m->n_params = (size_t)n_params;
    const int H = cfg->hidden_size, L = cfg->num_layers, V = cfg->output_size;
    /* parameters and gradients: one allocation each */
    m->params = malloc(m->n_params * sizeof(float));
    m->grads = calloc(m->n_params, sizeof(float));
    const size_t G = (size_t)lstm_gate_count(cfg) * H;
    /* gates: 4H for the LSTM; the GRU keeps W_i x and W_h h apart, 2 x 3H */
    const size_t gate_floats = cfg->cell == LSTM_CELL_GRU ? 2 * G : G;
    size_t inf_floats = (size_t)2 * L * H + gate_floats + 2 * (size_t)H + 2 * (size_t)V;
    m->inf_arena = calloc(inf_floats + 2 * (size_t)V, sizeof(float));
    if (cfg->input_vocab)
        m->embed = malloc((size_t)lstm_directions(cfg) * cfg->input_vocab * G * sizeof(float));
    if (!m->params || !m->grads || !m->inf_arena || (cfg->input_vocab && !m->embed)) {
        lstm_free(m);
        lstm_message_set(msg, "cannot allocate %llu parameters", (unsigned long long)n_params);
        return LSTM_ERR_OUT_OF_MEMORY;
    }
    float *f = m->inf_arena;
    m->inf.h = f; f += (size_t)L * H;
    m->inf.c = f; f += (size_t)L * H;
    m->inf.gates = f; f += gate_floats;
    m->inf.tanh_c = f; f += H;
    m->inf.mh = f; f += H;
    m->inf.logits = f; f += V;
    m->inf.probs = f; f += V;
    m->inf.pairs = f;
    layout_tensors(m, m->params, &m->p);
    layout_tensors(m, m->grads, &m->g);
    build_tensor_table(m);
    lstm_optimizer_defaults(&m->opt);
    m->guard = (lstm_step_guard){.max_skips = 5, .loss_factor = 0.0f};
    *out = m;
    return LSTM_OK;
}

/* A random orthogonal (H, H) matrix into w: modified Gram-Schmidt on Gaussian rows, in
 * double and in place (the rows are orthonormalised one after another, so no scratch). The
 * Gaussian draws make the result uniformly distributed over orthogonal matrices. */
static void orthogonal_block(float *w, int H, uint64_t *rng) {
    for (size_t i = 0; i < (size_t)H * H; i += 2) {
        /* Box-Muller: two normals from two uniforms; 1 - u keeps log() away from 0 */
        double u1 = 1.0 - rng_uniform(rng), u2 = rng_uniform(rng);
        double r = sqrt(-2.0 * log(u1)), a = 6.283185307179586 * u2;
        w[i] = (float)(r * cos(a));
        if (i + 1 < (size_t)H * H) w[i + 1] = (float)(r * sin(a));
    }
    for (int i = 0; i < H; i++) {
        float *row = w + (size_t)i * H;
        for (int pass = 0; pass < 2; pass++) /* twice: one pass loses orthogonality in float */
            for (int k = 0; k < i; k++) {
                const float *prev = w + (size_t)k * H;
                double dot = 0.0;
                for (int j = 0; j < H; j++) dot += (double)row[j] * prev[j];
                for (int j = 0; j < H; j++) row[j] -= (float)(dot * prev[j]);
            }
        double norm = 0.0;
        for (int j = 0; j < H; j++) norm += (double)row[j] * row[j];
        norm = sqrt(norm);
        /* a Gaussian row inside the span of the previous ones has probability 0; guard anyway */
        if (norm < 1e-12) { memset(row, 0, (size_t)H * sizeof(float)); row[i] = 1.0f; continue; }
        for (int j = 0; j < H; j++) row[j] = (float)(row[j] / norm);
    }
}

void lstm_init_parameters(lstm_model *m) {
    const lstm_config *c = &m->cfg;
    const int H = c->hidden_size;
    /* PyTorch's nn.LSTM and nn.Linear default: U(-1/sqrt(H), 1/sqrt(H)) */
    float s = c->init_scale > 0.0f ? c->init_scale : 1.0f / sqrtf((float)H);
    uint64_t rng = rng_seed(c->seed, 0);
    for (size_t i = 0; i < m->n_params; i++) m->params[i] = (2.0f * rng_uniform(&rng) - 1.0f) * s;
    /* rows H..2H are f (LSTM) or z (GRU); with CIFG f = 1 - i, so the bias goes against i.
     * A layer-normalised model takes it in the f block of the gate norm's bias: normalising
     * subtracts each block's mean, which would remove it from b_ih. */
    const int U = lstm_unit_count(c);
    if (c->layer_norm) /* gains 1, biases 0 (but f's): the normalisation starts as the identity */
        for (int l = 0; l < U; l++) {
            const int G = lstm_gate_count(c) * H;
            float *gain = m->p.layer[l].ln_g, *bias = gain + G;
            for (int j = 0; j < G; j++) gain[j] = 1.0f, bias[j] = j >= H && j < 2 * H ? c->forget_bias : 0.0f;
            for (int j = 0; j < H; j++) m->p.layer[l].ln_c[j] = 1.0f, m->p.layer[l].ln_c[H + j] = 0.0f;
        }
    else
        for (int l = 0; l < U; l++)
            for (int j = 0; j < H; j++) {
                if (c->cifg) m->p.layer[l].b_ih[j] -= c->forget_bias;
                else m->p.layer[l].b_ih[H + j] += c->forget_bias;
            }
    if (c->orthogonal_init)
        for (int l = 0; l < U; l++)
            for (int q = 0; q < lstm_gate_count(c); q++)
                orthogonal_block(m->p.layer[l].w_hh + (size_t)q * H * H, H, &rng);
}

lstm_status lstm_create(const lstm_config *cfg, lstm_model **out, lstm_message *msg) {
    if (!out) { lstm_message_set(msg, "out is NULL"); return LSTM_ERR_INVALID_ARGUMENT; }
    *out = NULL;
    lstm_model *m = NULL;
    lstm_status st = lstm_model_alloc(cfg, &m, msg);
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
    free(m->inf_arena);
    free(m->embed);
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
float *lstm_parameters(lstm_model *m) { return m ? m->params : NULL; }
float *lstm_gradients(lstm_model *m) { return m ? m->grads : NULL; }
int32_t lstm_tensor_count(const lstm_model *m) {
    return m ? (4 + m->cfg.peephole + (m->cfg.proj_size > 0) + 2 * m->cfg.layer_norm) * lstm_unit_count(&m->cfg) + 2
             : 0;
}

lstm_status lstm_tensor(const lstm_model *m, int32_t index, lstm_tensor_info *out) {
    if (!m || !out) return LSTM_ERR_INVALID_ARGUMENT;
    if (index < 0 || index >= lstm_tensor_count(m))
        return lstm_fail((lstm_model *)m, LSTM_ERR_INVALID_ARGUMENT,
                         "tensor index must be in [0, %d), got %d", lstm_tensor_count(m), index);
    *out = m->tensor_info[index];
    return LSTM_OK;
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
    uint32_t *copy = NULL;
    if (count > 0) {
        copy = malloc((size_t)count * sizeof *copy);
        if (!copy) return lstm_fail(m, LSTM_ERR_OUT_OF_MEMORY, "cannot allocate the vocabulary");
        memcpy(copy, cp, (size_t)count * sizeof *copy);
    }
    free(m->vocab);
    m->vocab = copy;
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
    uint8_t *copy = NULL;
    if (size > 0) {
        copy = malloc(size);
        if (!copy) return lstm_fail(m, LSTM_ERR_OUT_OF_MEMORY, "cannot allocate the metadata");
        memcpy(copy, bytes, size);
    }
    free(m->metadata);
    m->metadata = copy;
    m->metadata_size = size;
    return LSTM_OK;
}

uint32_t lstm_metadata_size(const lstm_model *m) { return m ? m->metadata_size : 0; }
const uint8_t *lstm_metadata(const lstm_model *m) { return m ? m->metadata : NULL; }

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
    lstm_status st = lstm_optimizer_check(o, m->err, sizeof m->err);
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
