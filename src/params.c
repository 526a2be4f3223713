/* params.c - the parameter table: every tensor of a model, in the order of the arena, from
 * one list of rules. It gives the parameter count, the offsets (the struct of pointers into
 * the arenas), the names and shapes (lstm_tensor), and what initialisation each tensor gets.
 * tools/lstm_layout.json is these rules written out for the Python tools. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "model.h"
#include "rng.h"

/* The tensors of every unit (one direction of one layer), in arena order, then the head's.
 * Shapes are in the dimensions of include/lstm.h; a rule applies when its config option is
 * set. PyTorch's names: the reverse unit's end in _reverse. */
static const lstm_tensor_rule UNIT_RULES[] = {
    {"weight_ih", LSTM_T_W_IH, LSTM_DIM_G, LSTM_DIM_X, LSTM_IF_ALWAYS},
    {"weight_hh", LSTM_T_W_HH, LSTM_DIM_G, LSTM_DIM_S, LSTM_IF_ALWAYS},
    {"bias_ih", LSTM_T_B_IH, LSTM_DIM_G, LSTM_DIM_1, LSTM_IF_ALWAYS},
    {"bias_hh", LSTM_T_B_HH, LSTM_DIM_G, LSTM_DIM_1, LSTM_IF_ALWAYS},
    {"peephole", LSTM_T_PEEPHOLE, LSTM_DIM_PEEPHOLES, LSTM_DIM_H, LSTM_IF_PEEPHOLE},
    {"weight_hr", LSTM_T_W_HR, LSTM_DIM_P, LSTM_DIM_H, LSTM_IF_PROJECTION},
    {"layer_norm_gates", LSTM_T_LN_GATES, LSTM_DIM_2, LSTM_DIM_G, LSTM_IF_LAYER_NORM},
    {"layer_norm_cell", LSTM_T_LN_CELL, LSTM_DIM_2, LSTM_DIM_H, LSTM_IF_LAYER_NORM},
};
static const lstm_tensor_rule HEAD_RULES[] = {
    {"out.weight", LSTM_T_OUT_WEIGHT, LSTM_DIM_V, LSTM_DIM_O, LSTM_IF_ALWAYS},
    {"out.bias", LSTM_T_OUT_BIAS, LSTM_DIM_V, LSTM_DIM_1, LSTM_IF_ALWAYS},
};
#define N_UNIT_RULES ((int)(sizeof UNIT_RULES / sizeof UNIT_RULES[0]))
#define N_HEAD_RULES ((int)(sizeof HEAD_RULES / sizeof HEAD_RULES[0]))

const lstm_tensor_rule *lstm_tensor_rules(int head, int *count) {
    *count = head ? N_HEAD_RULES : N_UNIT_RULES;
    return head ? HEAD_RULES : UNIT_RULES;
}

static int applies(const lstm_config *c, int when) {
    switch (when) {
    case LSTM_IF_PEEPHOLE: return c->peephole;
    case LSTM_IF_PROJECTION: return c->proj_size > 0;
    case LSTM_IF_LAYER_NORM: return c->layer_norm;
    default: return 1;
    }
}

/* The size of dimension d for a unit whose input is X wide. */
static uint64_t dim(const lstm_config *c, int d, uint64_t X) {
    const uint64_t H = (uint64_t)c->hidden_size;
    switch (d) {
    case LSTM_DIM_G: return (uint64_t)lstm_gate_count(c) * H;
    case LSTM_DIM_X: return X;
    case LSTM_DIM_S: return (uint64_t)lstm_state_size(c);
    case LSTM_DIM_H: return H;
    case LSTM_DIM_P: return (uint64_t)c->proj_size;
    case LSTM_DIM_PEEPHOLES: return (uint64_t)lstm_peephole_rows(c);
    case LSTM_DIM_V: return (uint64_t)c->output_size;
    case LSTM_DIM_O: return (uint64_t)lstm_output_width(c);
    case LSTM_DIM_2: return 2;
    default: return 1;
    }
}

/* Visit every tensor of a config in arena order: fn(row, unit (-1: head), rows, cols, offset).
 * Returns the parameter count, in 64 bits: the caller checks it against the limit. */
static uint64_t walk(const lstm_config *c, void (*fn)(void *, const lstm_tensor_rule *, int, uint64_t,
                                                      uint64_t, uint64_t),
                     void *arg) {
    const uint64_t X0 = c->input_vocab ? (uint64_t)c->input_vocab : (uint64_t)c->input_size;
    uint64_t at = 0;
    for (int u = 0; u < lstm_unit_count(c); u++) {
        const uint64_t X = u < lstm_directions(c) ? X0 : (uint64_t)lstm_output_width(c);
        for (int r = 0; r < N_UNIT_RULES; r++) {
            const lstm_tensor_rule *rule = &UNIT_RULES[r];
            if (!applies(c, rule->when)) continue;
            const uint64_t rows = dim(c, rule->rows, X), cols = dim(c, rule->cols, X);
            if (fn) fn(arg, rule, u, rows, cols, at);
            at += rows * cols;
        }
    }
    for (int r = 0; r < N_HEAD_RULES; r++) {
        const uint64_t rows = dim(c, HEAD_RULES[r].rows, 0), cols = dim(c, HEAD_RULES[r].cols, 0);
        if (fn) fn(arg, &HEAD_RULES[r], -1, rows, cols, at);
        at += rows * cols;
    }
    return at;
}

uint64_t lstm_parameter_total(const lstm_config *c) { return walk(c, NULL, NULL); }

/* Point one struct of tensors into an arena (with or without its weight matrices). */
typedef struct { lstm_tensors *t; float *base; int matrices; uint64_t at; } pointers_arg;

static void point(void *arg, const lstm_tensor_rule *rule, int u, uint64_t rows, uint64_t cols, uint64_t at) {
    pointers_arg *a = arg;
    (void)at;
    if (!a->matrices && lstm_is_matrix(rule->kind)) return; /* a quantised model's: NULL */
    float *p = a->base ? a->base + a->at : NULL;
    a->at += rows * cols;
    if (u < 0) { /* the head */
        if (rule->kind == LSTM_T_OUT_WEIGHT) a->t->w_out = p;
        else a->t->b_out = p;
        return;
    }
    lstm_layer_tensors *lt = &a->t->layer[u];
    switch (rule->kind) {
    case LSTM_T_W_IH: lt->w_ih = p; break;
    case LSTM_T_W_HH: lt->w_hh = p; break;
    case LSTM_T_B_IH: lt->b_ih = p; break;
    case LSTM_T_B_HH: lt->b_hh = p; break;
    case LSTM_T_PEEPHOLE: lt->peep = p; break;
    case LSTM_T_W_HR: lt->w_hr = p; break;
    case LSTM_T_LN_GATES: lt->ln_g = p; break;
    default: lt->ln_c = p; break;
    }
}

uint64_t lstm_point_tensors(const lstm_config *c, float *base, lstm_tensors *t, int matrices) {
    memset(t, 0, sizeof *t); /* tensors a config does not have stay NULL */
    pointers_arg a = {t, base, matrices, 0};
    walk(c, point, &a);
    return a.at;
}

/* Point a quantised model's int8 matrices and their scales into one arena (or, with base
 * NULL, measure it): per matrix its row scales, then its rows, 4-byte aligned. */
typedef struct { lstm_quantized *q; char *base; uint64_t at; } q8_arg;

static void point_q8(void *arg, const lstm_tensor_rule *rule, int u, uint64_t rows, uint64_t cols, uint64_t at) {
    q8_arg *a = arg;
    (void)at;
    if (!lstm_is_matrix(rule->kind)) return;
    lstm_q8 *m = rule->kind == LSTM_T_OUT_WEIGHT ? &a->q->w_out
                 : rule->kind == LSTM_T_W_IH   ? &a->q->layer[u].w_ih
                 : rule->kind == LSTM_T_W_HH   ? &a->q->layer[u].w_hh
                                               : &a->q->layer[u].w_hr;
    m->scale = a->base ? (float *)(void *)(a->base + a->at) : NULL;
    a->at += rows * sizeof(float);
    m->q = a->base ? (int8_t *)(a->base + a->at) : NULL;
    a->at += (rows * cols + 3) & ~(uint64_t)3;
}

uint64_t lstm_point_q8(const lstm_config *c, char *base, lstm_quantized *q) {
    q8_arg a = {q, base, 0};
    walk(c, point_q8, &a);
    return a.at;
}

/* The names and shapes lstm_tensor reports. */
static void describe(void *arg, const lstm_tensor_rule *rule, int u, uint64_t rows, uint64_t cols, uint64_t at) {
    lstm_model *m = arg;
    const int n = m->n_tensors++, D = lstm_directions(&m->cfg);
    if (u < 0)
        snprintf(m->tensor_names[n], sizeof m->tensor_names[n], "%s", rule->name);
    else
        snprintf(m->tensor_names[n], sizeof m->tensor_names[n], "%s_l%d%s", rule->name, u / D,
                 u % D ? "_reverse" : "");
    m->tensor_info[n] = (lstm_tensor_info){m->tensor_names[n], (uint32_t)at, (int32_t)rows, (int32_t)cols};
    m->tensor_kind[n] = rule->kind;
}

void lstm_describe_tensors(lstm_model *m) {
    m->n_tensors = 0;
    walk(&m->cfg, describe, m);
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

/* Every parameter ~ U(-s, s) (PyTorch's nn.LSTM and nn.Linear: s = 1/sqrt(H)), then by kind:
 * forget_bias into the forget rows (f is rows H..2H, z for the GRU; with CIFG f = 1 - i, so
 * against i; a layer-normalised model takes it in the f block of the gate norm's bias, since
 * normalising subtracts each block's mean and would remove it from b_ih), layer-norm gains 1
 * and biases 0 (the normalisation starts as the identity), orthogonal W_hh blocks. */
void lstm_init_parameters(lstm_model *m) {
    const lstm_config *c = &m->cfg;
    const int H = c->hidden_size;
    const float s = c->init_scale > 0.0f ? c->init_scale : 1.0f / sqrtf((float)H);
    uint64_t rng = rng_seed(c->seed, 0);
    for (size_t i = 0; i < m->n_params; i++) m->params[i] = (2.0f * rng_uniform(&rng) - 1.0f) * s;
    for (int n = 0; n < m->n_tensors; n++) {
        float *t = m->params + m->tensor_info[n].offset;
        const int cols = m->tensor_info[n].cols;
        switch (m->tensor_kind[n]) {
        case LSTM_T_B_IH:
            if (c->layer_norm) break;
            for (int j = 0; j < H; j++) {
                if (c->cifg) t[j] -= c->forget_bias;
                else t[H + j] += c->forget_bias;
            }
            break;
        case LSTM_T_LN_GATES: /* (2, G): gains, then biases */
        case LSTM_T_LN_CELL:  /* (2, H) */
            for (int j = 0; j < cols; j++) t[j] = 1.0f, t[cols + j] = 0.0f;
            if (m->tensor_kind[n] == LSTM_T_LN_GATES)
                for (int j = H; j < 2 * H; j++) t[cols + j] = c->forget_bias;
            break;
        case LSTM_T_W_HH:
            if (c->orthogonal_init)
                for (int q = 0; q < lstm_gate_count(c); q++) orthogonal_block(t + (size_t)q * H * H, H, &rng);
            break;
        default: break;
        }
    }
}
