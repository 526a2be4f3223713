/* cell.h - the cell table and the unit a cell steps through.
 *
 * A unit is one direction of one layer over the T steps of a batch (unit.c runs it). A cell
 * is what happens inside one step: the recurrent product on top of the input products, and
 * the nonlinearity. lstm_cell_for picks the cell once, when a model is made, with its options
 * resolved (plain LSTM and its peephole, CIFG and relu variants in cell_lstm.c, the
 * layer-normalised LSTM in cell_lstm_ln.c, the GRU in cell_gru.c); the loop over time calls
 * through the table and never asks which cell it runs. */
#ifndef LSTM_CELL_H
#define LSTM_CELL_H

#include <math.h>

#include "model.h"

/* One unit over one batch. Step t of the activations a: rows t*B .. t*B+B-1. */
typedef struct lstm_unit {
    const lstm_kernels *k;
    int B, T, H, S, G;
    const lstm_layer_tensors *p; /* parameters */
    const lstm_layer_packed *pk; /* a float model's weights packed for the forward products */
    const lstm_layer_q8 *q;      /* a quantised model's matrices (its p has none); else NULL */
    lstm_layer_tensors *g;       /* gradients (backward only) */
    lstm_layer_acts *a;
    lstm_workspace *w;
} lstm_unit;

typedef struct lstm_cell {
    const char *name;
    /* The GRU keeps b_hh inside its recurrent product (the reset gate scales it), so only
     * b_ih joins the input products; the LSTM cells add both there. */
    int bias_hh_in_recurrent;
    /* Step t for B rows: the recurrent product on top of the input products in the step's
     * gates, then the nonlinearity. Writes the gate activations, c_t, act(c_t) and the cell
     * output (h_t, or o * act(c_t) before a projection), and what backward reads. */
    void (*forward)(const lstm_unit *u, int t);
    /* Backward through step t: dh (B, H) is d loss / d the cell output. Writes the step's
     * d loss / d pre-activations (w->dgates, and w->dgh for the GRU), carries w->dc to t-1,
     * adds the cell's own parameter gradients, and adds d loss / d h_{t-1} into dh_prev
     * (NULL at t = 0: truncated backpropagation). */
    void (*backward)(const lstm_unit *u, int t, const float *dh, float *dh_prev);
    /* After the steps, weight gradients of the cell's own that the unit's do not cover (the
     * GRU with reset_before: W_hn saw r * h, not h); NULL for the others. */
    void (*backward_weights)(const lstm_unit *u);
} lstm_cell;

const lstm_cell *lstm_cell_for(const lstm_config *c);

/* The cells' tables (cell_lstm.c, cell_lstm_ln.c, cell_gru.c). */
const lstm_cell *lstm_cell_lstm(const lstm_config *c);
extern const lstm_cell lstm_cell_layer_norm;
const lstm_cell *lstm_cell_gru(const lstm_config *c);

/* ---- what cells share (unit.c) ---- */

/* Pointers to step t's rows. */
static inline float *unit_gates(const lstm_unit *u, int t) { return u->a->gates + (size_t)t * u->B * u->G; }
static inline float *unit_dgates(const lstm_unit *u, int t) { return u->w->dgates + (size_t)t * u->B * u->G; }
static inline float *unit_c(const lstm_unit *u, int t) { return u->a->c + (size_t)t * u->B * u->H; } /* c_{t-1}; +1 for c_t */
static inline float *unit_act_c(const lstm_unit *u, int t) { return u->a->tanh_c + (size_t)t * u->B * u->H; }
static inline const float *unit_h_prev(const lstm_unit *u, int t) { return u->a->h + (size_t)t * u->B * u->S; }
/* Where the cell writes its output: h_t, or with a projection o * act(c_t) for W_hr. */
static inline float *unit_cell_out(const lstm_unit *u, int t) {
    return u->a->mh ? u->a->mh + (size_t)t * u->B * u->H : u->a->h + (size_t)(t + 1) * u->B * u->S;
}

/* C (M, N) += A (M, K) . W^T for an (N, K) weight matrix: a float model's packed as W^T
 * (lstm_packed), or for a quantised model its int8 rows q (A is quantised to int16 rows in w's
 * scratch first). */
void lstm_product(const lstm_kernels *k, lstm_workspace *w, int M, int N, int K, const float *A, int lda,
                  const float *packed, const lstm_q8 *q, float *C, int ldc);

/* out (B, ldo) += h_{t-1} . W_hh^T, through the recurrent dropout mask when there is one. */
void unit_recurrent(const lstm_unit *u, int t, float *out, int ldo);
/* dh_prev (B, S) += d_rec (B, G) . W_hh (packed in w->pk_rec for the unit), through the mask. */
void unit_recurrent_backward(const lstm_unit *u, const float *d_rec, float *dh_prev);

/* The option cells' scalar activations (the plain LSTM's are the kernels' fast ones), and
 * derivatives from the output y = act(x). */
static inline float cell_sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }
static inline float cell_act(float x, int relu) { return relu ? (x > 0.0f ? x : 0.0f) : tanhf(x); }
static inline float cell_dact(float y, int relu) { return relu ? (y > 0.0f ? 1.0f : 0.0f) : 1.0f - y * y; }
/* a gate: sigmoid, or the hard sigmoid clip(0.2 x + 0.5, 0, 1) (TF.js's and Keras 2's) */
static inline float cell_gate(float x, int hard) {
    if (!hard) return cell_sigmoid(x);
    const float y = 0.2f * x + 0.5f;
    return y < 0.0f ? 0.0f : y > 1.0f ? 1.0f : y;
}
/* x times the gate's derivative at its output y (x y (1 - y) for the sigmoid, in that order) */
static inline float cell_times_dgate(float x, float y, int hard) {
    return hard ? (y > 0.0f && y < 1.0f ? 0.2f * x : 0.0f) : x * y * (1.0f - y);
}

/* C (M, N) += A^T . Y over the R rows of a batch: A (R, M) with rows lda apart, Y (R, N) with
 * rows ldy apart; Y packed into w->pk_op first (unit.c). A weight gradient. */
void lstm_rows_product(const lstm_kernels *k, lstm_workspace *w, int M, int N, size_t R, const float *A, int lda,
                       const float *Y, int ldy, float *C, int ldc);

#endif /* LSTM_CELL_H */
