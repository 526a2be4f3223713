/* test_core.c - native tests of the C core (built with gcc under ASan and UBSan):
 * gradients by finite differences, training, save/load, corrupt input, bad arguments,
 * sampling and the scalar kernels against double-precision references. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../include/lstm.h"
#include "../../src/fastmath.h"
#include "../../src/kernels.h"

static int g_failed, g_passed;

/* src/kernel_check.c: test entry points, not public API */
const float *lstm_test_gate_activations(const lstm_model *m, int u);

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

static void run(const char *name, void (*fn)(void)) {
    int before = g_failed;
    printf("- %s\n", name);
    fn();
    if (g_failed == before) g_passed++;
}

static uint64_t rng_state = 88172645463325252ULL;
static double urand(void) { /* xorshift64: test data only */
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

static lstm_model *make_model(int vocab, int input, int H, int L, int V, float dropout) {
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
static gradcheck_result gradcheck(lstm_model *m, const lstm_batch *b, const float *ana, int verbose) {
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

static void fill_batch(int32_t *tokens, int32_t *targets, float *inputs, int V, int X) {
    for (int i = 0; i < GB * GT; i++) {
        if (tokens) tokens[i] = (int32_t)(urand() * V);
        targets[i] = (int32_t)(urand() * V);
    }
    if (inputs)
        for (int i = 0; i < GB * GT * X; i++) inputs[i] = (float)(2 * urand() - 1);
}

static void test_gradcheck_tokens(void) {
    lstm_model *m = make_model(GV, 0, 6, 2, GV, 0.0f);
    CHECK(m, "create");
    int32_t tokens[GB * GT], targets[GB * GT];
    fill_batch(tokens, targets, NULL, GV, 0);
    lstm_batch b = {GB, GT, tokens, NULL, targets, NULL, NULL};
    /* a non-zero carried state, so the gradient path through h0/c0 is exercised too */
    float loss;
    OK(lstm_train_batch(m, &b, &loss));
    double l;
    OK(lstm_compute_gradients(m, &b, &l));
    size_t n = lstm_parameter_count(m);
    float *ana = malloc(n * sizeof *ana);
    memcpy(ana, lstm_gradients(m), n * sizeof *ana);
    gradcheck_result r = gradcheck(m, &b, ana, 1);
    printf("  token model 2x6, B=%d T=%d: max rel err direction %.2e, entry %.2e\n", GB, GT,
           r.max_dir_err, r.max_elem_err);
    CHECK(r.bad == 0, "%d gradient checks beyond tolerance", r.bad);

    /* the check must reject a wrong gradient: swap the i and f rows of dW_hh (layer 1) */
    lstm_tensor_info t;
    lstm_tensor(m, 5, &t); /* weight_hh_l1 */
    for (int j = 0; j < 6 * t.cols; j++) {
        float tmp = ana[t.offset + j];
        ana[t.offset + j] = ana[t.offset + 6 * t.cols + j];
        ana[t.offset + 6 * t.cols + j] = tmp;
    }
    gradcheck_result broken = gradcheck(m, &b, ana, 0);
    printf("  with i/f rows of dW_hh_l1 swapped: max rel err %.2e, %d checks fail\n",
           broken.max_dir_err, broken.bad);
    CHECK(broken.bad > 0, "a broken gradient passed the check");
    /* and a gradient 3%% too small everywhere */
    memcpy(ana, lstm_gradients(m), n * sizeof *ana);
    for (size_t i = 0; i < n; i++) ana[i] *= 0.97f;
    broken = gradcheck(m, &b, ana, 0);
    printf("  with every gradient scaled by 0.97: %d checks fail\n", broken.bad);
    CHECK(broken.bad > 0, "a 3%% scaled gradient passed the check");
    free(ana);
    lstm_free(m);
}

static void test_gradcheck_dense_and_inputs(void) {
    lstm_model *m = make_model(0, GX, 5, 2, 4, 0.0f);
    CHECK(m, "create");
    int32_t targets[GB * GT];
    float inputs[GB * GT * GX];
    fill_batch(NULL, targets, inputs, 4, GX);
    lstm_batch b = {GB, GT, NULL, inputs, targets, NULL, NULL};
    double l;
    OK(lstm_compute_gradients(m, &b, &l));
    size_t n = lstm_parameter_count(m);
    float *ana = malloc(n * sizeof *ana);
    memcpy(ana, lstm_gradients(m), n * sizeof *ana);
    float dx[GB * GT * GX];
    memcpy(dx, lstm_input_gradients(m), sizeof dx);
    gradcheck_result r = gradcheck(m, &b, ana, 1);
    printf("  dense model 2x5: max rel err direction %.2e, entry %.2e\n", r.max_dir_err, r.max_elem_err);
    CHECK(r.bad == 0, "%d parameter gradient checks beyond tolerance", r.bad);
    /* input gradient, every entry */
    double worst = 0;
    for (int i = 0; i < GB * GT * GX; i++) {
        const double eps = 3e-3;
        float saved = inputs[i];
        double lp, lm;
        inputs[i] = saved + (float)eps;
        lstm_compute_loss(m, &b, &lp);
        inputs[i] = saved - (float)eps;
        lstm_compute_loss(m, &b, &lm);
        inputs[i] = saved;
        double num = (lp - lm) / (2 * eps);
        double err = fabs(num - dx[i]) / fmax(fmax(fabs(num), fabs(dx[i])), 1e-3);
        if (err > worst) worst = err;
    }
    printf("  input gradients (%d entries): max rel err %.2e\n", GB * GT * GX, worst);
    CHECK(worst < ELEM_TOL, "input gradient error %.3g", worst);
    free(ana);
    lstm_free(m);
}

static void test_dropout_gradients(void) {
    /* with dropout, compute_gradients reuses the same masks, so loss(params) is the function
     * the gradient belongs to only for mask-consistent evaluations: check determinism and
     * that the masked loss differs from the evaluation loss */
    lstm_model *m = make_model(GV, 0, 8, 2, GV, 0.5f);
    CHECK(m, "create");
    int32_t tokens[GB * GT], targets[GB * GT];
    fill_batch(tokens, targets, NULL, GV, 0);
    lstm_batch b = {GB, GT, tokens, NULL, targets, NULL, NULL};
    double l1, l2, le;
    OK(lstm_compute_gradients(m, &b, &l1));
    size_t n = lstm_parameter_count(m);
    float *g1 = malloc(n * sizeof *g1);
    memcpy(g1, lstm_gradients(m), n * sizeof *g1);
    OK(lstm_compute_gradients(m, &b, &l2));
    CHECK(l1 == l2 && memcmp(g1, lstm_gradients(m), n * sizeof *g1) == 0,
          "compute_gradients is not repeatable with dropout");
    OK(lstm_compute_loss(m, &b, &le));
    CHECK(le != l1, "dropout had no effect on the training loss");
    float loss;
    OK(lstm_train_batch(m, &b, &loss));
    CHECK(fabs(loss - l1) < 1e-5, "train_batch loss %g differs from compute_gradients %g", loss, l1);
    free(g1);
    lstm_free(m);
}

/* ---- training ---- */

static void test_training_learns(void) {
    /* a periodic sequence: after training, the next token is predictable */
    enum { N = 4000 };
    static int32_t stream[N];
    const char *pattern = "abcabdabcabe";
    for (int i = 0; i < N; i++) stream[i] = pattern[i % 12] - 'a';
    lstm_model *m = make_model(5, 0, 16, 2, 5, 0.0f);
    CHECK(m, "create");
    lstm_optimizer o;
    lstm_optimizer_defaults(&o);
    o.learning_rate = 1e-2f;
    OK(lstm_set_optimizer(m, &o));
    float losses[1000];
    OK(lstm_train_stream(m, stream, N, 4, 12, 1000, losses));
    double val;
    OK(lstm_evaluate_stream(m, stream, N, 4, 24, &val));
    /* without memory of the last 6+ steps the best possible is (4/12) * H(c,d,c,e) = 0.35 */
    printf("  loss %.3f -> %.3f, evaluation %.4f nats (uniform %.3f, memoryless best 0.35)\n",
           losses[0], losses[999], val, log(5.0));
    CHECK(val < 0.1, "did not learn a periodic sequence: %g", val);
    lstm_free(m);
}

static void test_optimizers(void) {
    int32_t tokens[GB * GT], targets[GB * GT];
    fill_batch(tokens, targets, NULL, GV, 0);
    lstm_batch b = {GB, GT, tokens, NULL, targets, NULL, NULL};
    const char *names[3] = {"sgd", "rmsprop", "adam"};
    for (int type = 0; type < 3; type++) {
        lstm_model *m = make_model(GV, 0, 8, 1, GV, 0.0f);
        CHECK(m, "create");
        lstm_optimizer o;
        lstm_optimizer_defaults(&o);
        o.type = type;
        o.learning_rate = type == 0 ? 0.5f : 0.03f;
        o.momentum = 0.9f;
        o.beta2 = type == 1 ? 0.99f : 0.999f;
        OK(lstm_set_optimizer(m, &o));
        double first, last;
        OK(lstm_compute_loss(m, &b, &first));
        for (int i = 0; i < 60; i++) {
            lstm_reset_state(m);
            OK(lstm_train_batch(m, &b, NULL));
        }
        lstm_reset_state(m);
        OK(lstm_compute_loss(m, &b, &last));
        printf("  %-7s loss %.3f -> %.3f\n", names[type], first, last);
        CHECK(last < 0.5 * first, "%s did not fit a single batch", names[type]);
        CHECK(lstm_step_count(m) == 60, "step count");
        lstm_free(m);
    }
}

static void test_non_finite_step_is_skipped(void) {
    lstm_model *m = make_model(GV, 0, 8, 1, GV, 0.0f);
    CHECK(m, "create");
    int32_t tokens[GB * GT], targets[GB * GT];
    fill_batch(tokens, targets, NULL, GV, 0);
    lstm_batch b = {GB, GT, tokens, NULL, targets, NULL, NULL};
    size_t n = lstm_parameter_count(m);
    float *before = malloc(n * sizeof *before);
    lstm_parameters(m)[0] = NAN; /* poison the weight that token 0 feeds */
    for (int i = 0; i < GB * GT; i++) tokens[i] = 0;
    memcpy(before, lstm_parameters(m), n * sizeof *before);
    const lstm_step_guard guard = {.max_skips = 3, .loss_factor = 0.0f};
    OK(lstm_set_step_guard(m, &guard));
    float loss;
    lstm_training_stats stats;
    for (int k = 1; k <= 2; k++) { /* skipped, not failed: the call succeeds and says so */
        OK(lstm_train_batch(m, &b, &loss));
        OK(lstm_get_training_stats(m, &stats));
        CHECK(stats.last_reason == LSTM_SKIP_LOSS && stats.skip_streak == k && stats.skipped == (uint64_t)k,
              "skip %d: reason %d, streak %d, skipped %llu", k, stats.last_reason, stats.skip_streak,
              (unsigned long long)stats.skipped);
    }
    lstm_status st = lstm_train_batch(m, &b, &loss); /* the third in a row fails */
    CHECK(st == LSTM_ERR_NON_FINITE && strstr(lstm_error_message(m), "3 training steps in a row"),
          "status %d (%s)", st, lstm_error_message(m));
    CHECK(memcmp(before, lstm_parameters(m), n * sizeof *before) == 0, "parameters changed");
    CHECK(lstm_step_count(m) == 0, "step counted");
    /* repair and go on */
    lstm_parameters(m)[0] = 0.0f;
    OK(lstm_train_batch(m, &b, &loss));
    OK(lstm_get_training_stats(m, &stats));
    CHECK(isfinite(loss) && stats.last_reason == LSTM_SKIP_NONE && stats.steps == 1 && stats.skip_streak == 0,
          "after repair: loss %g, reason %d", (double)loss, stats.last_reason);
    free(before);
    lstm_free(m);
}

/* forget_bias in a layer-normalised model: every row's forget-gate pre-activations average
 * forget_bias (the normalised block has mean 0 and gain 1), so f starts near sigmoid(bias).
 * In b_ih, where it used to go, the normalisation removed it: the mean was 0 either way. */
static void test_layer_norm_forget_bias(void) {
    const int H = 6, B = 3, T = 4, V = 5;
    for (int q = 0; q < 2; q++) {
        const float bias = q ? 3.0f : 0.0f;
        lstm_config c = {.input_vocab = V, .hidden_size = H, .num_layers = 1, .output_size = V,
                         .seed = 7, .init_scale = 0.5f, .forget_bias = bias, .layer_norm = 1};
        lstm_model *m = NULL;
        lstm_message msg;
        OK(lstm_create(&c, &m, &msg));
        int32_t tokens[B * T], targets[B * T];
        for (int i = 0; i < B * T; i++) tokens[i] = i % V, targets[i] = (i + 1) % V;
        lstm_batch b = {B, T, tokens, NULL, targets, NULL, NULL};
        double loss;
        OK(lstm_compute_loss(m, &b, &loss));
        const float *f = lstm_test_gate_activations(m, 0) + H; /* (T*B, 4H): i, f, g, o */
        double worst = 0.0;
        for (int r = 0; r < B * T; r++) {
            double mean = 0.0;
            for (int j = 0; j < H; j++) mean += log(f[r * 4 * H + j] / (1.0 - f[r * 4 * H + j]));
            worst = fmax(worst, fabs(mean / H - bias));
        }
        printf("  forget_bias %.0f: mean forget pre-activation off by at most %.1e\n", (double)bias, worst);
        /* float32 sigmoid then log in double: ~1e-6 relative on values near 3 */
        CHECK(worst < 1e-4, "forget_bias %g: mean forget pre-activation off by %g", (double)bias, worst);
        lstm_free(m);
    }
}

/* ---- save / load ---- */

static uint8_t *save(lstm_model *m, uint32_t flags, size_t *len) {
    lstm_save_size(m, flags, len);
    uint8_t *buf = malloc(*len);
    size_t written = 0;
    if (lstm_save(m, flags, buf, *len, &written) != LSTM_OK || written != *len) {
        free(buf);
        return NULL;
    }
    return buf;
}

static void test_save_resume_exact(void) {
    enum { N = 3000 };
    static int32_t stream[N];
    for (int i = 0; i < N; i++) stream[i] = (int32_t)(urand() * 6);
    lstm_model *a = make_model(6, 0, 12, 2, 6, 0.25f);
    CHECK(a, "create");
    uint32_t vocab[6] = {'a', 'b', 'c', 'd', 'e', 0x4E2D};
    OK(lstm_set_vocabulary(a, vocab, 6));
    OK(lstm_set_metadata(a, (const uint8_t *)"{\"x\":1}", 7));
    float la[20], lb[10];
    OK(lstm_train_stream(a, stream, N, 3, 10, 10, la));
    size_t len;
    uint8_t *buf = save(a, LSTM_SAVE_TRAINING_STATE, &len);
    CHECK(buf, "save");
    OK(lstm_train_stream(a, stream, N, 3, 10, 10, la + 10));
    lstm_model *b = NULL;
    lstm_message msg;
    lstm_status st = lstm_load(buf, len, &b, &msg);
    CHECK(st == LSTM_OK, "load: %s", msg.text);
    OK(lstm_train_stream(b, stream, N, 3, 10, 10, lb));
    for (int i = 0; i < 10; i++) CHECK(la[10 + i] == lb[i], "step %d: %g != %g", i, la[10 + i], lb[i]);
    CHECK(lstm_vocabulary_size(b) == 6 && lstm_vocabulary(b)[5] == 0x4E2D, "vocabulary");
    CHECK(lstm_metadata_size(b) == 7 && memcmp(lstm_metadata(b), "{\"x\":1}", 7) == 0, "metadata");
    CHECK(memcmp(lstm_parameters(a), lstm_parameters(b), lstm_parameter_count(a) * 4) == 0,
          "parameters differ after identical training");
    printf("  resumed 10 steps bit-identically (%zu bytes with training state)\n", len);
    free(buf);
    /* weights only: same generation */
    buf = save(a, 0, &len);
    lstm_model *c = NULL;
    OK(lstm_load(buf, len, &c, &msg));
    lstm_sampling s = {0.8f, 0, 1.0f, 0.0f};
    int32_t prompt[2] = {1, 2}, oa[50], oc[50];
    lstm_infer_reset(a);
    lstm_infer_reset(c);
    lstm_sampler_seed(a, 9);
    lstm_sampler_seed(c, 9);
    OK(lstm_generate(a, prompt, 2, &s, 50, oa));
    OK(lstm_generate(c, prompt, 2, &s, 50, oc));
    CHECK(memcmp(oa, oc, sizeof oa) == 0, "generation differs after load");
    free(buf);
    lstm_free(a);
    lstm_free(b);
    lstm_free(c);
}

/* Every truncation, every byte flip, a trailing byte: each rejected with its status. */
static void check_every_corruption(const uint8_t *buf, size_t len, const char *what) {
    int counts[16] = {0};
    lstm_message msg;
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1); /* exact size, so ASan sees any over-read */
        memcpy(copy, buf, cut);
        lstm_model *out = NULL;
        lstm_status st = lstm_load(copy, cut, &out, &msg);
        free(copy);
        CHECK(st == LSTM_ERR_TRUNCATED, "%s cut at %zu: status %d (%s)", what, cut, st, msg.text);
        CHECK(out == NULL, "model returned for a bad buffer");
        CHECK(msg.text[0] != 0, "no message");
        counts[st]++;
    }
    for (size_t i = 0; i < len; i++) {
        uint8_t *copy = malloc(len);
        memcpy(copy, buf, len);
        copy[i] ^= 0xFF;
        lstm_model *out = NULL;
        lstm_status st = lstm_load(copy, len, &out, &msg);
        free(copy);
        CHECK(st != LSTM_OK, "%s flip at %zu accepted", what, i);
        CHECK(st >= LSTM_ERR_BAD_MAGIC && st <= LSTM_ERR_CORRUPT, "%s flip at %zu: status %d", what, i, st);
        counts[st]++;
    }
    uint8_t *longer = calloc(len + 1, 1);
    memcpy(longer, buf, len);
    lstm_model *out = NULL;
    const lstm_status trailing = lstm_load(longer, len + 1, &out, &msg);
    free(longer);
    CHECK(trailing == LSTM_ERR_CORRUPT, "%s: trailing byte accepted", what);
    printf("  %s: %zu truncations and %zu flips rejected: truncated %d, magic %d, version %d, checksum %d, corrupt %d\n",
           what, len, len, counts[LSTM_ERR_TRUNCATED], counts[LSTM_ERR_BAD_MAGIC],
           counts[LSTM_ERR_UNSUPPORTED_VERSION], counts[LSTM_ERR_CHECKSUM], counts[LSTM_ERR_CORRUPT]);
}

static void test_corrupt_buffers(void) {
    lstm_model *m = make_model(5, 0, 3, 2, 5, 0.0f);
    CHECK(m, "create");
    uint32_t vocab[5] = {'a', 'b', 'c', 'd', 'e'};
    lstm_set_vocabulary(m, vocab, 5);
    int32_t stream[64];
    for (int i = 0; i < 64; i++) stream[i] = i % 5;
    OK(lstm_train_stream(m, stream, 64, 2, 4, 2, NULL));
    size_t len, len8;
    uint8_t *buf = save(m, LSTM_SAVE_TRAINING_STATE, &len), *q8 = save(m, LSTM_SAVE_INT8, &len8);
    CHECK(buf && q8, "save");
    check_every_corruption(buf, len, "training state");
    check_every_corruption(q8, len8, "quantised");
    lstm_model *out = NULL;
    lstm_message msg;
    CHECK(lstm_load((const uint8_t *)"\x89PNG\r\n\x1a\n0000000000000000", 24, &out, &msg) == LSTM_ERR_BAD_MAGIC, "png accepted");
    free(buf);
    free(q8);
    lstm_free(m);
}

/* A header that passes the checksum but claims an absurd size must be refused before any
 * allocation: rewrite the config and recompute the CRC as an attacker would. */
static uint32_t crc32_ref(const uint8_t *p, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & -(c & 1u));
    }
    return ~c;
}


static void test_forged_sizes(void) {
    lstm_model *m = make_model(5, 0, 3, 1, 5, 0.0f);
    CHECK(m, "create");
    size_t len;
    uint8_t *buf = save(m, 0, &len);
    const struct { int word; int32_t value; lstm_status want; } cases[] = {
        {2, 4096, LSTM_ERR_CORRUPT},      /* hidden 4096: parameter count no longer matches */
        {2, 1 << 30, LSTM_ERR_CORRUPT},   /* hidden 2^30: impossible */
        {3, 0, LSTM_ERR_CORRUPT},         /* zero layers */
        {0, -5, LSTM_ERR_CORRUPT},        /* negative vocabulary */
        {4, 1 << 20, LSTM_ERR_CORRUPT},   /* 2^20 outputs: parameter count mismatch */
    };
    lstm_message msg;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t *copy = malloc(len);
        memcpy(copy, buf, len);
        memcpy(copy + 24 + 4 * cases[i].word, &cases[i].value, 4);
        uint32_t crc = crc32_ref(copy, len - 4);
        memcpy(copy + len - 4, &crc, 4);
        lstm_model *out = NULL;
        lstm_status st = lstm_load(copy, len, &out, &msg);
        free(copy);
        CHECK(st == cases[i].want, "forged word %d = %d: status %d (%s)", cases[i].word,
              cases[i].value, st, msg.text);
    }
    /* the checksum itself is verified */
    buf[len - 1] ^= 1;
    lstm_model *out = NULL;
    CHECK(lstm_load(buf, len, &out, &msg) == LSTM_ERR_CHECKSUM, "bad crc accepted");
    free(buf);
    lstm_free(m);
}

/* Quantised files: 4 times smaller, the same predictions within int8 rounding, inference
 * only, re-saved byte for byte. */
static void test_quantized(void) {
    lstm_config c = {.input_vocab = 11, .hidden_size = 24, .num_layers = 2, .output_size = 11, .seed = 5,
                     .init_scale = 0.4f, .proj_size = 7, .peephole = 1};
    lstm_model *m = NULL;
    lstm_message msg;
    OK(lstm_create(&c, &m, &msg));
    int32_t tokens[3 * 9];
    for (int i = 0; i < 27; i++) tokens[i] = (i * 7) % 11;
    lstm_batch b = {3, 9, tokens, NULL, NULL, NULL, NULL};
    size_t len32, len8, again_len;
    uint8_t *f32 = save(m, 0, &len32), *f8 = save(m, LSTM_SAVE_INT8, &len8);
    CHECK(f32 && f8 && f8[8] == 4, "saved (version %d)", f8 ? f8[8] : -1);
    printf("  2 x 24 (projected to 7) model: float %zu bytes, int8 %zu bytes (%.2fx smaller)\n", len32, len8,
           (double)len32 / (double)len8);
    lstm_model *q = NULL;
    OK(lstm_load(f8, len8, &q, &msg));
    float p1[3 * 9 * 11], p2[3 * 9 * 11];
    OK(lstm_predict(m, &b, p1, sizeof p1 / sizeof p1[0]));
    OK(lstm_predict(q, &b, p2, sizeof p2 / sizeof p2[0]));
    double worst = 0;
    for (size_t i = 0; i < sizeof p1 / sizeof p1[0]; i++) worst = fmax(worst, fabs(p1[i] - p2[i]));
    printf("  quantised probabilities differ from float by at most %.2e\n", worst);
    /* int8 rows keep about 2-3 significant digits of each weight: here the probabilities
     * moved by 2e-4; a wrong scale or a transposed row moves them by 1e-1 */
    CHECK(worst > 0 && worst < 1e-2, "quantised predictions differ by %g", worst);
    int32_t out[20];
    const lstm_sampling s = {0.8f, 0, 1.0f, 0.0f};
    OK(lstm_infer_reset(q));
    OK(lstm_generate(q, tokens, 3, &s, 20, out));
    CHECK(lstm_train_batch(q, &b, NULL) == LSTM_ERR_STATE && strstr(lstm_error_message(q), "quantised"), "trained");
    CHECK(lstm_parameters(q) == NULL, "float parameters of a quantised model");
    CHECK(lstm_save_size(q, LSTM_SAVE_TRAINING_STATE, &again_len) == LSTM_ERR_INVALID_ARGUMENT, "training state saved");
    uint8_t *again = save(q, 0, &again_len); /* a quantised model saves as int8 whatever the flags */
    CHECK(again && again_len == len8 && memcmp(again, f8, len8) == 0, "re-saved differently");
    free(again);
    free(f32);
    free(f8);
    lstm_free(q);
    lstm_free(m);
}

/* ---- arguments ---- */

static void test_bad_arguments(void) {
    lstm_config good = {.input_vocab = 10, .hidden_size = 8, .num_layers = 1, .output_size = 10};
    struct { const char *what; lstm_config c; } bad[] = {
        {"hidden 0", good}, {"hidden 5000", good}, {"layers 0", good}, {"layers 17", good},
        {"output 0", good}, {"vocab -1", good}, {"dense input 0", good}, {"dropout 1", good},
        {"dropout NaN", good}, {"huge model", good},
    };
    bad[0].c.hidden_size = 0;
    bad[1].c.hidden_size = 5000;
    bad[2].c.num_layers = 0;
    bad[3].c.num_layers = 17;
    bad[4].c.output_size = 0;
    bad[5].c.input_vocab = -1;
    bad[6].c.input_vocab = 0;
    bad[7].c.dropout = 1.0f;
    bad[8].c.dropout = NAN;
    bad[9].c.input_vocab = 1 << 20; bad[9].c.hidden_size = 4096;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lstm_model *m = (lstm_model *)1;
        lstm_message msg = {{0}};
        lstm_status st = lstm_create(&bad[i].c, &m, &msg);
        CHECK(st == LSTM_ERR_INVALID_ARGUMENT && m == NULL && msg.text[0], "%s: status %d", bad[i].what, st);
    }
    lstm_model *m = NULL;
    lstm_message msg;
    OK(lstm_create(&good, &m, &msg));
    int32_t tokens[4] = {0, 1, 2, 10}, targets[4] = {0, 1, 2, 3};
    lstm_batch b = {2, 2, tokens, NULL, targets, NULL, NULL};
    CHECK(lstm_train_batch(m, &b, NULL) == LSTM_ERR_TOKEN_RANGE, "token 10 accepted");
    CHECK(strstr(lstm_error_message(m), "tokens[3] = 10") != NULL, "message: %s", lstm_error_message(m));
    tokens[3] = 1;
    b.batch = 0;
    CHECK(lstm_train_batch(m, &b, NULL) == LSTM_ERR_INVALID_ARGUMENT, "batch 0 accepted");
    b.batch = 2;
    b.targets = NULL;
    CHECK(lstm_train_batch(m, &b, NULL) == LSTM_ERR_INVALID_ARGUMENT, "NULL targets accepted");
    b.targets = targets;
    CHECK(lstm_train_batch(m, NULL, NULL) == LSTM_ERR_INVALID_ARGUMENT, "NULL batch accepted");
    lstm_optimizer o;
    lstm_optimizer_defaults(&o);
    o.learning_rate = -1;
    CHECK(lstm_set_optimizer(m, &o) == LSTM_ERR_INVALID_ARGUMENT, "negative lr accepted");
    CHECK(strstr(lstm_error_message(m), "learning_rate") != NULL, "message: %s", lstm_error_message(m));
    int32_t stream[10] = {0};
    CHECK(lstm_train_stream(m, stream, 10, 4, 8, 1, NULL) == LSTM_ERR_INVALID_ARGUMENT, "short stream accepted");
    lstm_sampling s = {-1, 0, 1, 0};
    int32_t tok;
    CHECK(lstm_sample(m, &s, &tok) == LSTM_ERR_INVALID_ARGUMENT, "negative temperature accepted");
    s.temperature = 1;
    CHECK(lstm_sample(m, &s, &tok) == LSTM_ERR_STATE, "sampling before a step accepted");
    CHECK(lstm_infer_step(m, 99, NULL, NULL) == LSTM_ERR_TOKEN_RANGE, "token 99 accepted");
    uint8_t small[8];
    size_t w;
    CHECK(lstm_save(m, 0, small, sizeof small, &w) == LSTM_ERR_BUFFER_TOO_SMALL, "small buffer accepted");
    CHECK(lstm_save(m, 0x10, small, sizeof small, &w) == LSTM_ERR_INVALID_ARGUMENT, "bad flags accepted");
    /* still fully usable */
    OK(lstm_train_batch(m, &b, NULL));
    lstm_free(m);
    lstm_free(NULL);
    CHECK(lstm_strerror((lstm_status)999) != NULL, "strerror");
}

/* ---- task heads (MSE, last step) and masking by sequence lengths ---- */

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

static lstm_model *make_task_model(const task_case *tc, int L, float dropout) {
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

static void fill_task_batch(task_batch *d, const task_case *tc) {
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
static void scramble_padding(task_batch *d, const task_case *tc) {
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

static void test_task_case(const task_case *tc) {
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

static void test_task_gradients(void) {
    static const task_case cases[] = {
        {"mse every step, dense", 0, LSTM_HEAD_MSE, 0, 0, LSTM_CELL_LSTM},
        {"mse every step, dense, masked", 0, LSTM_HEAD_MSE, 0, 1, LSTM_CELL_LSTM},
        {"mse last step, dense", 0, LSTM_HEAD_MSE, 1, 0, LSTM_CELL_LSTM},
        {"mse last step, dense, masked", 0, LSTM_HEAD_MSE, 1, 1, LSTM_CELL_LSTM},
        {"softmax last step (classification), dense", 0, LSTM_HEAD_SOFTMAX, 1, 0, LSTM_CELL_LSTM},
        {"softmax last step, dense, masked", 0, LSTM_HEAD_SOFTMAX, 1, 1, LSTM_CELL_LSTM},
        {"softmax last step, tokens, masked", 6, LSTM_HEAD_SOFTMAX, 1, 1, LSTM_CELL_LSTM},
        {"softmax every step, tokens, masked", 6, LSTM_HEAD_SOFTMAX, 0, 1, LSTM_CELL_LSTM},
        {"softmax every step, dense, masked", 0, LSTM_HEAD_SOFTMAX, 0, 1, LSTM_CELL_LSTM},
        {"gru: softmax every step, tokens", 6, LSTM_HEAD_SOFTMAX, 0, 0, LSTM_CELL_GRU},
        {"gru: softmax every step, dense", 0, LSTM_HEAD_SOFTMAX, 0, 0, LSTM_CELL_GRU},
        {"gru: mse last step, dense, masked", 0, LSTM_HEAD_MSE, 1, 1, LSTM_CELL_GRU},
        {"gru: softmax last step, tokens, masked", 6, LSTM_HEAD_SOFTMAX, 1, 1, LSTM_CELL_GRU},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int before = g_failed;
        test_task_case(&cases[i]);
        if (g_failed != before) return;
    }
}

static void test_variant_gradients(void) {
    /* every LSTM variant and the GRU's, through a softmax every-step token model and a masked
     * dense mse last-step model; hard: hard sigmoid gates, before: the GRU's reset_before */
    static const struct { const char *name; int cell, peephole, cifg, activation, proj, ln, hard, before; } variants[] = {
        {"peephole", LSTM_CELL_LSTM, 1, 0, LSTM_ACTIVATION_TANH, 0, 0, 0, 0},
        {"cifg", LSTM_CELL_LSTM, 0, 1, LSTM_ACTIVATION_TANH, 0, 0, 0, 0},
        {"peephole + cifg", LSTM_CELL_LSTM, 1, 1, LSTM_ACTIVATION_TANH, 0, 0, 0, 0},
        {"relu", LSTM_CELL_LSTM, 0, 0, LSTM_ACTIVATION_RELU, 0, 0, 0, 0},
        {"peephole + cifg + relu", LSTM_CELL_LSTM, 1, 1, LSTM_ACTIVATION_RELU, 0, 0, 0, 0},
        {"gru relu", LSTM_CELL_GRU, 0, 0, LSTM_ACTIVATION_RELU, 0, 0, 0, 0},
        {"projection 5 -> 3", LSTM_CELL_LSTM, 0, 0, LSTM_ACTIVATION_TANH, 3, 0, 0, 0},
        {"projection + peephole + cifg", LSTM_CELL_LSTM, 1, 1, LSTM_ACTIVATION_TANH, 2, 0, 0, 0},
        {"layer norm", LSTM_CELL_LSTM, 0, 0, LSTM_ACTIVATION_TANH, 0, 1, 0, 0},
        {"hard sigmoid", LSTM_CELL_LSTM, 0, 0, LSTM_ACTIVATION_TANH, 0, 0, 1, 0},
        {"hard sigmoid + peephole + projection", LSTM_CELL_LSTM, 1, 0, LSTM_ACTIVATION_TANH, 3, 0, 1, 0},
        {"gru hard sigmoid", LSTM_CELL_GRU, 0, 0, LSTM_ACTIVATION_TANH, 0, 0, 1, 0},
        {"gru reset before", LSTM_CELL_GRU, 0, 0, LSTM_ACTIVATION_TANH, 0, 0, 0, 1},
        {"gru reset before + hard sigmoid + relu", LSTM_CELL_GRU, 0, 0, LSTM_ACTIVATION_RELU, 0, 0, 1, 1},
    };
    for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++) {
        g_variant = (lstm_config){.peephole = variants[v].peephole, .cifg = variants[v].cifg,
                                  .activation = variants[v].activation, .proj_size = variants[v].proj,
                                  .layer_norm = variants[v].ln, .recurrent_activation = variants[v].hard,
                                  .gru_reset_before = variants[v].before};
        /* relu and the hard sigmoid are piecewise linear: a kink within a difference's step */
        DIR_TOL = variants[v].activation == LSTM_ACTIVATION_RELU || variants[v].hard ? DIR_TOL_RELU : DIR_TOL_SMOOTH;
        char n1[80], n2[80];
        snprintf(n1, sizeof n1, "%s: softmax every step, tokens", variants[v].name);
        snprintf(n2, sizeof n2, "%s: mse last step, dense, masked", variants[v].name);
        const task_case cases[2] = {{n1, 6, LSTM_HEAD_SOFTMAX, 0, 0, variants[v].cell},
                                    {n2, 0, LSTM_HEAD_MSE, 1, 1, variants[v].cell}};
        int before = g_failed;
        for (int i = 0; i < 2 && g_failed == before; i++) test_task_case(&cases[i]);
        if (g_failed == before) {
            /* and the one-step inference path gives the training forward's outputs */
            const task_case tc = {"infer", 0, LSTM_HEAD_MSE, 0, 0, variants[v].cell};
            lstm_model *m = make_task_model(&tc, 2, 0.0f);
            static task_batch d;
            fill_task_batch(&d, &tc);
            float y[GB * GT * TV], step[TV];
            double worst = 0;
            if (m && lstm_predict(m, &d.b, y, GB * GT * TV) == LSTM_OK)
                for (int b = 0; b < GB; b++) {
                    lstm_infer_reset(m);
                    for (int t = 0; t < GT; t++) {
                        lstm_infer_step(m, 0, d.inputs + (b * GT + t) * TX, step);
                        for (int k = 0; k < TV; k++) worst = fmax(worst, fabs(step[k] - y[(b * GT + t) * TV + k]));
                    }
                }
            lstm_free(m);
            CHECK(m && worst < 1e-6, "%s: inference and training disagree by %g", variants[v].name, worst);
        }
        g_variant = (lstm_config){0};
        DIR_TOL = DIR_TOL_SMOOTH;
        if (g_failed != before) return;
    }
}

static void test_dropout_gradcheck(void) {
    /* with dropout between layers and variational recurrent dropout, the gradient is that of
     * the loss under the batch's masks: finite differences of that same masked loss agree */
    for (int run_i = 0; run_i < 4; run_i++) {
        const int cell = run_i == 1 ? LSTM_CELL_GRU : LSTM_CELL_LSTM;
        lstm_config c = {.input_vocab = 0, .input_size = TX, .hidden_size = TH, .num_layers = 2,
                         .output_size = TV, .seed = 11, .dropout = 0.25f, .init_scale = 0.5f,
                         .head = LSTM_HEAD_MSE, .cell = cell, .recurrent_dropout = 0.4f,
                         .proj_size = run_i == 2 ? 3 : 0, .bidirectional = run_i == 3};
        lstm_model *m = NULL;
        lstm_message msg;
        OK(lstm_create(&c, &m, &msg));
        const task_case tc = {"dropout", 0, LSTM_HEAD_MSE, 0, 1, cell};
        static task_batch d;
        fill_task_batch(&d, &tc);
        double l1, l2, le;
        OK(lstm_compute_gradients(m, &d.b, &l1));
        size_t n = lstm_parameter_count(m);
        float *ana = malloc(n * sizeof *ana);
        memcpy(ana, lstm_gradients(m), n * sizeof *ana);
        OK(lstm_compute_gradients(m, &d.b, &l2));
        OK(lstm_compute_loss(m, &d.b, &le));
        CHECK(l1 == l2 && memcmp(ana, lstm_gradients(m), n * sizeof *ana) == 0, "masks not repeatable");
        CHECK(le != l1, "dropout had no effect");
        g_loss = lstm_compute_gradients;
        gradcheck_result r = gradcheck(m, &d.b, ana, 1);
        g_loss = lstm_compute_loss;
        printf("  %s, dropout 0.25 + recurrent dropout 0.4: masked loss %.4f (no dropout %.4f), max rel err direction %.2e, entry %.2e\n",
               run_i == 3 ? "bidirectional lstm" : run_i == 2 ? "lstm, projection 5 -> 3" : cell ? "gru" : "lstm",
               l1, le, r.max_dir_err, r.max_elem_err);
        free(ana);
        CHECK(r.bad == 0, "%d gradient checks beyond tolerance", r.bad);
        /* a training step draws new masks: the next masked loss differs */
        float lt;
        OK(lstm_train_batch(m, &d.b, &lt));
        CHECK(fabs(lt - l1) < 1e-5, "train_batch loss %g vs compute_gradients %g", lt, l1);
        lstm_free(m);
    }
}

/* Copy unit u of a bidirectional model into a one-directional one (same cell and sizes). */
static void copy_unit(lstm_model *bi, int u, lstm_model *uni) {
    const int n = lstm_tensor_count(uni) - 2; /* the layer tensors, before the head */
    for (int i = 0; i < n; i++) {
        lstm_tensor_info src, dst;
        lstm_tensor(bi, u * n + i, &src);
        lstm_tensor(uni, i, &dst);
        memcpy(lstm_parameters(uni) + dst.offset, lstm_parameters(bi) + src.offset,
               (size_t)dst.rows * dst.cols * sizeof(float));
    }
    lstm_parameters_changed(uni);
}

static void test_bidirectional(void) {
    /* gradients of every cell and head through two bidirectional layers, padded batches */
    static const struct { const char *name; int cell, peephole, cifg, proj, ln; } cells[] = {
        {"lstm", LSTM_CELL_LSTM, 0, 0, 0, 0},
        {"gru", LSTM_CELL_GRU, 0, 0, 0, 0},
        {"peephole + cifg", LSTM_CELL_LSTM, 1, 1, 0, 0},
        {"projection 5 -> 3", LSTM_CELL_LSTM, 0, 0, 3, 0},
        {"layer norm", LSTM_CELL_LSTM, 0, 0, 0, 1},
    };
    for (size_t v = 0; v < sizeof cells / sizeof cells[0]; v++) {
        g_variant = (lstm_config){.peephole = cells[v].peephole, .cifg = cells[v].cifg,
                                  .proj_size = cells[v].proj, .layer_norm = cells[v].ln, .bidirectional = 1};
        char n[4][96];
        snprintf(n[0], sizeof n[0], "bidirectional %s: mse every step, dense, masked", cells[v].name);
        snprintf(n[1], sizeof n[1], "bidirectional %s: softmax last step, tokens, masked", cells[v].name);
        snprintf(n[2], sizeof n[2], "bidirectional %s: mse last step, dense, masked", cells[v].name);
        snprintf(n[3], sizeof n[3], "bidirectional %s: softmax every step, tokens", cells[v].name);
        const task_case cases[4] = {{n[0], 0, LSTM_HEAD_MSE, 0, 1, cells[v].cell},
                                    {n[1], 6, LSTM_HEAD_SOFTMAX, 1, 1, cells[v].cell},
                                    {n[2], 0, LSTM_HEAD_MSE, 1, 1, cells[v].cell},
                                    {n[3], 6, LSTM_HEAD_SOFTMAX, 0, 0, cells[v].cell}};
        int before = g_failed;
        for (int i = 0; i < (v == 0 ? 4 : 2) && g_failed == before; i++) test_task_case(&cases[i]);
        g_variant = (lstm_config){0};
        if (g_failed != before) return;
    }

    /* what each direction reads: with the other half of out.weight zeroed, a one-layer
     * bidirectional classifier is a one-directional model on the sequences (forward), or on
     * each sequence reversed within its length (reverse: its last step is the first) */
    const task_case tc = {"semantics", 0, LSTM_HEAD_SOFTMAX, 1, 1, LSTM_CELL_LSTM};
    g_variant = (lstm_config){.bidirectional = 1};
    lstm_model *bi = make_task_model(&tc, 1, 0.0f);
    g_variant = (lstm_config){0};
    lstm_model *uni = make_task_model(&tc, 1, 0.0f);
    CHECK(bi && uni, "create");
    if (!bi || !uni) return;
    static task_batch d, r;
    fill_task_batch(&d, &tc);
    r = d;
    for (int b = 0; b < GB; b++)
        for (int t = 0; t < d.lengths[b]; t++)
            memcpy(r.inputs + (b * GT + t) * TX, d.inputs + (b * GT + d.lengths[b] - 1 - t) * TX, TX * sizeof(float));
    r.b.inputs = r.inputs;
    r.b.lengths = r.lengths;
    lstm_tensor_info wo_bi, wo_uni, bo_bi, bo_uni;
    const int nb = lstm_tensor_count(bi), nu = lstm_tensor_count(uni);
    lstm_tensor(bi, nb - 2, &wo_bi), lstm_tensor(uni, nu - 2, &wo_uni);
    lstm_tensor(bi, nb - 1, &bo_bi), lstm_tensor(uni, nu - 1, &bo_uni);
    CHECK(wo_bi.cols == 2 * TH && wo_uni.cols == TH, "out.weight is (%d, %d)", wo_bi.rows, wo_bi.cols);
    lstm_tensor_info t4;
    lstm_tensor(bi, 4, &t4);
    CHECK(strcmp(t4.name, "weight_ih_l0_reverse") == 0, "tensor 4 is %s", t4.name);
    float saved[TV * 2 * TH];
    float *wb = lstm_parameters(bi) + wo_bi.offset, *wu = lstm_parameters(uni) + wo_uni.offset;
    memcpy(saved, wb, sizeof saved);
    memcpy(lstm_parameters(uni) + bo_uni.offset, lstm_parameters(bi) + bo_bi.offset, TV * sizeof(float));
    for (int dir = 0; dir < 2; dir++) {
        copy_unit(bi, dir, uni);
        for (int v = 0; v < TV; v++)
            for (int j = 0; j < TH; j++) {
                wu[v * TH + j] = saved[v * 2 * TH + dir * TH + j];
                wb[v * 2 * TH + (1 - dir) * TH + j] = 0.0f; /* the other direction's half */
                wb[v * 2 * TH + dir * TH + j] = saved[v * 2 * TH + dir * TH + j];
            }
        lstm_parameters_changed(bi);
        float pb[GB * TV], pu[GB * TV];
        OK(lstm_predict(bi, &d.b, pb, GB * TV));
        OK(lstm_predict(uni, dir ? &r.b : &d.b, pu, GB * TV));
        double worst = 0;
        for (int i = 0; i < GB * TV; i++) worst = fmax(worst, fabs(pb[i] - pu[i]));
        printf("  %s direction alone = a one-directional model on the %s sequences: max diff %.1e\n",
               dir ? "reverse" : "forward", dir ? "reversed" : "same", worst);
        CHECK(worst < 1e-6, "%s direction differs by %g", dir ? "reverse" : "forward", worst);
    }
    memcpy(wb, saved, sizeof saved);
    lstm_parameters_changed(bi);

    /* inputs wider than both directions together (dense 40, or 50 tokens, against 2H = 6), one-
     * step batches and a re-laid workspace: under AddressSanitizer every workspace piece ends in
     * a poisoned gap, so a piece sized for the wrong width is reported here */
    for (int v = 0; v < 4; v++) {
        lstm_config wc = {.input_vocab = v & 1 ? 50 : 0, .input_size = 40, .hidden_size = 3, .num_layers = 2,
                          .output_size = 7, .seed = 3, .dropout = 0.3f, .bidirectional = 1,
                          .last_step_only = v >> 1, .cell = v == 3 ? LSTM_CELL_GRU : LSTM_CELL_LSTM};
        lstm_model *wm = NULL;
        lstm_message wmsg;
        OK(lstm_create(&wc, &wm, &wmsg));
        for (int T = 1; wm && T <= 5; T += 4) {
            int32_t tok[10], tgt[10], len[2] = {1, T};
            float x[10 * 40], y[10 * 7], lf;
            double lw;
            for (int i = 0; i < 10; i++) tok[i] = (i * 7) % 50, tgt[i] = i % 7;
            for (int i = 0; i < 400; i++) x[i] = (float)((i * 37) % 11) / 11.0f - 0.5f;
            lstm_batch wide = {2, T, wc.input_vocab ? tok : NULL, wc.input_vocab ? NULL : x, tgt, NULL, len};
            OK(lstm_compute_gradients(wm, &wide, &lw));
            OK(lstm_train_batch(wm, &wide, &lf));
            OK(lstm_predict(wm, &wide, y, 70));
        }
        lstm_free(wm);
    }

    /* whole sequences only: stream training and step inference refuse, the model stays usable */
    int32_t stream[64] = {0}, out[4];
    lstm_sampling smp = {1, 0, 0, 0};
    CHECK(lstm_infer_reset(bi) == LSTM_ERR_STATE, "infer_reset accepted");
    CHECK(lstm_infer_step(bi, 0, d.inputs, NULL) == LSTM_ERR_STATE, "infer_step accepted");
    CHECK(strstr(lstm_error_message(bi), "bidirectional") != NULL, "message: %s", lstm_error_message(bi));
    CHECK(lstm_generate(bi, stream, 1, &smp, 4, out) == LSTM_ERR_STATE, "generate accepted");
    CHECK(lstm_train_stream(bi, stream, 64, 2, 4, 1, NULL) == LSTM_ERR_STATE, "train_stream accepted");
    /* nothing is carried: after a step, the loss starts from zeros again */
    float lt;
    double l1, le;
    OK(lstm_train_batch(bi, &d.b, &lt));
    OK(lstm_compute_loss(bi, &d.b, &l1));
    OK(lstm_evaluate_batch(bi, &d.b, &le, NULL));
    CHECK(l1 == le, "compute_loss %g after a step vs evaluate %g: state was carried", l1, le);
    OK(lstm_train_batch(bi, &d.b, &lt));
    CHECK(fabs(lt - l1) < 1e-6, "second step's loss %g vs %g", lt, l1);
    /* files: version 2 (3 with a trained model's training state, for its running loss
     * mean), the same predictions after loading */
    size_t len;
    uint8_t *weights = save(bi, 0, &len);
    CHECK(weights && weights[8] == 2, "saved as version %d", weights ? weights[8] : -1);
    free(weights);
    uint8_t *buf = save(bi, LSTM_SAVE_TRAINING_STATE, &len);
    lstm_model *back = NULL;
    lstm_message msg;
    OK(lstm_load(buf, len, &back, &msg));
    CHECK(buf && buf[8] == 3, "saved as version %d", buf ? buf[8] : -1);
    float p1[GB * TV], p2[GB * TV];
    OK(lstm_predict(bi, &d.b, p1, GB * TV));
    if (back) OK(lstm_predict(back, &d.b, p2, GB * TV));
    CHECK(back && memcmp(p1, p2, sizeof p1) == 0, "loaded model predicts differently");
    lstm_config cb;
    if (back) lstm_get_config(back, &cb);
    CHECK(back && cb.bidirectional == 1, "bidirectional lost on load");
    free(buf);
    lstm_free(back);
    lstm_free(bi);
    lstm_free(uni);
}

static void test_orthogonal_init(void) {
    lstm_config c = {.input_vocab = 5, .hidden_size = 24, .num_layers = 2, .output_size = 5, .seed = 4};
    for (int cell = LSTM_CELL_LSTM; cell <= LSTM_CELL_GRU; cell++) {
        c.cell = cell;
        c.orthogonal_init = 0;
        lstm_model *plain = NULL, *orth = NULL;
        lstm_message msg;
        OK(lstm_create(&c, &plain, &msg));
        c.orthogonal_init = 1;
        OK(lstm_create(&c, &orth, &msg));
        const int H = 24, G = (cell ? 3 : 4) * H;
        double worst = 0;
        for (int ti = 0; ti < lstm_tensor_count(orth); ti++) {
            lstm_tensor_info t;
            lstm_tensor(orth, ti, &t);
            const float *w = lstm_parameters(orth) + t.offset, *u = lstm_parameters(plain) + t.offset;
            if (strncmp(t.name, "weight_hh", 9) != 0) {
                /* everything else is the uniform initialisation of the same seed */
                CHECK(memcmp(w, u, (size_t)t.rows * t.cols * sizeof(float)) == 0, "%s changed", t.name);
                continue;
            }
            CHECK(t.rows == G && t.cols == H, "%s is %dx%d", t.name, t.rows, t.cols);
            for (int q = 0; q < G / H; q++) /* each (H, H) gate block: W W^T = I */
                for (int i = 0; i < H; i++)
                    for (int j = 0; j < H; j++) {
                        double dot = 0;
                        for (int k = 0; k < H; k++) dot += (double)w[(q * H + i) * H + k] * w[(q * H + j) * H + k];
                        worst = fmax(worst, fabs(dot - (i == j)));
                    }
        }
        printf("  %s: max |W W^T - I| over every gate block %.2e\n", cell ? "gru" : "lstm", worst);
        lstm_free(plain);
        lstm_free(orth);
        /* float32 rounding of unit vectors: ~1e-7 per entry, summed over 24 */
        CHECK(worst < 1e-5, "gate blocks not orthogonal: %g", worst);
    }
}

static void test_cell_inference_matches_training(void) {
    /* the one-step inference path (infer.c) against the batched training forward, per cell */
    for (int cell = LSTM_CELL_LSTM; cell <= LSTM_CELL_GRU; cell++) {
        const task_case tc = {"infer", 0, LSTM_HEAD_MSE, 0, 0, cell};
        lstm_model *m = make_task_model(&tc, 2, 0.0f);
        CHECK(m, "create");
        static task_batch d;
        fill_task_batch(&d, &tc);
        float y[GB * GT * TV], step[TV];
        OK(lstm_predict(m, &d.b, y, GB * GT * TV));
        double worst = 0;
        for (int b = 0; b < GB; b++) {
            OK(lstm_infer_reset(m));
            for (int t = 0; t < GT; t++) {
                OK(lstm_infer_step(m, 0, d.inputs + (b * GT + t) * TX, step));
                for (int v = 0; v < TV; v++) worst = fmax(worst, fabs(step[v] - y[(b * GT + t) * TV + v]));
            }
        }
        printf("  %s: max |step - batch| %.2e\n", cell ? "gru" : "lstm", worst);
        CHECK(worst < 1e-6, "inference and training disagree by %g", worst);
        lstm_free(m);
    }
}

static void test_masked_state_carry(void) {
    /* the state carried on after a masked batch is the one after each sequence's last valid
     * step: scrambling the padding changes nothing about the next batch's loss */
    const task_case tc = {"carry", 0, LSTM_HEAD_MSE, 0, 1, LSTM_CELL_LSTM};
    double loss[2];
    for (int run_i = 0; run_i < 2; run_i++) {
        lstm_model *m = make_task_model(&tc, 2, 0.0f);
        CHECK(m, "create");
        rng_state = 12345;
        static task_batch d;
        fill_task_batch(&d, &tc);
        if (run_i) scramble_padding(&d, &tc);
        float l;
        OK(lstm_train_batch(m, &d.b, &l));
        d.b.lengths = NULL;
        for (int i = 0; i < GB * GT * TV; i++) d.values[i] = 0.5f;
        for (int i = 0; i < GB * GT * TX; i++) d.inputs[i] = 0.25f;
        OK(lstm_compute_loss(m, &d.b, &loss[run_i]));
        lstm_free(m);
    }
    printf("  next-batch loss %.9f and %.9f\n", loss[0], loss[1]);
    CHECK(loss[0] == loss[1], "padding leaked into the carried state");
}

static void test_predict_and_evaluate(void) {
    /* predictions reproduce evaluate_batch's loss and accuracy; a v2 file round-trips */
    const task_case cls = {"cls", 0, LSTM_HEAD_SOFTMAX, 1, 1, LSTM_CELL_LSTM}, reg = {"reg", 0, LSTM_HEAD_MSE, 0, 1, LSTM_CELL_LSTM};
    static task_batch d;
    lstm_model *m = make_task_model(&cls, 2, 0.0f);
    CHECK(m, "create");
    fill_task_batch(&d, &cls);
    double loss, acc;
    OK(lstm_evaluate_batch(m, &d.b, &loss, &acc));
    float p[GB * TV];
    CHECK(lstm_predict(m, &d.b, p, GB * TV - 1) == LSTM_ERR_BUFFER_TOO_SMALL, "small predict buffer accepted");
    OK(lstm_predict(m, &d.b, p, GB * TV));
    double nll = 0;
    int correct = 0;
    for (int b = 0; b < GB; b++) {
        int best = 0;
        for (int v = 1; v < TV; v++) best = p[b * TV + v] > p[b * TV + best] ? v : best;
        correct += best == d.targets[b];
        nll -= log(p[b * TV + d.targets[b]]);
    }
    printf("  classification: loss %.6f (from predictions %.6f), accuracy %.3f\n", loss, nll / GB, acc);
    CHECK(fabs(nll / GB - loss) < 1e-5, "predict and evaluate disagree");
    CHECK(fabs(acc - (double)correct / GB) < 1e-12, "accuracy %g, predictions give %d/%d", acc, correct, GB);
    lstm_free(m);

    m = make_task_model(&reg, 2, 0.0f);
    CHECK(m, "create");
    fill_task_batch(&d, &reg);
    OK(lstm_evaluate_batch(m, &d.b, &loss, &acc));
    CHECK(isnan(acc), "accuracy of an mse model should be NaN, got %g", acc);
    float y[GB * GT * TV];
    OK(lstm_predict(m, &d.b, y, GB * GT * TV));
    double se = 0;
    int count = 0;
    for (int b = 0; b < GB; b++)
        for (int t = 0; t < GT; t++)
            for (int v = 0; v < TV; v++) {
                int i = (b * GT + t) * TV + v;
                if (t >= d.lengths[b]) {
                    CHECK(y[i] == 0.0f, "padded prediction not zero");
                    continue;
                }
                se += ((double)y[i] - d.values[i]) * ((double)y[i] - d.values[i]);
                count++;
            }
    printf("  regression: loss %.6f (from predictions %.6f)\n", loss, se / count);
    CHECK(fabs(se / count - loss) < 1e-5, "predict and evaluate disagree");
    /* version 2 file: saved, loaded, same predictions */
    size_t size, written;
    OK(lstm_save_size(m, LSTM_SAVE_TRAINING_STATE, &size));
    uint8_t *buf = malloc(size);
    OK(lstm_save(m, LSTM_SAVE_TRAINING_STATE, buf, size, &written));
    uint32_t version;
    memcpy(&version, buf + 8, 4);
    CHECK(version == 2, "a model with an mse head saved as version %u", version);
    lstm_model *back = NULL;
    lstm_message msg;
    OK(lstm_load(buf, size, &back, &msg));
    lstm_config c1, c2;
    lstm_get_config(m, &c1);
    lstm_get_config(back, &c2);
    CHECK(memcmp(&c1, &c2, sizeof c1) == 0, "config changed through save/load");
    float y2[GB * GT * TV];
    OK(lstm_predict(back, &d.b, y2, GB * GT * TV));
    CHECK(memcmp(y, y2, sizeof y) == 0, "predictions changed through save/load");
    lstm_free(back);
    free(buf);
    lstm_free(m);
    /* the plain model still writes version 1 */
    m = make_model(5, 0, 4, 1, 5, 0.0f);
    CHECK(m, "create");
    OK(lstm_save_size(m, 0, &size));
    buf = malloc(size);
    OK(lstm_save(m, 0, buf, size, &written));
    memcpy(&version, buf + 8, 4);
    free(buf);
    lstm_free(m);
    CHECK(version == 1, "a plain model saved as version %u", version);
}

static uint32_t test_crc32(const uint8_t *p, size_t n) { /* bitwise, independent of serialize.c */
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return c ^ 0xFFFFFFFFu;
}

static void test_format_v2_words(void) {
    /* a version 2 file with one more config word than this build knows: accepted when the
     * word is zero, UNSUPPORTED_VERSION when it is set; a word count below 9 is CORRUPT */
    const task_case reg = {"reg", 0, LSTM_HEAD_MSE, 1, 0, LSTM_CELL_LSTM};
    lstm_model *m = make_task_model(&reg, 1, 0.0f);
    CHECK(m, "create");
    size_t size, written;
    OK(lstm_save_size(m, 0, &size));
    uint8_t *buf = malloc(size + 4);
    OK(lstm_save(m, 0, buf, size, &written));
    lstm_free(m);
    uint32_t words;
    memcpy(&words, buf + 24, 4);
    CHECK(words == sizeof(lstm_config) / 4, "stored %u config words", words);
    const size_t at = 28 + (size_t)words * 4;
    for (int variant = 0; variant < 3; variant++) {
        uint8_t *f = malloc(size + 4);
        memcpy(f, buf, at);
        uint32_t extra = variant == 1 ? 7u : 0u, count = variant == 2 ? 8u : words + 1;
        memcpy(f + at, &extra, 4);
        memcpy(f + at + 4, buf + at, size - at - 4);
        memcpy(f + 24, &count, 4);
        uint64_t total = size + 4;
        memcpy(f + 16, &total, 8);
        uint32_t crc = test_crc32(f, size);
        memcpy(f + size, &crc, 4);
        lstm_model *back = NULL;
        lstm_message msg = {{0}};
        lstm_status st = lstm_load(f, size + 4, &back, &msg);
        lstm_status want = variant == 0 ? LSTM_OK : variant == 1 ? LSTM_ERR_UNSUPPORTED_VERSION : LSTM_ERR_CORRUPT;
        printf("  variant %d: status %d (%s)\n", variant, st, msg.text);
        lstm_free(back);
        free(f);
        CHECK(st == want, "variant %d: status %d, expected %d", variant, st, want);
    }
    free(buf);
}

static void test_task_bad_arguments(void) {
    lstm_config c = {.input_size = 2, .hidden_size = 4, .num_layers = 1, .output_size = 2, .head = 2};
    lstm_model *m = NULL;
    lstm_message msg = {{0}};
    CHECK(lstm_create(&c, &m, &msg) == LSTM_ERR_INVALID_ARGUMENT && strstr(msg.text, "head must be 0 (softmax) or 1 (mse), got 2"),
          "head 2: %s", msg.text);
    c.head = 0;
    c.last_step_only = -1;
    CHECK(lstm_create(&c, &m, &msg) == LSTM_ERR_INVALID_ARGUMENT && strstr(msg.text, "last_step_only must be 0 or 1, got -1"),
          "last_step_only -1: %s", msg.text);
    c.last_step_only = 0;
    c.cell = 2;
    CHECK(lstm_create(&c, &m, &msg) == LSTM_ERR_INVALID_ARGUMENT && strstr(msg.text, "cell must be 0 (lstm) or 1 (gru), got 2"),
          "cell 2: %s", msg.text);
    c.cell = 0;
    c.recurrent_dropout = 1.0f;
    CHECK(lstm_create(&c, &m, &msg) == LSTM_ERR_INVALID_ARGUMENT && strstr(msg.text, "recurrent_dropout must be in [0, 1), got 1"),
          "recurrent_dropout 1: %s", msg.text);
    c.recurrent_dropout = NAN;
    CHECK(lstm_create(&c, &m, &msg) == LSTM_ERR_INVALID_ARGUMENT && strstr(msg.text, "recurrent_dropout"), "NaN: %s", msg.text);
    c.recurrent_dropout = 0;
    c.orthogonal_init = 2;
    CHECK(lstm_create(&c, &m, &msg) == LSTM_ERR_INVALID_ARGUMENT && strstr(msg.text, "orthogonal_init must be 0 or 1, got 2"),
          "orthogonal_init 2: %s", msg.text);
    c.orthogonal_init = 0;
    c.activation = 2;
    CHECK(lstm_create(&c, &m, &msg) == LSTM_ERR_INVALID_ARGUMENT && strstr(msg.text, "activation must be 0 (tanh) or 1 (relu), got 2"),
          "activation 2: %s", msg.text);
    c.activation = 0;
    c.cell = LSTM_CELL_GRU;
    c.cifg = 1;
    CHECK(lstm_create(&c, &m, &msg) == LSTM_ERR_INVALID_ARGUMENT && strstr(msg.text, "the GRU has neither"),
          "gru + cifg: %s", msg.text);
    c.cell = 0;
    c.cifg = 0;
    c.proj_size = 4;
    CHECK(lstm_create(&c, &m, &msg) == LSTM_ERR_INVALID_ARGUMENT && strstr(msg.text, "proj_size must be 0 or in [1, hidden_size - 1] = [1, 3], got 4"),
          "proj_size 4: %s", msg.text);
    c.proj_size = 2;
    c.cell = LSTM_CELL_GRU;
    CHECK(lstm_create(&c, &m, &msg) == LSTM_ERR_INVALID_ARGUMENT && strstr(msg.text, "PyTorch's GRU has none"), "gru + proj: %s", msg.text);
    c.cell = 0;
    c.proj_size = 0;
    c.head = LSTM_HEAD_MSE;
    OK(lstm_create(&c, &m, &msg));
    float x[2 * 3 * 2] = {0}, v[2 * 3 * 2] = {0};
    int32_t lengths[2] = {3, 0};
    lstm_batch b = {2, 3, NULL, x, NULL, NULL, lengths};
    CHECK(lstm_train_batch(m, &b, NULL) == LSTM_ERR_INVALID_ARGUMENT && strstr(lstm_error_message(m), "lengths[1] = 0 is outside [1, 3]"),
          "length 0: %s", lstm_error_message(m));
    lengths[1] = 2;
    CHECK(lstm_train_batch(m, &b, NULL) == LSTM_ERR_INVALID_ARGUMENT && strstr(lstm_error_message(m), "target_values is NULL"),
          "NULL target values: %s", lstm_error_message(m));
    b.target_values = v;
    v[4] = NAN; /* batch 0, step 2: a valid step */
    CHECK(lstm_train_batch(m, &b, NULL) == LSTM_ERR_INVALID_ARGUMENT && strstr(lstm_error_message(m), "target_values[4] is not finite"),
          "NaN target: %s", lstm_error_message(m));
    v[4] = 0;
    v[10] = NAN; /* batch 1, step 2: padding, never read */
    float loss;
    OK(lstm_train_batch(m, &b, &loss));
    CHECK(isfinite(loss), "loss %g", loss);
    int32_t stream[64] = {0};
    CHECK(lstm_train_stream(m, stream, 64, 2, 4, 1, NULL) == LSTM_ERR_STATE, "stream on a dense mse model");
    lstm_sampling s = {1, 0, 1, 0};
    int32_t tok;
    OK(lstm_infer_step(m, 0, x, NULL));
    CHECK(lstm_sample(m, &s, &tok) == LSTM_ERR_STATE && strstr(lstm_error_message(m), "softmax head"),
          "sampling an mse head: %s", lstm_error_message(m));
    double l;
    CHECK(lstm_evaluate_batch(m, &b, NULL, NULL) == LSTM_ERR_INVALID_ARGUMENT, "NULL loss accepted");
    OK(lstm_evaluate_batch(m, &b, &l, NULL));
    lstm_free(m);
}

/* ---- sampling ---- */

static void test_sampling(void) {
    lstm_model *m = make_model(6, 0, 8, 1, 6, 0.0f);
    CHECK(m, "create");
    OK(lstm_infer_reset(m));
    float logits[6];
    OK(lstm_infer_step(m, 2, NULL, logits));
    int argmax = 0;
    for (int v = 1; v < 6; v++) argmax = logits[v] > logits[argmax] ? v : argmax;
    lstm_sampling greedy = {0.0f, 0, 1.0f, 0.0f}, top1 = {1.0f, 1, 1.0f, 0.0f}, tinyp = {1.0f, 0, 1e-6f, 0.0f};
    int32_t t;
    OK(lstm_sample(m, &greedy, &t));
    CHECK(t == argmax, "temperature 0 is not argmax");
    OK(lstm_sample(m, &top1, &t));
    CHECK(t == argmax, "top_k 1 is not argmax");
    OK(lstm_sample(m, &tinyp, &t));
    CHECK(t == argmax, "tiny top_p is not argmax");
    /* top-k 2 only ever yields the two most likely */
    int second = argmax == 0 ? 1 : 0;
    for (int v = 0; v < 6; v++) if (v != argmax && logits[v] > logits[second]) second = v;
    lstm_sampling top2 = {5.0f, 2, 1.0f, 0.0f};
    int seen[6] = {0};
    for (int i = 0; i < 400; i++) { OK(lstm_sample(m, &top2, &t)); seen[t]++; }
    CHECK(seen[argmax] + seen[second] == 400 && seen[second] > 0, "top_k 2 drew others");
    /* high temperature, no filter: every token appears; the same seed gives the same draws */
    lstm_sampling hot = {50.0f, 0, 1.0f, 0.0f};
    int32_t a[64], b[64];
    lstm_sampler_seed(m, 3);
    for (int i = 0; i < 64; i++) lstm_sample(m, &hot, &a[i]);
    lstm_sampler_seed(m, 3);
    for (int i = 0; i < 64; i++) lstm_sample(m, &hot, &b[i]);
    CHECK(memcmp(a, b, sizeof a) == 0, "same seed, different samples");
    memset(seen, 0, sizeof seen);
    for (int i = 0; i < 64; i++) seen[a[i]]++;
    for (int v = 0; v < 6; v++) CHECK(seen[v] > 0, "token %d never drawn at temperature 50", v);
    lstm_free(m);
}

/* ---- kernels against double precision ---- */

static void test_scalar_kernels(void) {
    const lstm_kernels *k = &lstm_kernels_scalar;
    double worst = 0;
    for (float x = -87.0f; x <= 88.0f; x += 0.01f) {
        double e = fabs(lstm_expf(x) - exp((double)x)) / exp((double)x);
        if (e > worst) worst = e;
    }
    printf("  exp: max rel err %.2e on [-87, 88]\n", worst);
    CHECK(worst < 4e-7, "exp error %g", worst);
    double wt = 0, ws = 0;
    for (float x = -20.0f; x <= 20.0f; x += 0.001f) {
        wt = fmax(wt, fabs(lstm_tanhf(x) - tanh((double)x)));
        ws = fmax(ws, fabs(lstm_sigmoidf(x) - 1.0 / (1.0 + exp(-(double)x))));
    }
    printf("  tanh max abs err %.2e, sigmoid %.2e\n", wt, ws);
    CHECK(wt < 3e-7 && ws < 2e-7, "activation error");
    CHECK(isnan(lstm_expf(NAN)) && isnan(lstm_tanhf(NAN)) && isnan(lstm_sigmoidf(NAN)), "NaN swallowed");
    /* gemm_panels on shapes around multiples of 4 and 8 and across a K block, both operand
     * forms, against a double reference */
    int sizes[] = {1, 3, 4, 5, 8, 9, 17, 300};
    for (int a = 0; a < 8; a++)
        for (int b = 0; b < 8; b++)
            for (int trans = 0; trans < 2; trans++) {
                int M = sizes[a] % 100, N = sizes[b] % 100, K = sizes[(a + b) % 8];
                float *A = malloc(sizeof(float) * M * K), *B = malloc(sizeof(float) * N * K),
                      *P = malloc(sizeof(float) * LSTM_PANEL_FLOATS(K, N)), *C = calloc((size_t)M * N, sizeof(float));
                for (int i = 0; i < M * K; i++) A[i] = (float)(urand() - 0.5);
                for (int i = 0; i < N * K; i++) B[i] = (float)(urand() - 0.5);
                /* B (N, K) rows, packed as B^T (trans 1); A (M, K) or, trans, read as (K, M)^T */
                k->pack_panels(K, N, B, K, 1, P, LSTM_PANEL_WIDTH(N), 0);
                k->gemm_panels(M, N, K, A, trans ? M : K, trans, P, LSTM_PANEL_WIDTH(N), 0, C, N);
                for (int i = 0; i < M; i++)
                    for (int j = 0; j < N; j++) {
                        double s = 0;
                        for (int q = 0; q < K; q++) s += (double)(trans ? A[q * M + i] : A[i * K + q]) * B[j * K + q];
                        CHECK(fabs(s - C[i * N + j]) < 1e-5 * K, "gemm_panels %dx%dx%d trans %d", M, N, K, trans);
                    }
                free(A); free(B); free(P); free(C);
            }
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* lines reach CI logs even if a sanitizer ends the run */
    printf("lstm-wasm native tests (%s kernels)\n", lstm_kernels_best()->impl);
    run("gradient check, token model, every tensor", test_gradcheck_tokens);
    run("gradient check, dense model and input gradients", test_gradcheck_dense_and_inputs);
    run("dropout masks repeatable in gradients", test_dropout_gradients);
    run("training learns a periodic sequence", test_training_learns);
    run("sgd, rmsprop and adam fit a batch", test_optimizers);
    run("non-finite step is skipped; the third in a row fails", test_non_finite_step_is_skipped);
    run("layer norm: forget_bias sets the forget gates' mean pre-activation", test_layer_norm_forget_bias);
    run("save/load resumes training bit-identically", test_save_resume_exact);
    run("every truncation and byte flip rejected", test_corrupt_buffers);
    run("quantised files: smaller, close, inference only, re-saved exactly", test_quantized);
    run("forged sizes rejected before allocation", test_forged_sizes);
    run("bad arguments give statuses and messages", test_bad_arguments);
    run("sampling: argmax, top-k, top-p, seeds", test_sampling);
    run("scalar kernels against double precision", test_scalar_kernels);
    run("gradient check, task heads and masking", test_task_gradients);
    run("masked batch carries the state of each sequence's last step", test_masked_state_carry);
    run("inference steps match the training forward, lstm and gru", test_cell_inference_matches_training);
    run("gradient check under dropout and variational recurrent dropout", test_dropout_gradcheck);
    run("gradient check, peephole, cifg and relu variants", test_variant_gradients);
    run("orthogonal initialisation of the recurrent weights", test_orthogonal_init);
    run("bidirectional: gradients, what each direction reads, whole sequences only", test_bidirectional);
    run("predict and evaluate_batch agree; version 2 file", test_predict_and_evaluate);
    run("version 2 config words: unknown zero accepted, set refused", test_format_v2_words);
    run("task options and batches: bad values named", test_task_bad_arguments);
    printf("%d passed, %d failed\n", g_passed, g_failed);
    return g_failed ? 1 : 0;
}
