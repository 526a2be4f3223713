/* lstm.h - the public C API of lstm-wasm: stacked LSTM networks, training and inference.
 *
 * One opaque handle (lstm_model), plain functions, and an lstm_status on everything that
 * can fail. There is no global state: models are independent and may live side by side.
 *
 * Parameter layout (identical to PyTorch nn.LSTM, so weights move between the two):
 *   for each layer l in 0..L-1, in this order, row-major float32:
 *     weight_ih_l{l}  (4H, X_l)   X_0 = input_vocab (token inputs) or input_size, X_l = H for l > 0
 *     weight_hh_l{l}  (4H, H)
 *     bias_ih_l{l}    (4H)
 *     bias_hh_l{l}    (4H)
 *   then the output head (PyTorch nn.Linear):
 *     out.weight      (V, H)
 *     out.bias        (V)
 *   Gate rows are ordered i, f, g, o (input, forget, candidate, output):
 *     i = sigmoid(W_ii x + b_ii + W_hi h + b_hi)     f = sigmoid(...f rows...)
 *     g = tanh(...g rows...)                          o = sigmoid(...o rows...)
 *     c_t = f * c_{t-1} + i * g                       h_t = o * tanh(c_t)
 *   Token inputs have one-hot semantics: the input product is the column W_ih[:, token].
 *
 * GRU layers (config.cell = LSTM_CELL_GRU), identical to PyTorch nn.GRU: per layer
 *     weight_ih_l{l}  (3H, X_l)     weight_hh_l{l}  (3H, H)     bias_ih_l{l} (3H)     bias_hh_l{l} (3H)
 *   then the same head. Gate rows are ordered r, z, n (reset, update, new):
 *     r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)      z = sigmoid(...z rows...)
 *     n = tanh(W_in x + b_in + r * (W_hn h + b_hn))   h_t = (1 - z) * n + z * h_{t-1}
 *   (the reset gate applies after the recurrent product, PyTorch's convention). forget_bias
 *   is added to the z rows of bias_ih (a larger z keeps more of the state). With
 *   config.gru_reset_before, the reset gate applies to h before the product, as Keras'
 *   GRU(reset_after=False) and TF.js's GRU:
 *     n = act(W_in x + b_in + W_hn (r * h) + b_hn)
 *
 * Gate activation (config.recurrent_activation, LSTM and GRU; not with layer_norm): the gates
 * i, f, o (GRU: r, z) use sigmoid (default) or hard sigmoid, clip(0.2 x + 0.5, 0, 1), whose
 * derivative is 0.2 inside (0, 1) and 0 where it clips: Keras' recurrent_activation.
 *
 * Heads (config.head, config.last_step_only): the same out.weight/out.bias produce V values
 * from the top layer's h; they are read as
 *   LSTM_HEAD_SOFTMAX  logits of a softmax over V classes, cross-entropy against ids;
 *   LSTM_HEAD_MSE      V real values, mean squared error against target values (mean over
 *                      the scored rows and the V outputs, as PyTorch MSELoss / Keras "mse").
 * With last_step_only 0 every step is scored (Keras return_sequences=True); with 1 only each
 * sequence's last step (return_sequences=False): sequence classification or regression.
 *
 * LSTM variants (config.peephole, config.cifg, config.activation; LSTM cell only):
 *   cifg (coupled input and forget gate): f = 1 - i, so the f rows are absent: every
 *     weight_ih/weight_hh/bias has 3H rows ordered i, g, o.
 *   peephole: after bias_hh_l{l} each layer has
 *     peephole_l{l}   (P, H)   diagonal peephole weights, rows i, f, o (P = 3; with cifg i, o, P = 2)
 *     i = sigmoid(... + w_i * c_{t-1})   f = sigmoid(... + w_f * c_{t-1})   o = sigmoid(... + w_o * c_t)
 *   activation: the candidate g and the output squashing h = o * act(c) use tanh (default) or
 *     relu, as Keras' activation= (for the GRU, the candidate n).
 *
 * Projection (config.proj_size = P > 0, LSTM cell only), identical to PyTorch nn.LSTM(proj_size=P):
 *   h_t = W_hr (o * tanh(c_t)), so the state and every layer's output have P values (c keeps H):
 *     weight_ih_l{l}  (4H, X_l)   X_l = P for l > 0        weight_hh_l{l}  (4H, P)
 *     bias_ih_l{l}    (4H)        bias_hh_l{l}    (4H)     [peephole_l{l}]   weight_hr_l{l}  (P, H)
 *   and the head reads P values: out.weight (V, P).
 *
 * Layer normalisation (config.layer_norm, LSTM cell without peephole/cifg/relu/projection),
 *   after the biases of each layer:
 *     layer_norm_gates_l{l}  (2, 4H)   gain then bias, per gate unit
 *     layer_norm_cell_l{l}   (2, H)    gain then bias
 *   each gate block k of a = b_ih + b_hh + W_ih x + W_hh h is normalised over its H units:
 *   y_k = gain_k * (a_k - mean(a_k)) / sqrt(var(a_k) + 1e-5) + bias_k, then i, f, g, o from y;
 *   c_t = LN_cell(f * c_{t-1} + i * g) (the normalised cell is the state) and h = o * tanh(c_t).
 *   Gains start at 1 and biases at 0, except that forget_bias initialises the f block of
 *   layer_norm_gates' bias (in b_ih the normalisation would subtract it again).
 *
 * Bidirectional (config.bidirectional, any cell), as PyTorch nn.LSTM(bidirectional=True): each
 *   layer has a forward unit and a reverse unit that reads each sequence's valid steps from the
 *   last to the first (a padded sequence is reversed within its length, as a packed sequence).
 *   The arena holds per layer the forward unit's tensors, then the reverse unit's, named with
 *   the suffix _reverse (weight_ih_l0, ..., weight_ih_l0_reverse, ...). Each layer's output at
 *   step t is [h_forward(t), h_reverse(t)], 2S wide: layers above read X_l = 2S and
 *   out.weight is (V, 2S). With last_step_only the head reads the final state of each
 *   direction, [h_forward(length-1), h_reverse(0)], as Keras' Bidirectional(return_sequences=
 *   False) (PyTorch's h_n). Every batch starts from a zero state: nothing is carried, and the
 *   token stream and step-by-step inference calls refuse these models (LSTM_ERR_STATE).
 *
 * Sequences are passed batch-first: element (b, t) of a (B, T) array is at index b*T + t.
 */
#ifndef LSTM_H
#define LSTM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The newest file format this build writes and reads. A file is written in the oldest
 * version that holds it: version 1 while the config words after forget_bias are all zero,
 * version 3 only for a training state with a bad-step record (see lstm_step_guard), version 4
 * for quantised files (LSTM_SAVE_INT8). */
#define LSTM_FORMAT_VERSION 4

/* Limits of a model and of a batch; every value outside them is refused with a message. */
#define LSTM_MAX_LAYERS 16
#define LSTM_MAX_HIDDEN 4096
#define LSTM_MAX_VOCAB (1 << 20)   /* input_vocab and output_size */
#define LSTM_MAX_INPUT 65536       /* dense input_size */
#define LSTM_MAX_PARAMS (1u << 28) /* floats per arena: 1 GiB, more than wasm32 can hold twice */
#define LSTM_MAX_BATCH 65536
#define LSTM_MAX_STEPS 65536
#define LSTM_MAX_SKIPS 1000        /* lstm_step_guard.max_skips */
#define LSTM_MAX_THREADS 64

typedef struct lstm_model lstm_model;

typedef enum lstm_status {
    LSTM_OK = 0,
    LSTM_ERR_INVALID_ARGUMENT = 1,    /* a value is out of range; the model's message names it */
    LSTM_ERR_OUT_OF_MEMORY = 2,       /* an allocation failed; the model is unchanged */
    LSTM_ERR_BAD_MAGIC = 3,           /* the buffer is not an lstm-wasm model */
    LSTM_ERR_UNSUPPORTED_VERSION = 4, /* a model file from a newer format version */
    LSTM_ERR_TRUNCATED = 5,           /* the buffer ends before the model does */
    LSTM_ERR_CHECKSUM = 6,            /* the stored CRC-32 does not match the contents */
    LSTM_ERR_CORRUPT = 7,             /* a field holds an impossible value */
    LSTM_ERR_NON_FINITE = 8,          /* training steps kept failing (see lstm_step_guard); nothing was changed */
    LSTM_ERR_TOKEN_RANGE = 9,         /* a token id is outside [0, vocabulary) */
    LSTM_ERR_BUFFER_TOO_SMALL = 10,   /* the output buffer cannot hold the result */
    LSTM_ERR_STATE = 11               /* the call needs a state the model is not in */
} lstm_status;

/* A short fixed description of a status code. Never NULL. */
const char *lstm_strerror(lstm_status status);

/* The kernels this build runs: "wasmsimd" (128-bit wasm SIMD) or "scalar". */
const char *lstm_kernels_name(void);
/* Bytes in live allocations of the library's heap (the wasm builds; 0 natively). */
size_t lstm_allocated_bytes(void);

/* Detailed message for failures of lstm_create / lstm_load, which have no model to hold it. */
typedef struct lstm_message {
    char text[256];
} lstm_message;

/* Model configuration. Every field is 4 bytes wide, so the struct is a flat array of
 * 32-bit words (JS writes it by index). Zero-initialise and set what you need. */
typedef struct lstm_config {
    int32_t input_vocab;  /* > 0: inputs are token ids in [0, input_vocab); 0: dense inputs */
    int32_t input_size;   /* dense input width (1..65536) when input_vocab == 0; else ignored */
    int32_t hidden_size;  /* H, 1..4096 */
    int32_t num_layers;   /* L, 1..16 */
    int32_t output_size;  /* V logits of the softmax head, 1..1048576 */
    uint32_t seed;        /* initialisation, dropout and sampling all derive from it */
    float dropout;        /* inverted dropout on each layer's output h (between layers and
                             before the head), training only; 0 <= p < 1 */
    float init_scale;     /* weights ~ U(-s, s); 0 means PyTorch's default s = 1/sqrt(H) */
    float forget_bias;    /* added to bias_ih's forget rows at initialisation (0 = PyTorch);
                             layer norm: the f block of layer_norm_gates' bias */
    /* ---- format version 2 (zero keeps the version 1 meaning) ---- */
    int32_t head;           /* lstm_head_type */
    int32_t last_step_only; /* 0: an output and a loss term at every step; 1: only at each
                               sequence's last step (its length, see lstm_batch.lengths) */
    int32_t cell;           /* lstm_cell_type of every layer */
    float recurrent_dropout; /* variational dropout on the recurrent input h_{t-1} of W_hh
                                (one mask per sequence and layer, the same at every step of a
                                batch), inverted, training only; 0 <= p < 1 */
    int32_t orthogonal_init; /* 1: each gate block (H, H) of weight_hh starts as a random
                                orthogonal matrix; 0: uniform like the other weights */
    int32_t peephole;        /* 1: diagonal peephole weights (LSTM cell), see above */
    int32_t cifg;            /* 1: coupled input and forget gate, f = 1 - i (LSTM cell) */
    int32_t activation;      /* lstm_activation of the candidate and of the cell output */
    int32_t proj_size;       /* P: 0 = none, else 1..hidden_size-1 (LSTM cell), see above */
    int32_t layer_norm;      /* 1: layer-normalised LSTM, see above */
    int32_t bidirectional;   /* 1: a second recurrent unit per layer reads each sequence
                                backwards, see above; for whole sequences (batches, predict),
                                not for streams or step-by-step inference */
    int32_t recurrent_activation; /* lstm_gate_activation of the gates (LSTM i, f, o; GRU r, z) */
    int32_t gru_reset_before;     /* GRU: 1 applies the reset gate to h before the recurrent
                                     product, Keras' reset_after=False (TF.js's only form), see above */
} lstm_config;

typedef enum lstm_gate_activation {
    LSTM_GATE_SIGMOID = 0,     /* 1 / (1 + exp(-x)) */
    LSTM_GATE_HARD_SIGMOID = 1 /* clip(0.2 x + 0.5, 0, 1), TF.js's default (and Keras 2's definition) */
} lstm_gate_activation;

typedef enum lstm_activation {
    LSTM_ACTIVATION_TANH = 0,
    LSTM_ACTIVATION_RELU = 1
} lstm_activation;

typedef enum lstm_cell_type {
    LSTM_CELL_LSTM = 0, /* the LSTM above (gates i, f, g, o) */
    LSTM_CELL_GRU = 1   /* PyTorch nn.GRU (gates r, z, n) */
} lstm_cell_type;

typedef enum lstm_head_type {
    LSTM_HEAD_SOFTMAX = 0, /* softmax over output_size classes, cross-entropy loss */
    LSTM_HEAD_MSE = 1      /* output_size linear outputs, mean squared error loss */
} lstm_head_type;

lstm_status lstm_create(const lstm_config *config, lstm_model **out, lstm_message *message);
void lstm_free(lstm_model *model); /* NULL is allowed */

/* The last detailed error message of calls on this model ("" if none). */
const char *lstm_error_message(const lstm_model *model);

lstm_status lstm_get_config(const lstm_model *model, lstm_config *out);

/* What a model of this config takes, before making it: the parameter count, and the bytes of
 * its allocations when it trains on (batch, steps) batches with the optimizer type given
 * (lstm_optimizer_type): parameters and gradients, optimizer moments, the training
 * activations and carried state, and what inference keeps (one step's activations, the
 * embedding copy of token models, the sampler's scratch). */
typedef struct lstm_memory {
    uint64_t parameters;
    uint64_t parameter_bytes;
    uint64_t optimizer_bytes;
    uint64_t activation_bytes;
    uint64_t inference_bytes;
    uint64_t total_bytes;
} lstm_memory;
lstm_status lstm_estimate_memory(const lstm_config *config, int32_t batch, int32_t steps, int32_t optimizer,
                                 lstm_memory *out, lstm_message *message);

/* ---- parameters: one contiguous float32 arena in the layout above ---- */
size_t lstm_parameter_count(const lstm_model *model);
float *lstm_parameters(lstm_model *model);  /* (parameter_count) */
float *lstm_gradients(lstm_model *model);   /* (parameter_count), filled by lstm_compute_gradients */
/* Call after writing parameters through lstm_parameters(): inference keeps a transposed copy
 * of the input weights (the layout a step reads) and rebuilds it when told. */
void lstm_parameters_changed(lstm_model *model);

typedef struct lstm_tensor_info {
    const char *name; /* e.g. "weight_ih_l0", "out.weight" */
    uint32_t offset;  /* in floats from the start of the arena */
    int32_t rows;
    int32_t cols;     /* 1 for vectors */
} lstm_tensor_info;
int32_t lstm_tensor_count(const lstm_model *model);
lstm_status lstm_tensor(const lstm_model *model, int32_t index, lstm_tensor_info *out);

/* ---- vocabulary and metadata stored with the model (opaque to the C core) ---- */
lstm_status lstm_set_vocabulary(lstm_model *model, const uint32_t *code_points, int32_t count);
int32_t lstm_vocabulary_size(const lstm_model *model);
const uint32_t *lstm_vocabulary(const lstm_model *model);
lstm_status lstm_set_metadata(lstm_model *model, const uint8_t *bytes, uint32_t size);
uint32_t lstm_metadata_size(const lstm_model *model);
const uint8_t *lstm_metadata(const lstm_model *model);

/* ---- training ---- */
typedef enum lstm_optimizer_type {
    LSTM_OPTIMIZER_SGD = 0,     /* v = momentum*v + g;  p -= lr*v */
    LSTM_OPTIMIZER_RMSPROP = 1, /* s = beta2*s + (1-beta2)*g^2;  p -= lr*g/(sqrt(s)+eps) */
    LSTM_OPTIMIZER_ADAM = 2     /* bias-corrected Adam */
} lstm_optimizer_type;

/* All optimizers apply decoupled weight decay: p -= lr*weight_decay*p (AdamW style). */
typedef struct lstm_optimizer {
    int32_t type;        /* lstm_optimizer_type */
    float learning_rate; /* > 0 */
    float momentum;      /* SGD, 0 <= m < 1 */
    float beta1;         /* Adam, 0 <= b1 < 1 */
    float beta2;         /* Adam and RMSprop, 0 <= b2 < 1 */
    float epsilon;       /* Adam and RMSprop, > 0 */
    float weight_decay;  /* >= 0 */
    float clip_norm;     /* clip gradients to this global L2 norm; <= 0 disables */
} lstm_optimizer;

/* Defaults: Adam, lr 2e-3, beta 0.9/0.999, eps 1e-8, no decay, clip 5. */
void lstm_optimizer_defaults(lstm_optimizer *out);
/* Changing the type (or first call) zeroes the optimizer moments; other changes keep them,
 * so the learning rate may change between steps. */
lstm_status lstm_set_optimizer(lstm_model *model, const lstm_optimizer *optimizer);
lstm_status lstm_get_optimizer(const lstm_model *model, lstm_optimizer *out);
uint64_t lstm_step_count(const lstm_model *model);

/* One batch of B sequences of T steps. Targets are per scored row: (B, T) for every-step
 * models, (B) for last_step_only models ("rows" below). */
typedef struct lstm_batch {
    int32_t batch;          /* B >= 1 */
    int32_t steps;          /* T >= 1 */
    const int32_t *tokens;  /* (B, T) input ids, for token models; else NULL */
    const float *inputs;    /* (B, T, input_size) for dense models; else NULL */
    const int32_t *targets; /* softmax head: (rows) ids in [0, output_size); else NULL */
    const float *target_values; /* MSE head: (rows, output_size) finite values; else NULL */
    /* (B) valid steps of each sequence, each in [1, T]; NULL means all T. Steps past a
     * sequence's length are padding: they add nothing to the loss or any gradient (their
     * targets are not read), last_step_only scores step length-1, and the state carried on
     * is the one after the last valid step. */
    const int32_t *lengths;
} lstm_batch;

/* Hidden and cell state are carried from one training batch to the next (truncated BPTT).
 * lstm_reset_state zeroes them; a change of batch size also does. */
lstm_status lstm_reset_state(lstm_model *model);

/* The batch's loss from the carried state; changes nothing. Mean cross-entropy (nats) per
 * scored row for the softmax head, mean squared error per output value for the MSE head. */
lstm_status lstm_compute_loss(lstm_model *model, const lstm_batch *batch, double *loss);
/* Loss and gradients of every parameter (overwriting lstm_gradients) from the carried state;
 * for dense models also d loss / d inputs (lstm_input_gradients). Changes no parameter
 * and no state. Dropout is applied as in training. */
lstm_status lstm_compute_gradients(lstm_model *model, const lstm_batch *batch, double *loss);
const float *lstm_input_gradients(const lstm_model *model); /* (B, T, input_size) */
/* The whole step: gradients, clipping, update, state carried on. loss may be NULL.
 * A bad step is skipped (see "Bad steps" below): LSTM_OK with the step not applied. */
lstm_status lstm_train_batch(lstm_model *model, const lstm_batch *batch, float *loss);

/* Clip and apply the optimizer to the gradients the caller wrote into lstm_gradients(), as a
 * training step does after its backward pass (the same clipping, step count and bad-step
 * policy). For custom losses, gradient accumulation, and tests of the optimizers. */
lstm_status lstm_apply_gradients(lstm_model *model);

/* ---- bad steps ----
 * A training step is skipped, never half applied, when its loss (as the float reported) is not
 * finite, when the gradient is not finite, when the update would make a parameter or an
 * optimizer moment non-finite (checked before anything is written), or, with the loss guard
 * on, when its loss is above loss_factor times the running mean of recent accepted losses
 * (char-rnn's 3x rule, which skips instead of stopping). A skipped step changes no parameter,
 * moment, step count or carried state; the token stream and the dropout generator move past
 * its batch. The max_skips-th skipped step in a row fails the call with LSTM_ERR_NON_FINITE
 * and puts back what the run of skips moved (stream position, dropout generator, carried
 * state), so the model is as it was before the first of them. */
typedef struct lstm_step_guard {
    int32_t max_skips; /* K in [1, LSTM_MAX_SKIPS]: the K-th skipped step in a row fails (default 5) */
    float loss_factor; /* 0: off (default); else > 1: skip a step whose loss is above this
                          times the mean of about the last 50 accepted losses (from the 10th on) */
} lstm_step_guard;
lstm_status lstm_set_step_guard(lstm_model *model, const lstm_step_guard *guard);
lstm_status lstm_get_step_guard(const lstm_model *model, lstm_step_guard *out);
/* Forget the running mean of losses, e.g. before training a model on a different text. */
lstm_status lstm_reset_loss_mean(lstm_model *model);

typedef enum lstm_skip_reason {
    LSTM_SKIP_NONE = 0,       /* the step was applied */
    LSTM_SKIP_LOSS = 1,       /* the loss was not finite */
    LSTM_SKIP_GRADIENT = 2,   /* a gradient was not finite */
    LSTM_SKIP_UPDATE = 3,     /* the update would have made a parameter or moment non-finite */
    LSTM_SKIP_LOSS_SPIKE = 4  /* the loss was above the guard's limit */
} lstm_skip_reason;

typedef struct lstm_training_stats {
    uint64_t steps;       /* applied steps (lstm_step_count) */
    uint64_t skipped;     /* skipped steps in all (saved with the training state) */
    int32_t skip_streak;  /* skipped steps in a row up to now */
    int32_t last_reason;  /* lstm_skip_reason of the last step */
    double loss_mean;     /* the guard's running mean (0 before any accepted step) */
} lstm_training_stats;
lstm_status lstm_get_training_stats(const lstm_model *model, lstm_training_stats *out);

/* Loss from a zero state without dropout, and for the softmax head the accuracy (fraction
 * of scored rows whose largest logit is the target; NaN for the MSE head). Changes nothing.
 * accuracy may be NULL. */
lstm_status lstm_evaluate_batch(lstm_model *model, const lstm_batch *batch, double *loss,
                                double *accuracy);
/* Outputs for a batch from a zero state without dropout (targets are not read): softmax
 * probabilities (softmax head) or values (MSE head), batch-first, (B, T, V) or with
 * last_step_only (B, V); padded steps get zeros. capacity is in floats. Changes no state. */
lstm_status lstm_predict(lstm_model *model, const lstm_batch *batch, float *out, size_t capacity);

/* n_steps training steps on a token stream, char-rnn style: the stream is cut into B
 * contiguous stripes; each step reads the next T tokens of every stripe (targets are the
 * tokens one later). At the end of a stripe the position wraps to 0 and the state resets.
 * The position is kept in the model (and saved), so calls continue where the last stopped.
 * losses receives n_steps values (may be NULL), skipped steps' included. Bad steps are skipped
 * (see "Bad steps"); lstm_get_training_stats counts them. Needs length >= B * (T + 1). */
lstm_status lstm_train_stream(lstm_model *model, const int32_t *stream, size_t length,
                              int32_t batch, int32_t seq_len, int32_t n_steps, float *losses);
/* The same, and skips (may be NULL) receives each step's lstm_skip_reason (0: applied). */
lstm_status lstm_train_stream_skips(lstm_model *model, const int32_t *stream, size_t length,
                                    int32_t batch, int32_t seq_len, int32_t n_steps, float *losses,
                                    uint8_t *skips);
uint64_t lstm_stream_position(const lstm_model *model);
/* Mean cross-entropy per token over the stream, cut into B stripes and read T at a time from
 * a zero state, without dropout. The training state is not touched. */
lstm_status lstm_evaluate_stream(lstm_model *model, const int32_t *stream, size_t length,
                                 int32_t batch, int32_t seq_len, double *mean_loss);

/* ---- inference: one sequence, one step at a time, with its own state ---- */
lstm_status lstm_infer_reset(lstm_model *model);
/* Feed one input (token, or input_size floats for dense models); logits go to the model's
 * buffer (lstm_infer_logits), and to logits_out if not NULL. */
lstm_status lstm_infer_step(lstm_model *model, int32_t token, const float *input, float *logits_out);
const float *lstm_infer_logits(const lstm_model *model); /* (output_size) */

/* Applied in this order: the repetition penalty, then temperature, then top-k, then top-p over
 * the distribution top-k left (renormalised); the token is drawn from what remains,
 * renormalised. Ties rank the lower id first. The repetition penalty (CTRL, Keskar et al. 2019,
 * as Hugging Face's RepetitionPenaltyLogitsProcessor applies it): for every token id the
 * inference state has read since its reset (the prompt and what was generated, each counted
 * once), the logit z becomes z / penalty if z > 0, else z * penalty. A zero field is always
 * "off" (top_p and repetition_penalty 0 as 1), so zero-initialise or name the fields: later
 * versions may add some. */
typedef struct lstm_sampling {
    float temperature; /* 0 = argmax; > 0 divides the logits */
    int32_t top_k;     /* 0 = off; else keep the k most likely */
    float top_p;       /* 0 or 1 = off; else keep the smallest set of the most likely with mass >= p */
    float repetition_penalty; /* 0 or 1 = off; else in (0, 100]: > 1 makes read tokens less likely */
} lstm_sampling;

lstm_status lstm_sampler_seed(lstm_model *model, uint32_t seed);
/* Sample one token from the current logits. */
lstm_status lstm_sample(lstm_model *model, const lstm_sampling *sampling, int32_t *token);
/* Token models only: feed the prompt (may be empty if a step was already taken), then
 * sample n_out tokens, each fed back; out receives them. Continues the inference state. */
lstm_status lstm_generate(lstm_model *model, const int32_t *prompt, int32_t n_prompt,
                          const lstm_sampling *sampling, int32_t n_out, int32_t *out);

/* ---- several samples at once ----
 * n samples of one prompt advance together as a batch: each step is one matrix product per
 * layer for all of them (lstm_generate's is a product of one row), in rows of their own.
 * lstm_samples_start makes the inference state the samples' start (from a zero state, or with
 * LSTM_SAMPLES_CONTINUE from where it is), reads the prompt into it once, and gives sample k
 * that state and a sampler seeded as lstm_sampler_seed(seed + k) would (wrapping at 2^32), or
 * with LSTM_SAMPLES_KEEP_SAMPLER (n = 1 only) the sampler's own random state. Each
 * lstm_samples_generate call then samples n_out tokens of every sample still running, each
 * fed back; out is (n, n_out), -1 for a sample stopped. The kernels sum each element of a
 * product the same way whatever rows run beside it, so sample k's tokens are those lstm_generate writes after
 * lstm_sampler_seed(seed + k) from the same state, and n = 1 is lstm_generate. While sample 0
 * runs, the inference state follows it: after each lstm_samples_generate it is sample 0's
 * (h, c, logits, tokens read, sampler). lstm_samples_stop(k) stops sample k (its row is
 * still computed, unused, while others run), k = -1 ends the batch and frees its rows. Token
 * models with the softmax head only, one-directional. */
#define LSTM_MAX_SAMPLES 1024
#define LSTM_SAMPLES_CONTINUE 1u    /* start from the inference state (else from a zero state) */
#define LSTM_SAMPLES_KEEP_SAMPLER 2u /* n = 1: continue the sampler's random state, no seed */
lstm_status lstm_samples_start(lstm_model *model, int32_t n, uint32_t flags, uint32_t seed, const int32_t *prompt,
                               int32_t n_prompt);
lstm_status lstm_samples_generate(lstm_model *model, const lstm_sampling *sampling, int32_t n_out, int32_t *out);
lstm_status lstm_samples_stop(lstm_model *model, int32_t sample);

/* ---- the inference state as bytes: branch a generation, or keep it for later ----
 * The state step-by-step inference and generation continue from: every layer's h and c, the
 * last step's logits (if a step was taken since the reset), the tokens read since the reset
 * (what the repetition penalty scales) and the sampler's random state. Saved as versioned,
 * checksummed bytes that hold the model's shape; loading checks the bytes whole (magic,
 * version, size, CRC-32, shape, values) before anything is changed, so a refused state leaves
 * the model as it was. Restoring then sampling with the same seed (or without reseeding)
 * writes the same tokens as it did from the saved point. Not for bidirectional models
 * (LSTM_ERR_STATE: they have no step-by-step state). */
lstm_status lstm_infer_state_size(const lstm_model *model, size_t *size);
lstm_status lstm_infer_state_save(const lstm_model *model, uint8_t *buffer, size_t capacity, size_t *written);
/* LSTM_ERR_BAD_MAGIC, LSTM_ERR_UNSUPPORTED_VERSION, LSTM_ERR_TRUNCATED, LSTM_ERR_CHECKSUM or
 * LSTM_ERR_CORRUPT for damaged bytes; LSTM_ERR_INVALID_ARGUMENT (the message names both shapes)
 * for the state of a model of another shape. */
lstm_status lstm_infer_state_load(lstm_model *model, const uint8_t *buffer, size_t length);

/* ---- a look inside: every step's activations of one sequence ----
 * lstm_trace runs one sequence from a zero state through the network's own forward pass (the
 * input products of a chunk of steps as one matrix product, the recurrent product per step,
 * the state carried from chunk to chunk; a bidirectional model's sequence as one chunk) and
 * copies out what it computed: for each recorded unit (one direction of one layer; units in
 * layer order, a layer's forward unit then its reverse unit) h, c and the gate activations
 * after their nonlinearity, and the head's outputs at every step. A reverse unit's step t is
 * its state after reading inputs T-1 down to t: what the layer outputs at t. Buffers are
 * step-major; NULL skips an output; capacities are in floats. The inference state, the
 * training state and everything else of the model are left as they were; a quantised model
 * traces on its int8 matrices. */
typedef struct lstm_trace_request {
    int32_t steps;          /* T in [1, LSTM_MAX_STEPS] */
    const int32_t *tokens;  /* (T) ids in [0, input_vocab) for token models; else NULL */
    const float *inputs;    /* (T, input_size) finite values for dense models; else NULL */
    uint32_t layers;        /* bit l set: record layer l (each of its units); bits >= num_layers
                               must be clear. Layers not recorded are computed, not copied. */
    float *h;               /* (U, T, S) h after each step (S = proj_size or H), U = recorded units */
    uint32_t h_capacity;
    float *c;               /* (U, T, H) the cell state after each step (the LSTM cells; with
                               layer_norm the normalised c); must be NULL for the GRU */
    uint32_t c_capacity;
    float *gates;           /* (U, gates, T, H) gate-major: LSTM i, f, g, o (CIFG i, g, o), GRU r, z, n */
    uint32_t gates_capacity;
    float *outputs;         /* (T, V) the head at every step: softmax probabilities (as lstm_predict
                               computes them) or the MSE head's values */
    uint32_t outputs_capacity;
} lstm_trace_request;

/* LSTM_ERR_BUFFER_TOO_SMALL names the buffer whose capacity is short; LSTM_ERR_TOKEN_RANGE a
 * token outside the vocabulary. */
lstm_status lstm_trace(lstm_model *model, const lstm_trace_request *request);

/* ---- threads ----
 * The large matrix products of every model run on lstm_threads() threads, cut so that each
 * element is summed as one thread sums it: results are bit-identical for any count. Only the
 * threads build (lstm-simd-threads.wasm: shared memory, atomics) has more than one: the JS
 * loader instantiates it once per thread on one shared memory, runs on each extra thread
 * i = 1..n-1 lstm_thread_main(i, e) with e = lstm_thread_epoch() (it returns when the count
 * drops to i or below), and once they run calls lstm_set_threads(n, caller_may_block);
 * caller_may_block 0 makes thread 0 spin rather than wait (a browser's main thread may not
 * block). Other builds accept only n = 1 (LSTM_ERR_STATE otherwise). */
lstm_status lstm_set_threads(int32_t n, int32_t caller_may_block);
int32_t lstm_threads(void);
int32_t lstm_thread_epoch(void);
void lstm_thread_main(int32_t index, int32_t epoch);

/* ---- serialization (the format: docs/file-format.md) ---- */
#define LSTM_SAVE_TRAINING_STATE 1u /* optimizer moments, RNG, carried state, stream position */
/* Quantised: each weight matrix (weight_ih, weight_hh, weight_hr, out.weight) as int8 rows with
 * one float scale each (w ~ q * scale, scale = max |row| / 127), the other tensors as float32:
 * a file about 4 times smaller (format version 4). A model loaded from it is quantised: it
 * predicts, evaluates and generates on the int8 rows (activations rounded to int16 per row),
 * and refuses to train (LSTM_ERR_STATE); lstm_parameters returns NULL for it. Not with
 * LSTM_SAVE_TRAINING_STATE; a quantised model always saves this way. */
#define LSTM_SAVE_INT8 2u
lstm_status lstm_save_size(const lstm_model *model, uint32_t flags, size_t *size);
lstm_status lstm_save(const lstm_model *model, uint32_t flags, uint8_t *buffer, size_t capacity,
                      size_t *written);
lstm_status lstm_load(const uint8_t *buffer, size_t length, lstm_model **out, lstm_message *message);

#ifdef __cplusplus
}
#endif
#endif /* LSTM_H */
