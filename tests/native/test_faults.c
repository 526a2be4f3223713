/* test_faults.c - allocation failure at every point (as SQLite's tests do): make the 1st,
 * 2nd, 3rd ... allocation of create, load, a training step, evaluation and the setters fail,
 * until the operation completes. Every failure must be reported as LSTM_ERR_OUT_OF_MEMORY,
 * leave the model as it was, and leak nothing (LeakSanitizer checks at exit).
 * Built with -DLSTM_FAULT_INJECTION, which routes the core's malloc/calloc through here. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../include/lstm.h"

/* Test-only global: the core has no global state, its allocator hook in this build does. */
static long g_countdown = -1; /* -1: never fail; n: fail the allocation after n more */
static long g_failures;

static int should_fail(void) {
    if (g_countdown < 0) return 0;
    if (g_countdown == 0) {
        g_countdown = -1; /* one failure per attempt: later allocations of the same call succeed */
        g_failures++;
        return 1;
    }
    g_countdown--;
    return 0;
}

void *lstm_test_malloc(size_t size) { return should_fail() ? NULL : malloc(size); }
void *lstm_test_calloc(size_t count, size_t size) { return should_fail() ? NULL : calloc(count, size); }

static int g_bad;
#define EXPECT(cond, ...) do { if (!(cond)) { printf("  FAIL %s:%d: ", __FILE__, __LINE__); printf(__VA_ARGS__); printf("\n"); g_bad++; } } while (0)

static const lstm_config CFG = {.input_vocab = 7, .hidden_size = 6, .num_layers = 2, .output_size = 7,
                                .seed = 1, .dropout = 0.1f};

typedef lstm_status (*operation)(lstm_model **m, void *ctx);

/* Run op with the k-th allocation failing, k = 0, 1, 2, ... until it succeeds. Returns the
 * number of injected failures. check() verifies the model after each failure. */
static int sweep(const char *name, operation op, void *ctx, lstm_model **m,
                 void (*check)(lstm_model *m, void *ctx)) {
    int injected = 0;
    for (long k = 0; k < 1000; k++) {
        g_countdown = k;
        long before = g_failures;
        lstm_status st = op(m, ctx);
        int failed_alloc = g_failures > before;
        g_countdown = -1;
        if (!failed_alloc) {
            EXPECT(st == LSTM_OK, "%s: status %d without an injected failure", name, st);
            printf("  %-28s %d allocation failures injected, each reported, then success\n", name, injected);
            return injected;
        }
        injected++;
        EXPECT(st == LSTM_ERR_OUT_OF_MEMORY, "%s: allocation %ld failed but status is %d", name, k, st);
        if (check) check(*m, ctx);
    }
    EXPECT(0, "%s never completed", name);
    return injected;
}

static lstm_status op_create(lstm_model **m, void *ctx) {
    (void)ctx;
    lstm_message msg;
    lstm_status st = lstm_create(&CFG, m, &msg);
    if (st == LSTM_OK) return st;
    EXPECT(*m == NULL && msg.text[0], "create failed without a message or left a model");
    return st;
}

typedef struct { const uint8_t *buf; size_t len; } blob;

static lstm_status op_load(lstm_model **m, void *ctx) {
    blob *b = ctx;
    lstm_message msg;
    lstm_status st = lstm_load(b->buf, b->len, m, &msg);
    if (st != LSTM_OK) EXPECT(*m == NULL, "load failed but returned a model");
    return st;
}

typedef struct { float *params; size_t n; int32_t tokens[12], targets[12]; } train_ctx;

static lstm_status op_train(lstm_model **m, void *ctx) {
    train_ctx *c = ctx;
    lstm_batch b = {3, 4, c->tokens, NULL, c->targets, NULL, NULL};
    return lstm_train_batch(*m, &b, NULL);
}

static void check_unchanged(lstm_model *m, void *ctx) {
    train_ctx *c = ctx;
    EXPECT(memcmp(lstm_parameters(m), c->params, c->n * sizeof(float)) == 0, "parameters changed by a failed step");
    EXPECT(lstm_step_count(m) == 0, "a failed step was counted");
}

static lstm_status op_evaluate(lstm_model **m, void *ctx) {
    train_ctx *c = ctx;
    double loss;
    return lstm_evaluate_stream(*m, c->tokens, 12, 2, 5, &loss);
}

/* a dense mse model with a last-step head, trained and predicted on a masked batch */
static const lstm_config TASK_CFG = {.input_size = 2, .hidden_size = 5, .num_layers = 2, .output_size = 3,
                                     .seed = 3, .head = LSTM_HEAD_MSE, .last_step_only = 1};
/* the same, bidirectional: the reverse units' buffers are allocated too */
static const lstm_config TASK_CFG_BI = {.input_size = 2, .hidden_size = 5, .num_layers = 2, .output_size = 3,
                                        .seed = 3, .head = LSTM_HEAD_MSE, .last_step_only = 1,
                                        .bidirectional = 1};

static lstm_status op_task(lstm_model **m, void *ctx) {
    const lstm_config *cfg = ctx;
    static const float x[3 * 4 * 2] = {0.5f, -1, 1, 0, 0.25f, 0.5f, -0.5f, 1, 1, 1, 0, 0,
                                       -1, 0.5f, 0.5f, 0.5f, 1, -1, 0, 1, 0.5f, 0, 0, 0};
    static const float y[3 * 3] = {1, 0, -1, 0.5f, 0.5f, 0, -1, 1, 0};
    static const int32_t lengths[3] = {4, 2, 3};
    lstm_batch b = {3, 4, NULL, x, NULL, y, lengths};
    float out[3 * 3];
    lstm_message msg;
    lstm_status st = *m ? LSTM_OK : lstm_create(cfg, m, &msg);
    if (st == LSTM_OK) st = lstm_train_batch(*m, &b, NULL);
    if (st == LSTM_OK) st = lstm_predict(*m, &b, out, 9);
    return st;
}

/* a trace allocates its chunk's activations: refused cleanly, nothing of the model moved */
static lstm_status op_trace(lstm_model **m, void *ctx) {
    train_ctx *c = ctx;
    float h[2 * 12 * 6], out[12 * 7];
    const lstm_trace_request r = {12, c->tokens, NULL, 3, h, 2 * 12 * 6, NULL, 0, NULL, 0, out, 12 * 7};
    return lstm_trace(*m, &r);
}

/* several samples allocate their rows: refused cleanly, then they run */
static lstm_status op_samples(lstm_model **m, void *ctx) {
    train_ctx *c = ctx;
    static int n = 3;
    const lstm_sampling s = {1.0f, 0, 1.0f, 1.2f};
    int32_t out[5 * 4];
    lstm_status st = lstm_samples_start(*m, n, 0, 9, c->tokens, 4);
    if (st == LSTM_OK) st = lstm_samples_generate(*m, &s, 4, out);
    if (st == LSTM_OK) n++; /* the next sweep allocates again, for another n */
    return st;
}

static lstm_status op_setters(lstm_model **m, void *ctx) {
    (void)ctx;
    static const uint32_t vocab[7] = {'a', 'b', 'c', 'd', 'e', 'f', 'g'};
    lstm_status st = lstm_set_vocabulary(*m, vocab, 7);
    if (st == LSTM_OK) st = lstm_set_metadata(*m, (const uint8_t *)"{}", 2);
    lstm_optimizer o;
    lstm_optimizer_defaults(&o);
    o.type = LSTM_OPTIMIZER_SGD;
    if (st == LSTM_OK) st = lstm_set_optimizer(*m, &o);
    return st;
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("lstm-wasm allocation fault injection\n");
    int total = 0;
    lstm_model *m = NULL;
    total += sweep("create", op_create, NULL, &m, NULL);

    train_ctx tc = {0};
    for (int i = 0; i < 12; i++) { tc.tokens[i] = i % 7; tc.targets[i] = (i + 1) % 7; }
    tc.n = lstm_parameter_count(m);
    tc.params = malloc(tc.n * sizeof(float));
    memcpy(tc.params, lstm_parameters(m), tc.n * sizeof(float));
    total += sweep("first training step", op_train, &tc, &m, check_unchanged);
    total += sweep("evaluate", op_evaluate, &tc, &m, NULL);
    total += sweep("trace", op_trace, &tc, &m, NULL);
    total += sweep("samples: start, generate", op_samples, &tc, &m, NULL);
    total += sweep("samples again, more of them", op_samples, &tc, &m, NULL);
    total += sweep("vocabulary, metadata, optimizer", op_setters, NULL, &m, NULL);

    lstm_model *task = NULL;
    total += sweep("task model: create, masked mse step, predict", op_task, (void *)&TASK_CFG, &task, NULL);
    lstm_free(task);
    task = NULL;
    total += sweep("bidirectional task model: create, masked mse step, predict", op_task, (void *)&TASK_CFG_BI,
                   &task, NULL);
    lstm_free(task);

    size_t len;
    lstm_save_size(m, LSTM_SAVE_TRAINING_STATE, &len);
    uint8_t *buf = malloc(len);
    EXPECT(lstm_save(m, LSTM_SAVE_TRAINING_STATE, buf, len, &len) == LSTM_OK, "save");
    blob b = {buf, len};
    lstm_model *loaded = NULL;
    total += sweep("load with training state", op_load, &b, &loaded, NULL);
    EXPECT(loaded && lstm_vocabulary_size(loaded) == 7, "loaded model incomplete");
    lstm_free(loaded);
    free(buf);
    /* a quantised file: the int8 matrices have an allocation of their own */
    lstm_save_size(m, LSTM_SAVE_INT8, &len);
    buf = malloc(len);
    EXPECT(lstm_save(m, LSTM_SAVE_INT8, buf, len, &len) == LSTM_OK, "save int8");
    b = (blob){buf, len};
    loaded = NULL;
    total += sweep("load a quantised file", op_load, &b, &loaded, NULL);
    EXPECT(loaded && lstm_parameters(loaded) == NULL, "loaded model is not quantised");
    lstm_free(loaded);
    free(buf);
    free(tc.params);
    lstm_free(m);
    printf("%d faults injected in all, %d unexpected outcomes\n", total, g_bad);
    printf("%d passed, %d failed\n", g_bad ? 0 : 1, g_bad ? 1 : 0);
    return g_bad ? 1 : 0;
}
