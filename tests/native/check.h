/* check.h - what the native test programs (test_core.c, test_file.c, test_tasks.c, test_inspect.c,
 * test_variants.c) share: CHECK/OK and run(), test data (urand), model makers, save(), the
 * finite-difference gradient check, and the task models it runs on with their check. The
 * functions are static inline: a program that calls only some of them is not warned of the rest. */
#ifndef LSTM_TESTS_NATIVE_CHECK_H
#define LSTM_TESTS_NATIVE_CHECK_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../include/lstm.h"
#include "../../src/kernels.h"

static int g_failed, g_passed;

#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        if (!(cond)) {                                                     \
            printf("  FAIL %s:%d: ", __FILE__, __LINE__);                  \
            printf(__VA_ARGS__);                                           \
            printf("\n");                                                  \
            g_failed++;                                                    \
            return;                                                        \
        }                                                                  \
    } while (0)
#define OK(call) CHECK((call) == LSTM_OK, "%s failed", #call)

static inline void run(const char *name, void (*fn)(void)) {
    int before = g_failed;
    printf("- %s\n", name);
    fn();
    if (g_failed == before) g_passed++;
}

/* The last line of a program: the counts, and its exit status. */
static inline int check_summary(void) {
    printf("%d passed, %d failed\n", g_passed, g_failed);
    return g_failed ? 1 : 0;
}

static uint64_t rng_state = 88172645463325252ULL;
static inline double urand(void) { /* xorshift64: test data only */
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

static inline lstm_model *make_model(int vocab, int input, int H, int L, int V, float dropout) {
    lstm_config c = {.input_vocab = vocab, .input_size = input, .hidden_size = H,
                     .num_layers = L, .output_size = V, .seed = 42, .dropout = dropout,
                     .init_scale = 0.5f};
    lstm_model *m = NULL;
    lstm_message msg;
    if (lstm_create(&c, &m, &msg) != LSTM_OK) {
        printf("  create failed: %s\n", msg.text);
        return NULL;
    }
    return m;
}

static inline uint8_t *save(lstm_model *m, uint32_t flags, size_t *len) {
    lstm_save_size(m, flags, len);
    uint8_t *buf = malloc(*len);
    size_t written = 0;
    if (lstm_save(m, flags, buf, *len, &written) != LSTM_OK || written != *len) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* ---- gradient check ---- */

typedef struct {
    double max_dir_err;  /* worst relative error of a directional derivative */
    double max_elem_err; /* worst relative error of a single checked entry */
    int bad;             /* entries or directions beyond tolerance */
} gradcheck_result;

#define DIR_TOL_SMOOTH 1e-2 /* float32 losses: central differences agree to ~1e-4; wrong maths is off by >10% */
/* relu: a direction that moves a pre-activation across 0 bends the loss inside the
 * difference interval, which costs up to a few percent (measured 1.6e-2 at worst) */
#define DIR_TOL_RELU 4e-2
static double DIR_TOL = DIR_TOL_SMOOTH;
#define ELEM_TOL 3e-2 /* single entries carry more float32 noise than whole directions */

/* The loss the finite differences take: lstm_compute_loss (no dropout), or with dropout
 * the loss lstm_compute_gradients reports, whose masks are the same on every call. */
static lstm_status (*g_loss)(lstm_model *, const lstm_batch *, double *) = lstm_compute_loss;
#define lstm_compute_loss(m, b, l) g_loss(m, b, l)

/* Central differences of the loss against the analytic gradient `ana` (n_params), in 3
 * random directions per tensor and for the 4 largest entries of each tensor. */
static inline gradcheck_result gradcheck(lstm_model *m, const lstm_batch *b, const float *ana, int verbose) {
    gradcheck_result r = {0, 0, 0};
    float *p = lstm_parameters(m);
    int nt = lstm_tensor_count(m);
    for (int ti = 0; ti < nt; ti++) {
        lstm_tensor_info t;
        lstm_tensor(m, ti, &t);
        size_t n = (size_t)t.rows * t.cols;
        float *d = malloc(n * sizeof *d), *saved = malloc(n * sizeof *saved);
        memcpy(saved, p + t.offset, n * sizeof *saved);
        double gnorm = 0.0;
        for (size_t i = 0; i < n; i++) gnorm += (double)ana[t.offset + i] * ana[t.offset + i];
        gnorm = sqrt(gnorm);
        for (int rep = 0; rep < 3; rep++) {
            /* tensors with a small gradient (peepholes, some biases): float32 rounding of the
             * loss, ~1e-5 in (lp - lm) / 2eps at eps 1e-3, is then a percent of it; a 10x step
             * keeps that below 0.2% while the O(eps^2) truncation stays ~1e-4 (measured on
             * peephole gradients over eps 3e-2 .. 3e-4) */
            const double eps = gnorm < 1e-2 && DIR_TOL != DIR_TOL_RELU ? 1e-2 : 1e-3; /* relu: kinks */
            double dot = 0.0, lp, lm;
            for (size_t i = 0; i < n; i++) {
                d[i] = urand() < 0.5 ? -1.0f : 1.0f;
                dot += (double)d[i] * ana[t.offset + i];
            }
            for (size_t i = 0; i < n; i++) p[t.offset + i] = saved[i] + (float)eps * d[i];
            lstm_compute_loss(m, b, &lp);
            for (size_t i = 0; i < n; i++) p[t.offset + i] = saved[i] - (float)eps * d[i];
            lstm_compute_loss(m, b, &lm);
            memcpy(p + t.offset, saved, n * sizeof *saved);
            double num = (lp - lm) / (2 * eps);
            /* relative to |g|, the typical size of g.d for a random +-1 direction: the error
             * then measures |g_wrong - g| / |g| and does not blow up when g.d happens to be ~0.
             * Floor 5e-4: float32 rounding of a loss near 1 leaves ~5e-6 of noise in num at
             * eps 1e-2, 1% of the floor (a tensor with |g| ~5e-5 failed on noise alone) */
            double err = fabs(num - dot) / fmax(fmax(fabs(num), fabs(dot)), fmax(gnorm, 5e-4));
            if (DIR_TOL == DIR_TOL_RELU) { /* a kink inside the interval: one side is exact */
                double l0;
                lstm_compute_loss(m, b, &l0);
                const double right = (lp - l0) / eps, left = (l0 - lm) / eps, scale = fmax(gnorm, 5e-4);
                err = fmin(err, fmin(fabs(right - dot) / fmax(fmax(fabs(right), fabs(dot)), scale),
                                     fabs(left - dot) / fmax(fmax(fabs(left), fabs(dot)), scale)));
            }
            if (err > r.max_dir_err) r.max_dir_err = err;
            if (err > DIR_TOL) {
                r.bad++;
                if (verbose) printf("    %s direction %d: numeric %.6g analytic %.6g\n", t.name, rep, num, dot);
            }
        }
        size_t chosen[4];
        for (int q = 0; q < 4 && (size_t)q < n; q++) {
            size_t best = 0; /* q-th largest |gradient| by repeated selection */
            double bestv = -1;
            for (size_t i = 0; i < n; i++) {
                double v = fabs(ana[t.offset + i]);
                int taken = 0;
                for (int z = 0; z < q; z++) taken |= chosen[z] == i;
                if (!taken && v > bestv) { bestv = v; best = i; }
            }
            chosen[q] = best;
            /* an entry below 1e-3 is near the noise floor at eps 3e-3 (a bidirectional
             * projection entry of ~3e-4 measured 3.0e-2); a 3x step divides the rounding noise
             * by 3, as in the directional check (relu keeps 3e-3: kinks) */
            const double eps = bestv < 1e-3 && DIR_TOL != DIR_TOL_RELU ? 1e-2 : 3e-3;
            double lp, lm;
            p[t.offset + best] = saved[best] + (float)eps;
            lstm_compute_loss(m, b, &lp);
            p[t.offset + best] = saved[best] - (float)eps;
            lstm_compute_loss(m, b, &lm);
            p[t.offset + best] = saved[best];
            double num = (lp - lm) / (2 * eps), a = ana[t.offset + best];
            /* floor 3e-4: float32 rounding of the loss leaves ~3e-6 of noise in an entry's
             * central difference at eps 3e-3, 1% of the floor */
            double err = fabs(num - a) / fmax(fmax(fabs(num), fabs(a)), 3e-4);
            if (DIR_TOL == DIR_TOL_RELU) { /* a kink inside the interval: one side is exact */
                double l0;
                lstm_compute_loss(m, b, &l0);
                const double right = (lp - l0) / eps, left = (l0 - lm) / eps;
                err = fmin(err, fmin(fabs(right - a) / fmax(fmax(fabs(right), fabs(a)), 3e-4),
                                     fabs(left - a) / fmax(fmax(fabs(left), fabs(a)), 3e-4)));
            }
            if (err > r.max_elem_err) r.max_elem_err = err;
            if (err > ELEM_TOL) {
                r.bad++;
                if (verbose) printf("    %s[%zu]: numeric %.6g analytic %.6g\n", t.name, best, num, a);
            }
        }
        free(d);
        free(saved);
    }
    return r;
}

enum { GB = 3, GT = 6, GV = 7, GX = 5 };

/* ---- task models: softmax or mse heads, every step or the last, masking by sequence lengths,
 * cell variants; and the gradient check of one ---- */

typedef struct {
    const char *name;
    int vocab, head, last, masked, cell;
} task_case;

enum { TX = 4, TV = 3, TH = 5 };

typedef struct {
    int32_t tokens[GB * GT], targets[GB * GT], lengths[GB];
    float inputs[GB * GT * TX], values[GB * GT * TV];
    lstm_batch b;
} task_batch;

/* LSTM variant options (peephole, cifg, activation) for the task models made next */
static lstm_config g_variant;

static inline lstm_model *make_task_model(const task_case *tc, int L, float dropout) {
    lstm_config c = {.input_vocab = tc->vocab, .input_size = tc->vocab ? 0 : TX, .hidden_size = TH,
                     .num_layers = L, .output_size = TV, .seed = 7, .dropout = dropout,
                     .init_scale = 0.5f, .head = tc->head, .last_step_only = tc->last,
                     .cell = tc->cell, .peephole = g_variant.peephole, .cifg = g_variant.cifg,
                     .activation = g_variant.activation, .proj_size = g_variant.proj_size,
                     .layer_norm = g_variant.layer_norm, .bidirectional = g_variant.bidirectional,
                     .recurrent_activation = g_variant.recurrent_activation, .gru_reset_before = g_variant.gru_reset_before};
    lstm_model *m = NULL;
    lstm_message msg;
    if (lstm_create(&c, &m, &msg) != LSTM_OK) printf("  create failed: %s\n", msg.text);
    return m;
}

static inline void fill_task_batch(task_batch *d, const task_case *tc) {
    for (int i = 0; i < GB * GT; i++) {
        d->tokens[i] = (int32_t)(urand() * (tc->vocab ? tc->vocab : 1));
        d->targets[i] = (int32_t)(urand() * TV);
    }
    for (int i = 0; i < GB * GT * TX; i++) d->inputs[i] = (float)(2 * urand() - 1);
    for (int i = 0; i < GB * GT * TV; i++) d->values[i] = (float)(2 * urand() - 1);
    d->lengths[0] = GT; /* one full sequence, two padded ones */
    d->lengths[1] = 2;
    d->lengths[2] = 4;
    d->b = (lstm_batch){GB, GT, tc->vocab ? d->tokens : NULL, tc->vocab ? NULL : d->inputs,
                        tc->head == LSTM_HEAD_MSE ? NULL : d->targets,
                        tc->head == LSTM_HEAD_MSE ? d->values : NULL, tc->masked ? d->lengths : NULL};
}

/* Overwrite every padded step's input and target; nothing the model reports may change. */
static inline void scramble_padding(task_batch *d, const task_case *tc) {
    for (int b = 0; b < GB; b++)
        for (int t = d->lengths[b]; t < GT; t++) {
            const int i = b * GT + t;
            d->tokens[i] = tc->vocab ? (d->tokens[i] + 1) % tc->vocab : 0;
            for (int x = 0; x < TX; x++) d->inputs[i * TX + x] = 5.0f - d->inputs[i * TX + x];
            if (!tc->last) {
                d->targets[i] = -1; /* padding targets are not even read */
                for (int v = 0; v < TV; v++) d->values[i * TV + v] = NAN;
            }
        }
}

/* The gradient check of one task case: parameters, input gradients of a dense model, and with
 * masking, padded steps that change nothing. */
static inline void test_task_case(const task_case *tc) {
    lstm_model *m = make_task_model(tc, 2, 0.0f);
    CHECK(m, "create");
    static task_batch d;
    fill_task_batch(&d, tc);
    double l;
    OK(lstm_compute_gradients(m, &d.b, &l));
    size_t n = lstm_parameter_count(m);
    float *ana = malloc(n * sizeof *ana);
    memcpy(ana, lstm_gradients(m), n * sizeof *ana);
    float dx[GB * GT * TX];
    if (!tc->vocab) memcpy(dx, lstm_input_gradients(m), sizeof dx);
    gradcheck_result r = gradcheck(m, &d.b, ana, 1);
    printf("  %s: loss %.4f, max rel err direction %.2e, entry %.2e\n", tc->name, l, r.max_dir_err,
           r.max_elem_err);
    CHECK(r.bad == 0, "%d gradient checks beyond tolerance", r.bad);
    if (!tc->vocab) {
        double worst = 0;
        float *x = d.inputs;
        for (int i = 0; i < GB * GT * TX; i++) {
            const double eps = 3e-3;
            float saved = x[i];
            double lp, lm;
            x[i] = saved + (float)eps;
            lstm_compute_loss(m, &d.b, &lp);
            x[i] = saved - (float)eps;
            lstm_compute_loss(m, &d.b, &lm);
            x[i] = saved;
            double num = (lp - lm) / (2 * eps);
            double err = fabs(num - dx[i]) / fmax(fmax(fabs(num), fabs(dx[i])), 1e-3);
            if (DIR_TOL == DIR_TOL_RELU) {
                /* a relu kink inside the interval: the derivative is then one of the one-sided
                 * differences (measured: the analytic value matches one of them to ~1e-3) */
                double l0;
                lstm_compute_loss(m, &d.b, &l0);
                const double right = (lp - l0) / eps, left = (l0 - lm) / eps;
                err = fmin(err, fmin(fabs(right - dx[i]) / fmax(fmax(fabs(right), fabs(dx[i])), 1e-3),
                                     fabs(left - dx[i]) / fmax(fmax(fabs(left), fabs(dx[i])), 1e-3)));
            }
            if (err > worst) worst = err;
        }
        printf("    input gradients: max rel err %.2e\n", worst);
        CHECK(worst < ELEM_TOL, "input gradient error %.3g", worst);
    }
    if (tc->masked) {
        /* padded steps: exactly zero input gradient, and no influence on loss or gradients */
        if (!tc->vocab)
            for (int b = 0; b < GB; b++)
                for (int t = d.lengths[b]; t < GT; t++)
                    for (int x = 0; x < TX; x++)
                        CHECK(dx[(b * GT + t) * TX + x] == 0.0f, "input gradient at padded step %d of %d", t, b);
        scramble_padding(&d, tc);
        double l2;
        OK(lstm_compute_gradients(m, &d.b, &l2));
        CHECK(l2 == l, "padding changed the loss: %.17g vs %.17g", l2, l);
        const float *g2 = lstm_gradients(m);
        for (size_t i = 0; i < n; i++)
            CHECK(g2[i] == ana[i], "padding changed gradient %zu: %g vs %g", i, g2[i], ana[i]);
    }
    free(ana);
    lstm_free(m);
}

#endif
