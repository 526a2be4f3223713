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

#define LSTM_MAX_LAYERS 16
#define LSTM_MAX_HIDDEN 4096
#define LSTM_MAX_VOCAB (1 << 20)
#define LSTM_MAX_INPUT 65536
#define LSTM_MAX_PARAMS ((uint64_t)1 << 28) /* 1 GiB per float arena: more cannot fit wasm32 */
#define LSTM_MAX_BATCH 65536
#define LSTM_MAX_STEPS 65536
#define LSTM_MAX_UNITS (2 * LSTM_MAX_LAYERS) /* a unit is one direction of one layer */
#define LSTM_N_TENSORS(U) (8 * (U) + 2) /* a bound: 4 per unit, + peephole, projection, 2 layer norm; 2 head */

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
/* Does the LSTM need the general cell (train.c) rather than the kernel table's? */
static inline int lstm_variant_cell(const lstm_config *c) {
    return c->cell == LSTM_CELL_LSTM && (c->peephole || c->cifg || c->activation != LSTM_ACTIVATION_TANH);
}

/* Pointers into one arena (parameters or gradients), in the order of the header. */
typedef struct lstm_layer_tensors {
    float *w_ih; /* (G, X_l), G = 4H (LSTM) or 3H (GRU) */
    float *w_hh; /* (G, H) */
    float *b_ih; /* (G) */
    float *b_hh; /* (G) */
    float *peep; /* (P, H) peephole weights, rows i, f, o (CIFG: i, o); NULL without */
    float *w_hr; /* (proj_size, H) projection; NULL without */
    float *ln_g; /* (2, G) layer norm gain and bias of the gate pre-activations; NULL without */
    float *ln_c; /* (2, H) layer norm gain and bias of the cell; NULL without */
} lstm_layer_tensors;

typedef struct lstm_tensors {
    lstm_layer_tensors layer[LSTM_MAX_UNITS]; /* per unit: l * directions + d */
    float *w_out; /* (V, H) */
    float *b_out; /* (V) */
} lstm_tensors;

/* Activations of one layer for one (B, T) batch, time-major: row r = t*B + b. */
typedef struct lstm_layer_acts {
    float *h;      /* (T+1, B, S) h[0] is the initial state; S = proj_size or H */
    float *c;      /* (T+1, B, H) */
    float *gates;  /* (T, B, G) activations i, f, g, o (GRU: r, z, n) after forward */
    float *tanh_c; /* (T, B, H) tanh(c); GRU: W_hn h + b_hn, the product the reset gate scales */
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

/* The training workspace, one allocation sized for the largest (B, T) seen so far. */
typedef struct lstm_workspace {
    void *arena;
    size_t bytes;
    int B, T;     /* shape the pointers below are laid out for */
    lstm_layer_acts layer[LSTM_MAX_UNITS]; /* per unit, as lstm_tensors */
    float *x;          /* (T, B, X0) dense inputs, time-major */
    int32_t *tokens;   /* (T, B) */
    int32_t *targets;  /* (T, B) */
    float *logits;     /* (T, B, V) logits, then d loss / d logits */
    float *dgates;     /* (T, B, 4H) */
    float *dout;       /* (T, B, max(H, X0)) gradient at a layer's output / input */
    float *dc;         /* (B, H) */
    float *xrev;       /* bidirectional: (T, B, X) a layer's input with each sequence's valid
                          steps reversed (what the reverse unit reads); else NULL */
    int32_t *tokrev;   /* bidirectional token models: (T, B) the tokens so reversed */
    float *dbi;        /* bidirectional: (2, T, B, S) d loss / d h of the forward unit, then of
                          the reverse unit in its own (reversed) time order */
    float *dx2;        /* bidirectional: (T, B, X) the reverse unit's input gradient */
    float *dm;         /* (B, H) projection: d loss / d (o * tanh(c)) of one step; NULL without */
    float *dx;         /* (B, T, X0) input gradients, batch-first for the caller */
    float *bias;       /* (4H) b_ih + b_hh of the layer being computed */
    float *dgT;        /* (4H, T*B) dgates transposed, for weight gradients as gemm_nt */
    float *xT;         /* (max(X0, H), T*B) a layer's input transposed */
    float *whhT;       /* (H, 4H) W_hh transposed, for the recurrent backward product */
    float *wihT;       /* (max(X0, H), 4H) W_ih transposed, for the input backward product */
    float *dembed;     /* (X0, 4H) token models: gradient of the embedding table */
    float *state;      /* (2, L, B, H) scratch initial state (evaluation) */
    float *values;     /* (rows, V) MSE head: target values of the scored rows; else NULL */
    float *last;       /* (B, H) last_step_only: top output at each sequence's last step, then
                          its gradient; else NULL */
    const int32_t *lengths; /* (B) the caller's lengths during one call, or NULL (all T) */
    float *hm;         /* (B, H) recurrent dropout: the masked h_{t-1} of one step; else NULL */
    float *gh;         /* (B, G) GRU: one step's recurrent product W_hh h + b_hh; else NULL */
    float *dgh;        /* (T, B, G) GRU: d loss / d (W_hh h + b_hh), which differs from dgates
                          in the n rows; else NULL */
} lstm_workspace;

/* Single-sequence inference state and scratch. */
typedef struct lstm_infer {
    float *h;       /* (L, H) the first S of each H are the state */
    float *mh;      /* (H) projection: o * tanh(c) before W_hr */
    float *c;       /* (L, H) */
    float *gates;   /* (G); GRU: (2, 3H) the input and the recurrent products */
    float *tanh_c;  /* (H) */
    float *logits;  /* (V) */
    float *probs;   /* (V) sampling scratch */
    void *pairs;    /* (V) (probability, index) pairs: the sort scratch of top-k/top-p */
    int has_logits;
} lstm_infer;

struct lstm_model {
    lstm_config cfg;
    int X0; /* width of layer 0's input: input_vocab or input_size */
    const lstm_kernels *k;

    size_t n_params;
    float *params; /* (n_params) */
    float *grads;  /* (n_params) */
    float *moments; /* (n_moments * n_params) optimizer state, NULL before set_optimizer */
    int n_moments;
    lstm_tensors p, g;
    lstm_tensor_info tensor_info[LSTM_N_TENSORS(LSTM_MAX_UNITS)];
    char tensor_names[LSTM_N_TENSORS(LSTM_MAX_UNITS)][48];

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

    /* Bad steps (train.c): skipped, never applied; the K-th in a row fails the call and puts
     * back what the run of skips moved (stream position, dropout generator, carried state). */
    lstm_step_guard guard;
    double loss_mean;     /* running mean of recent accepted losses, for guard.loss_factor */
    uint32_t loss_count;  /* losses in loss_mean, up to LSTM_LOSS_WINDOW */
    uint64_t skipped;     /* steps skipped in all */
    int32_t skip_streak;  /* skipped in a row, up to now */
    int32_t skip_reason;  /* lstm_skip_reason of the last training step */
    uint64_t streak_pos;  /* stream_pos and dropout_rng before the run of skips began */
    uint64_t streak_rng;

    /* Token models: W_ih of layer 0 transposed, (D, X0, 4H) (per direction), so the one-hot product reads one
     * contiguous row per token instead of 4H values a row apart (a cache miss each). */
    float *embed;
    uint64_t param_version; /* bumped whenever parameters change */
    uint64_t embed_version; /* param_version that embed was built from */

    lstm_workspace ws;
    lstm_infer inf;
    void *inf_arena;

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

/* Validation shared by create and load; writes the reason into msg. */
lstm_status lstm_config_check(const lstm_config *cfg, uint64_t *n_params, lstm_message *msg);
lstm_status lstm_optimizer_check(const lstm_optimizer *opt, char *msg, size_t cap);
/* Allocate a model for a checked config (parameters uninitialised). */
lstm_status lstm_model_alloc(const lstm_config *cfg, lstm_model **out, lstm_message *msg);
void lstm_init_parameters(lstm_model *m);
int lstm_moments_for(int32_t optimizer_type);
/* Make m->embed current (token models). */
void lstm_embed_refresh(lstm_model *m);
lstm_status lstm_carry_resize(lstm_model *m, int B);
/* GRU cell for B rows (train.c). gi (B, 3H): in W_i x + b_i, out activations r, z, n;
 * gh (B, 3H) W_h h + b_h; hn (B, H) receives gh's n rows; h may alias h_prev. */
void lstm_gru_cell_forward(const lstm_kernels *k, int B, int H, float *gi, const float *gh,
                           const float *h_prev, float *hn, float *h, int relu);
/* The general LSTM cell (peepholes, CIFG, relu) for B rows, in the layout of the kernel's
 * lstm_cell_forward (gates: pre-activations in, activations out; c may alias c_prev). */
void lstm_variant_cell_forward(const lstm_config *cfg, int B, int H, float *gates,
                               const float *c_prev, float *c, float *act_c, float *h,
                               const float *peep);
/* The layer-normalised LSTM cell for B rows (gates: raw pre-activations in, activations out;
 * c may alias c_prev). xg, rg, xc, rc receive what backward needs, or are all NULL. */
void lstm_ln_cell_forward(int B, int H, float *gates, const float *c_prev, float *c, float *tanh_c,
                          float *h, const float *ln_g, const float *ln_c, float *xg, float *rg,
                          float *xc, float *rc);

#endif /* LSTM_MODEL_H */
