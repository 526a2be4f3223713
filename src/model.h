/* model.h - the lstm_model struct and what the C files share about it (not public API). */
#ifndef LSTM_MODEL_H
#define LSTM_MODEL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "../include/lstm.h"
#include "kernels.h"

/* The fault-injection test build (tests/native/test_faults.c) routes every allocation of the
 * core through a counter that can fail the Nth one; release builds use the C library. */
#ifdef LSTM_FAULT_INJECTION
#include <stdlib.h>
void *lstm_test_malloc(size_t size);
void *lstm_test_calloc(size_t count, size_t size);
#define malloc(size) lstm_test_malloc(size)
#define calloc(count, size) lstm_test_calloc(count, size)
#endif

#define LSTM_MAX_UNITS (2 * LSTM_MAX_LAYERS) /* a unit is one direction of one layer */
#define LSTM_MAX_TENSORS (8 * LSTM_MAX_UNITS + 2) /* every unit rule, and the head's two */

/* ---- the shape of a config ---- */

/* Gate rows per hidden unit: 4 (LSTM: i, f, g, o), 3 (GRU: r, z, n; CIFG: i, g, o). */
static inline int lstm_gate_count(const lstm_config *c) {
    return c->cell == LSTM_CELL_GRU || c->cifg ? 3 : 4;
}
/* Peephole rows per layer: 3 (i, f, o), 2 with CIFG (i, o), 0 without peepholes. */
static inline int lstm_peephole_rows(const lstm_config *c) { return c->peephole ? (c->cifg ? 2 : 3) : 0; }
/* Width of the state h and of every layer's output: proj_size, or H without projection. */
static inline int lstm_state_size(const lstm_config *c) { return c->proj_size > 0 ? c->proj_size : c->hidden_size; }
/* Directions: 2 for a bidirectional model, else 1. */
static inline int lstm_directions(const lstm_config *c) { return c->bidirectional ? 2 : 1; }
/* Units (one direction of one layer each), in the order of the arena: l0, l0_reverse, l1, ... */
static inline int lstm_unit_count(const lstm_config *c) { return c->num_layers * lstm_directions(c); }
/* Width of every layer's output and of what the head reads: S per direction. */
static inline int lstm_output_width(const lstm_config *c) { return lstm_directions(c) * lstm_state_size(c); }

/* ---- the parameter table (params.c) ---- */

typedef enum lstm_tensor_kind {
    LSTM_T_W_IH, LSTM_T_W_HH, LSTM_T_B_IH, LSTM_T_B_HH, LSTM_T_PEEPHOLE, LSTM_T_W_HR,
    LSTM_T_LN_GATES, LSTM_T_LN_CELL, LSTM_T_OUT_WEIGHT, LSTM_T_OUT_BIAS
} lstm_tensor_kind;

/* Dimensions a rule's shape is made of (include/lstm.h's names): G gate rows (gates x H), X the
 * unit's input width, S the state width, H, P proj_size, the peephole rows, V outputs, O the
 * width the head reads (directions x S), and the constants 2 and 1. */
typedef enum lstm_dim {
    LSTM_DIM_G, LSTM_DIM_X, LSTM_DIM_S, LSTM_DIM_H, LSTM_DIM_P, LSTM_DIM_PEEPHOLES, LSTM_DIM_V,
    LSTM_DIM_O, LSTM_DIM_2, LSTM_DIM_1
} lstm_dim;

typedef enum lstm_rule_when {
    LSTM_IF_ALWAYS, LSTM_IF_PEEPHOLE, LSTM_IF_PROJECTION, LSTM_IF_LAYER_NORM
} lstm_rule_when;

typedef struct lstm_tensor_rule {
    const char *name; /* per unit: suffixed _l{layer}[_reverse] */
    lstm_tensor_kind kind;
    lstm_dim rows, cols;
    lstm_rule_when when;
} lstm_tensor_rule;

/* Pointers into one arena (parameters or gradients), in the order of the header. */
typedef struct lstm_layer_tensors {
    float *w_ih; /* (G, X_l) */
    float *w_hh; /* (G, S) */
    float *b_ih; /* (G) */
    float *b_hh; /* (G) */
    float *peep; /* (P, H) peephole weights, rows i, f, o (CIFG: i, o); NULL without */
    float *w_hr; /* (proj_size, H) projection; NULL without */
    float *ln_g; /* (2, G) layer norm gain and bias of the gate pre-activations; NULL without */
    float *ln_c; /* (2, H) layer norm gain and bias of the cell; NULL without */
} lstm_layer_tensors;

typedef struct lstm_tensors {
    lstm_layer_tensors layer[LSTM_MAX_UNITS]; /* per unit: l * directions + d */
    float *w_out; /* (V, O) */
    float *b_out; /* (V) */
} lstm_tensors;

/* A weight matrix of a quantised model: int8 rows, each with its scale (w ~ q * scale). */
typedef struct lstm_q8 {
    int8_t *q;    /* (rows, cols) */
    float *scale; /* (rows) */
} lstm_q8;

typedef struct lstm_layer_q8 {
    lstm_q8 w_ih, w_hh, w_hr; /* w_hr: projection only */
} lstm_layer_q8;

/* A quantised model's matrices (include/lstm.h, "Quantised models"), in one allocation: its
 * float arena holds only the other tensors, and inference multiplies by these. */
typedef struct lstm_quantized {
    void *arena;
    lstm_layer_q8 layer[LSTM_MAX_UNITS];
    lstm_q8 w_out;
    int8_t *embed; /* token models: (D, X0, G) layer 0's W_ih transposed, as m->embed; scales w_ih's */
} lstm_quantized;

/* A float model's weight matrices as the forward products read them (pack.c): each (N, K)
 * weight W packed as W^T for gemm_panels, K x LSTM_PANEL_WIDTH(N) floats. A GRU with
 * reset_before multiplies h by its r and z rows and r * h by its n rows: two packings. */
typedef struct lstm_layer_packed {
    float *w_ih; /* NULL for a token model's layer 0, which reads m->embed instead */
    float *w_hh; /* all G rows; with reset_before the 2H rows r, z only */
    float *w_hn; /* reset_before: the H rows n; else NULL */
    float *w_hr; /* projection; else NULL */
} lstm_layer_packed;

typedef struct lstm_packed {
    lstm_layer_packed layer[LSTM_MAX_UNITS];
    float *w_out;
} lstm_packed;

/* Is a tensor of this kind a weight matrix (int8 in quantised files and models)? */
static inline int lstm_is_matrix(lstm_tensor_kind kind) {
    return kind == LSTM_T_W_IH || kind == LSTM_T_W_HH || kind == LSTM_T_W_HR || kind == LSTM_T_OUT_WEIGHT;
}

/* The unit rules (head 0) or the head's (head 1). */
const lstm_tensor_rule *lstm_tensor_rules(int head, int *count);
/* Parameters of a config, in 64 bits (checked against LSTM_MAX_PARAMS by the caller). */
uint64_t lstm_parameter_total(const lstm_config *c);
/* Point t into an arena; with matrices 0, the arena has no weight matrices (a quantised
 * model's: their pointers stay NULL) and the function returns its size in floats. */
uint64_t lstm_point_tensors(const lstm_config *c, float *base, lstm_tensors *t, int matrices);
/* Point (base NULL: measure) a quantised model's matrices into one arena; returns its bytes. */
uint64_t lstm_point_q8(const lstm_config *c, char *base, lstm_quantized *q);
/* Point (base NULL: measure) a float model's packed weights into one arena; returns its floats. */
uint64_t lstm_point_packed(const lstm_config *c, float *base, lstm_packed *pk);

/* ---- activations (workspace.c) ---- */

/* Activations of one unit for one (B, T) batch, time-major: row r = t*B + b. */
typedef struct lstm_layer_acts {
    float *h;      /* (T+1, B, S) h[0] is the initial state; S = proj_size or H */
    float *c;      /* (T+1, B, H) */
    float *gates;  /* (T, B, G) activations i, f, g, o (GRU: r, z, n) after forward */
    float *tanh_c; /* (T, B, H) act(c); GRU: W_hn h + b_hn, the product the reset gate scales */
    float *mask;   /* (T, B, D*S) dropout mask 0 or 1/(1-p); NULL without dropout */
    float *rmask;  /* (B, H) recurrent dropout mask, the same at every step; NULL without */
    int rdrop;     /* rmask is in use for the batch being computed */
    float *cat;    /* (T, B, D*S) the layer's output before dropout: h[1..T], or bidirectional
                      [h forward(t), h reverse at its step for t]; only the forward unit has it */
    float *out;    /* (T, B, D*S) what the next layer sees: cat, masked if dropout */
    float *mh;     /* (T, B, H) projection: o * tanh(c) before W_hr; NULL without */
    float *ln_xg;  /* (T, B, G) layer norm: the normalised gate pre-activations; NULL without */
    float *ln_rg;  /* (T, B, 4) their 1/std per gate block */
    float *ln_xc;  /* (T, B, H) the normalised f * c_{t-1} + i * g */
    float *ln_rc;  /* (T, B) its 1/std */
} lstm_layer_acts;

/* A workspace: one allocation laid out for a (B, T) shape. The model has two: the training
 * one (forward and backward, sized for the largest batch seen) and the inference one (one
 * sequence, one step, forward only). */
typedef struct lstm_workspace {
    void *arena;
    size_t bytes;
    int B, T;     /* shape the pointers below are laid out for */
    int backward; /* the pieces only backward needs are laid out too */
    lstm_layer_acts layer[LSTM_MAX_UNITS]; /* per unit, as lstm_tensors */
    float *x;          /* (T, B, X0) dense inputs, time-major */
    int32_t *tokens;   /* (T, B) */
    int32_t *targets;  /* (T, B) */
    float *logits;     /* (T, B, V) logits, then d loss / d logits */
    float *bias;       /* (G) the input bias of the unit being computed */
    float *state;      /* (2, L, B, H) scratch initial state (evaluation) */
    float *values;     /* (rows, V) MSE head: target values of the scored rows; else NULL */
    float *last;       /* (B, O) last_step_only: top output at each sequence's last step, then
                          its gradient; else NULL */
    const int32_t *lengths; /* (B) the caller's lengths during one call, or NULL (all T) */
    float *hm;         /* (B, H) recurrent dropout: the masked h_{t-1} of one step; else NULL */
    float *gh;         /* (B, G) GRU: one step's recurrent product W_hh h + b_hh; else NULL */
    float *xrev;       /* bidirectional: (T, B, X) a layer's input with each sequence's valid
                          steps reversed (what the reverse unit reads); else NULL */
    int32_t *tokrev;   /* bidirectional token models: (T, B) the tokens so reversed */
    /* backward only */
    float *dgates;     /* (T, B, G) d loss / d gate pre-activations */
    float *dgh;        /* (T, B, G) GRU: d loss / d (W_hh h + b_hh), which differs from dgates
                          in the n rows; else NULL */
    float *dout;       /* (T, B, max(D*H, X0)) gradient at a layer's output / input */
    float *dc;         /* (B, H) */
    float *cell_scratch; /* (5H) a cell's backward scratch (layer norm) */
    float *dbi;        /* bidirectional: (2, T, B, S) d loss / d h of the forward unit, then of
                          the reverse unit in its own (reversed) time order */
    float *dx2;        /* bidirectional: (T, B, X) the reverse unit's input gradient */
    float *dm;         /* (B, H) projection: d loss / d (o * tanh(c)) of one step; NULL without */
    float *dx;         /* (B, T, X0) input gradients, batch-first for the caller */
    /* backward's right operands packed for gemm_panels: W_hh for all the steps of a unit, a
     * second weight beside it (W_hr of a projection, W_hn of a reset-before GRU), and one
     * operand of one product at a time (a weight gradient's rows, W_ih, W_out, or scratch) */
    float *pk_rec;     /* (G, S) packed */
    float *pk_aux;     /* (S, H) or (H, S) packed; else NULL */
    float *pk_op;      /* the largest of: (T*B, max(X0, D*H)), (G, max(X0, D*H)), (V, D*S)
                          packed; token models also (G, X0) */
    float *dembed;     /* (X0, G) token models: gradient of the embedding table */
    /* quantised models: a product's activations as int16 rows and their scales */
    int16_t *aq;       /* (T*B, max(X0, D*H)) */
    float *aq_scale;   /* (T*B) */
    /* forward-only workspaces of token models: each row's tokens read since its state was zeroed,
     * a bit per id below output_size (what the repetition penalty scales) */
    uint32_t *seen;    /* (B, lstm_seen_words) */
} lstm_workspace;

/* Words of a seen-token set: a bit per output id of a token model, none for a dense one. */
static inline int lstm_seen_words(const lstm_config *c) { return c->input_vocab ? (c->output_size + 31) / 32 : 0; }
static inline void lstm_seen_add(uint32_t *seen, int32_t token, int V) {
    if (token >= 0 && token < V) seen[token >> 5] |= 1u << (token & 31);
}
static inline int lstm_seen_has(const uint32_t *seen, int32_t token) { return seen[token >> 5] >> (token & 31) & 1u; }

/* Make m's training workspace fit (B, T), keeping the old one on failure. */
lstm_status lstm_workspace_for(lstm_model *m, int B, int T);
/* Lay the training workspace out again for a shorter T within its arena (evaluation's tail). */
void lstm_workspace_relayout(lstm_model *m, int T);
/* Allocate the inference workspace (one sequence, one step, forward only). */
lstm_status lstm_workspace_infer(lstm_model *m);
/* Allocate w as a forward-only workspace for (B, T), zeroed (LSTM_ERR_OUT_OF_MEMORY, no
 * message, on failure; w is then empty); it also runs any shorter T at the same B. */
lstm_status lstm_workspace_forward(const lstm_model *m, lstm_workspace *w, int B, int T);
void lstm_workspace_free(lstm_workspace *w); /* an empty w is allowed */

/* Several samples advancing together (samples.c, lstm_samples_* in include/lstm.h). */
typedef struct lstm_sample_batch {
    lstm_workspace w;  /* forward-only for (n, 1): row k of the units' first rows, the logits
                          and the seen sets is sample k's */
    int n;             /* samples started; 0: none */
    int active;        /* samples still running */
    uint64_t *rng;     /* (n) each sample's generator; one allocation with running */
    uint8_t *running;  /* (n) 1 until the sample is stopped */
} lstm_sample_batch;

/* ---- the model ---- */

typedef struct lstm_cell lstm_cell; /* cell.h */

struct lstm_model {
    lstm_config cfg;
    int X0; /* width of layer 0's input: input_vocab or input_size */
    const lstm_kernels *k;
    const lstm_cell *cell; /* chosen once from the config (cell.h) */
    lstm_quantized *q8;    /* a quantised model's int8 matrices; NULL for a float model */

    size_t n_params;
    float *params; /* (n_params) */
    float *grads;  /* (n_params) */
    float *moments; /* (n_moments * n_params) optimizer state, NULL before set_optimizer */
    int n_moments;
    lstm_tensors p, g;
    int n_tensors;
    lstm_tensor_info tensor_info[LSTM_MAX_TENSORS];
    lstm_tensor_kind tensor_kind[LSTM_MAX_TENSORS];
    char tensor_names[LSTM_MAX_TENSORS][48];

    lstm_optimizer opt;
    int has_opt;
    uint64_t step;

    uint64_t dropout_rng;
    uint64_t sample_rng;

    int carry_B;  /* batch size of the carried state, 0 = none (zero state) */
    float *carry; /* (2, 2, L, carry_cap, H): the carried h then c in its first (2, L, carry_B, H),
                     then the same as it was before the current run of skipped steps */
    int carry_cap; /* batch size the carry block was allocated for (>= carry_B) */
    uint64_t stream_pos;

    /* Bad steps (step_guard.c): skipped, never applied; the K-th in a row fails the call and
     * puts back what the run of skips moved (stream position, dropout generator, carried state). */
    lstm_step_guard guard;
    double loss_mean;     /* running mean of recent accepted losses, for guard.loss_factor */
    uint32_t loss_count;  /* losses in loss_mean, up to LSTM_LOSS_WINDOW */
    uint64_t skipped;     /* steps skipped in all */
    int32_t skip_streak;  /* skipped in a row, up to now */
    int32_t skip_reason;  /* lstm_skip_reason of the last training step */
    uint64_t streak_pos;  /* stream_pos and dropout_rng before the run of skips began */
    uint64_t streak_rng;

    /* What the forward reads instead of the parameters themselves (pack.c): token models' W_ih
     * of layer 0 transposed, (D, X0, G) (per direction), so the one-hot product reads one
     * contiguous row per token instead of G values a row apart (a cache miss each); and a
     * float model's weight matrices packed for gemm_panels, in one allocation. */
    float *embed;
    float *packed_arena;
    lstm_packed pk;
    uint64_t param_version;   /* bumped whenever parameters change */
    uint64_t derived_version; /* param_version that embed and pk were made from */

    lstm_workspace ws;    /* training, evaluation, prediction */
    lstm_workspace infer; /* step-by-step inference: its units' h[0], c[0] are the state */
    lstm_sample_batch samples; /* several samples at once (samples.c) */
    int has_logits;       /* infer.logits holds the last step's logits */
    float *probs;         /* (V) sampling scratch */
    void *pairs;          /* (V) (probability, index) pairs: the sort scratch of top-k/top-p */

    uint32_t *vocab;
    int32_t vocab_size;
    uint8_t *metadata;
    uint32_t metadata_size;

    char err[256];
};

/* The loss guard compares with the mean of about this many recent accepted losses, and only
 * once it has this many (the first few say little about the level training settles at). */
#define LSTM_LOSS_WINDOW 50
#define LSTM_LOSS_WARMUP 10

/* Record a detailed message in the model and return status. */
lstm_status lstm_fail(lstm_model *m, lstm_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
void lstm_message_set(lstm_message *msg, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* model.c: validation shared by create and load (writes the reason into msg); allocation of
 * a model for a checked config (parameters uninitialised); the carried state. */
lstm_status lstm_config_check(const lstm_config *cfg, uint64_t *n_params, lstm_message *msg);
lstm_status lstm_model_alloc(const lstm_config *cfg, int quantized, lstm_model **out, lstm_message *msg);
/* A quantised model refuses what needs float weights (training, their gradients): a status. */
lstm_status lstm_refuse_quantized(lstm_model *m, const char *what);
lstm_status lstm_carry_resize(lstm_model *m, int B);
/* Make m->embed and m->pk current (pack.c): always with force (a training batch: cheap beside
 * it, and right even if parameters were written without lstm_parameters_changed), else only
 * when the parameters changed since they were made. */
void lstm_derived_refresh(lstm_model *m, int force);

/* the first 8 bytes of a model file (serialize.c) */
extern const char lstm_file_magic[8];
/* CRC-32 (IEEE) of n bytes, as the model file's (serialize.c); also the inference state's. */
uint32_t lstm_crc32(const uint8_t *p, size_t n);

/* infer.c: the inference state zeroed, and advanced by one input (validated by the caller);
 * what generation needs of a model, and of a prompt */
void lstm_infer_zero(lstm_model *m);
void lstm_infer_advance(lstm_model *m, int32_t token, const float *input);
lstm_status lstm_check_generation(lstm_model *m);
lstm_status lstm_check_prompt(lstm_model *m, const int32_t *prompt, int32_t n_prompt);

/* sampler.c: the sampling settings checked; a token drawn from logits z (V) with the tokens in
 * seen penalised (NULL: none) and generator rng; the inference state's own */
lstm_status lstm_check_sampling(lstm_model *m, const lstm_sampling *s);
int32_t lstm_sample_row(lstm_model *m, const float *z, const uint32_t *seen, uint64_t *rng, const lstm_sampling *s);
int32_t lstm_sample_logits(lstm_model *m, const lstm_sampling *s);

/* samples.c: free a model's sample batch (lstm_free) */
void lstm_samples_release(lstm_model *m);

/* quantize.c: the int8 parameter section of format version 4 */
uint64_t lstm_q8_section_bytes(const lstm_config *c);
void lstm_q8_write(const lstm_model *m, uint8_t *out);
lstm_status lstm_q8_read(lstm_model *m, const uint8_t *in, lstm_message *msg);

/* params.c */
void lstm_describe_tensors(lstm_model *m);
void lstm_init_parameters(lstm_model *m);

/* optimizer.c */
lstm_status lstm_optimizer_check(const lstm_optimizer *opt, char *msg, size_t cap);
int lstm_moments_for(int32_t optimizer_type);
lstm_status lstm_ensure_optimizer(lstm_model *m);
/* Clip and apply the optimizer to m->grads: LSTM_SKIP_NONE once applied, else why not. */
lstm_skip_reason lstm_apply_update(lstm_model *m);

/* step_guard.c: a training step's outcome under the bad-step policy. */
int lstm_loss_spike(const lstm_model *m, double loss);
lstm_status lstm_skip_step(lstm_model *m, lstm_skip_reason why, double loss, uint64_t rng_before);
void lstm_accept_step(lstm_model *m, double loss);

/* network.c: the whole network over a batch in a workspace (inputs, initial state and lengths
 * already there). rng NULL: no dropout. The head's outputs of the scored rows go to
 * w->logits; the loss makes them d loss / d outputs. */
void lstm_network_forward(lstm_model *m, lstm_workspace *w, int B, int T, uint64_t *rng);
size_t lstm_head_forward(lstm_model *m, lstm_workspace *w, int B, int T);
double lstm_head_loss(lstm_model *m, int B, int T, size_t rows, size_t *correct);
/* Every parameter gradient of the batch into m->grads (zeroed first); dense input gradients
 * into m->ws.dx when want_dx. */
void lstm_network_backward(lstm_model *m, int B, int T, int want_dx);
/* Each unit's initial h and c from state (2, L, B, H), or zeros; the state after each
 * sequence's last valid step back into it. */
void lstm_load_state(lstm_workspace *w, const lstm_config *c, int B, const float *state);
void lstm_store_state(const lstm_workspace *w, const lstm_config *c, int B, int T, float *state);
size_t lstm_head_rows(const lstm_model *m, int B, int T);
int lstm_row_valid(const lstm_model *m, int B, size_t r);
size_t lstm_valid_rows(const lstm_model *m, int B, int T);
int lstm_argmax(const float *x, int n);

#endif /* LSTM_MODEL_H */
