/* test_core.c - native tests of the C core (built with gcc under ASan and UBSan): gradients by
 * finite differences, training, initialisation, bad arguments, sampling and the scalar kernels
 * against double-precision references. The file is tested by test_file.c, task heads and
 * masking by test_tasks.c, cell variants and bidirectional models by test_variants.c. */
#include "check.h"
#include "../../src/fastmath.h"

/* tests/kernel_check.c: test entry points, not public API */
const float *lstm_test_gate_activations(const lstm_model *m, int u);

/* ---- gradient checks ---- */

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
    printf("lstm-wasm native tests: gradients, training, arguments, sampling, kernels (%s kernels)\n", lstm_kernels_best()->impl);
    run("gradient check, token model, every tensor", test_gradcheck_tokens);
    run("gradient check, dense model and input gradients", test_gradcheck_dense_and_inputs);
    run("dropout masks repeatable in gradients", test_dropout_gradients);
    run("training learns a periodic sequence", test_training_learns);
    run("sgd, rmsprop and adam fit a batch", test_optimizers);
    run("non-finite step is skipped; the third in a row fails", test_non_finite_step_is_skipped);
    run("layer norm: forget_bias sets the forget gates' mean pre-activation", test_layer_norm_forget_bias);
    run("bad arguments give statuses and messages", test_bad_arguments);
    run("sampling: argmax, top-k, top-p, seeds", test_sampling);
    run("scalar kernels against double precision", test_scalar_kernels);
    run("orthogonal initialisation of the recurrent weights", test_orthogonal_init);
    return check_summary();
}
