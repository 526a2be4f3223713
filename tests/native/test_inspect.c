/* test_inspect.c - native tests (ASan, UBSan) of the calls that look inside a model and branch
 * its generation: lstm_trace against the batched forward and lstm_predict, bit for bit, over
 * chunk boundaries, for every cell and both directions; its bounds checks; and that it leaves
 * the inference and training states as they were. */
#include "check.h"

/* tests/kernel_check.c: the gate activations of the last batched forward (test builds only) */
const float *lstm_test_gate_activations(const lstm_model *m, int u);

/* here a failed call also prints the model's message */
#undef OK
#define OK(call) CHECK((call) == LSTM_OK, "%s failed: %s", #call, m ? lstm_error_message(m) : "")

static lstm_model *create(lstm_config c) {
    lstm_model *m = NULL;
    lstm_message msg;
    if (lstm_create(&c, &m, &msg) != LSTM_OK) printf("  create failed: %s\n", msg.text);
    return m;
}

static int gate_count(const lstm_config *c) { return c->cell == LSTM_CELL_GRU || c->cifg ? 3 : 4; }
static int state_size(const lstm_config *c) { return c->proj_size ? c->proj_size : c->hidden_size; }

/* ---- trace ---- */

typedef struct {
    const char *name;
    lstm_config c;
} trace_case;

/* The traced buffers of a request for every layer. */
typedef struct {
    lstm_trace_request r;
    int U, ng, S, H, V, T;
} traced;

static int trace_all(lstm_model *m, const lstm_config *c, int T, const int32_t *tokens, const float *inputs,
                     traced *t) {
    const int D = c->bidirectional ? 2 : 1;
    t->T = T, t->U = c->num_layers * D, t->ng = gate_count(c), t->S = state_size(c), t->H = c->hidden_size;
    t->V = c->output_size;
    const size_t nh = (size_t)t->U * T * t->S, nc = (size_t)t->U * T * t->H, ng = nc * t->ng, no = (size_t)T * t->V;
    t->r = (lstm_trace_request){T, tokens, inputs, (1u << c->num_layers) - 1, malloc(nh * 4), (uint32_t)nh,
                                c->cell == LSTM_CELL_GRU ? NULL : malloc(nc * 4), (uint32_t)nc, malloc(ng * 4), (uint32_t)ng,
                                malloc(no * 4), (uint32_t)no};
    return lstm_trace(m, &t->r);
}

static void traced_free(traced *t) {
    free(t->r.h);
    free(t->r.c);
    free(t->r.gates);
    free(t->r.outputs);
}

/* One case: T steps (over two chunk boundaries) through lstm_trace and through lstm_predict on
 * a batch of one; the outputs and every unit's gates must be the same floats (the same
 * kernels on the same rows: a chunk's carried state is the batch's own), and the traced h and c
 * must follow from the traced gates by the cell's equations (a step or a gate out of place
 * breaks them by far more than rounding). */
static void check_trace_case(const trace_case *tc, int quantize) {
    enum { T = 300 };
    lstm_config c = tc->c;
    lstm_model *m = create(c);
    CHECK(m, "%s: create", tc->name);
    if (quantize) { /* through an int8 file: the trace then runs on the int8 kernels */
        size_t len;
        lstm_save_size(m, LSTM_SAVE_INT8, &len);
        uint8_t *buf = malloc(len);
        lstm_message msg;
        lstm_model *q = NULL;
        OK(lstm_save(m, LSTM_SAVE_INT8, buf, len, &len));
        lstm_status st = lstm_load(buf, len, &q, &msg);
        free(buf);
        lstm_free(m);
        m = q;
        CHECK(st == LSTM_OK, "%s: load int8: %s", tc->name, msg.text);
    }
    int32_t tokens[T];
    static float inputs[T * 8];
    const int X = c.input_vocab ? 0 : c.input_size;
    for (int t = 0; t < T; t++) tokens[t] = c.input_vocab ? (int32_t)(urand() * c.input_vocab) : 0;
    for (int i = 0; i < T * X; i++) inputs[i] = (float)(2 * urand() - 1);
    traced tr;
    lstm_status st = trace_all(m, &c, T, c.input_vocab ? tokens : NULL, c.input_vocab ? NULL : inputs, &tr);
    CHECK(st == LSTM_OK, "%s: trace: %s", tc->name, lstm_error_message(m));
    const int V = tr.V, H = tr.H, S = tr.S, ng = tr.ng, D = c.bidirectional ? 2 : 1;
    float *p = malloc((size_t)T * V * sizeof(float));
    lstm_batch b = {1, T, c.input_vocab ? tokens : NULL, c.input_vocab ? NULL : inputs, NULL, NULL, NULL};
    lstm_status pst = lstm_predict(m, &b, p, (size_t)T * V);
    int out_diff = 0, gate_diff = 0;
    for (int i = 0; i < T * V && !c.last_step_only; i++) out_diff += p[i] != tr.r.outputs[i];
    for (int u = 0; u < tr.U; u++) {
        const float *g = lstm_test_gate_activations(m, u); /* (T, G) in the unit's own time order */
        const int reverse = u % D == 1;
        for (int t = 0; t < T; t++)
            for (int q = 0; q < ng; q++)
                for (int j = 0; j < H; j++) {
                    const int row = reverse ? T - 1 - t : t;
                    gate_diff += g[(size_t)row * ng * H + q * H + j] != tr.r.gates[(((size_t)u * ng + q) * T + t) * H + j];
                }
    }
    /* the equations, from the traced values alone (no projection, layer norm or relu here:
     * those cases are covered by the bitwise comparisons) */
    double eq_err = 0;
    const int plain = !c.proj_size && !c.layer_norm && !c.activation && !c.cifg && !c.peephole &&
                      !c.recurrent_activation;
    for (int u = 0; plain && u < tr.U; u++) {
        const int reverse = u % D == 1;
        for (int i = 0; i < T; i++) {
            const int t = reverse ? T - 1 - i : i, prev = reverse ? t + 1 : t - 1; /* the unit's previous step */
            for (int j = 0; j < H; j++) {
                const float *gt = tr.r.gates;
                const size_t at = (size_t)t * H + j;
#define GATE(q) gt[(((size_t)u * ng + (q)) * T) * H + at]
                const float hp = i == 0 ? 0.0f : tr.r.h[((size_t)u * T + prev) * S + j];
                const float h = tr.r.h[((size_t)u * T + t) * S + j];
                if (c.cell == LSTM_CELL_GRU) {
                    eq_err = fmax(eq_err, fabs(h - ((1 - GATE(1)) * GATE(2) + GATE(1) * hp)));
                } else {
                    const float cp = i == 0 ? 0.0f : tr.r.c[((size_t)u * T + prev) * H + j];
                    const float cn = tr.r.c[((size_t)u * T + t) * H + j];
                    eq_err = fmax(eq_err, fabs(cn - (GATE(1) * cp + GATE(0) * GATE(2))));
                    eq_err = fmax(eq_err, fabs(h - GATE(3) * tanh(cn)));
                }
#undef GATE
            }
        }
    }
    printf("  %-36s outputs %s, gates %s the batch's; equations %s %.1e\n", tc->name,
           c.last_step_only ? "(last step: below)" : out_diff ? "DIFFER from predict's" : "equal predict's",
           gate_diff ? "DIFFER from" : "equal", plain ? "within" : "not checked", eq_err);
    free(p);
    traced_free(&tr);
    lstm_free(m);
    CHECK(pst == LSTM_OK, "predict");
    CHECK(out_diff == 0, "%s: %d outputs differ from lstm_predict's", tc->name, out_diff);
    CHECK(gate_diff == 0, "%s: %d gate values differ from the batched forward's", tc->name, gate_diff);
    CHECK(eq_err < 1e-5, "%s: traced h and c do not follow from the traced gates (%g)", tc->name, eq_err);
}

static void test_trace_matches_forward(void) {
    static const trace_case cases[] = {
        {"lstm, tokens, 2 layers", {.input_vocab = 13, .hidden_size = 9, .num_layers = 2, .output_size = 13, .seed = 1}},
        {"lstm, dense, mse head", {.input_size = 5, .hidden_size = 7, .num_layers = 2, .output_size = 3, .seed = 2,
                                   .head = LSTM_HEAD_MSE}},
        {"lstm peephole cifg relu", {.input_vocab = 6, .hidden_size = 6, .num_layers = 2, .output_size = 6, .seed = 3,
                                     .peephole = 1, .cifg = 1, .activation = LSTM_ACTIVATION_RELU}},
        {"lstm hard sigmoid, projection", {.input_vocab = 6, .hidden_size = 10, .num_layers = 3, .output_size = 6,
                                           .seed = 4, .proj_size = 4, .recurrent_activation = 1}},
        {"lstm layer norm", {.input_vocab = 6, .hidden_size = 8, .num_layers = 2, .output_size = 6, .seed = 5,
                             .layer_norm = 1}},
        {"gru, tokens", {.input_vocab = 7, .hidden_size = 12, .num_layers = 2, .output_size = 7, .seed = 6,
                         .cell = LSTM_CELL_GRU}},
        {"gru reset before, dense", {.input_size = 3, .hidden_size = 5, .num_layers = 2, .output_size = 4, .seed = 7,
                                     .cell = LSTM_CELL_GRU, .gru_reset_before = 1}},
        {"bidirectional lstm, tokens", {.input_vocab = 8, .hidden_size = 6, .num_layers = 2, .output_size = 8, .seed = 8,
                                        .bidirectional = 1}},
        {"bidirectional gru, dense, last step", {.input_size = 4, .hidden_size = 5, .num_layers = 2, .output_size = 3,
                                                 .seed = 9, .cell = LSTM_CELL_GRU, .bidirectional = 1,
                                                 .head = LSTM_HEAD_MSE, .last_step_only = 1}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const int before = g_failed;
        check_trace_case(&cases[i], 0); /* last_step_only: outputs compared in test_trace_last_step_head */
        if (g_failed != before) return;
    }
    /* a quantised model traces on its int8 kernels, the same floats as its predict */
    const trace_case q = {"quantised lstm with projection", {.input_vocab = 9, .hidden_size = 16, .num_layers = 2,
                                                             .output_size = 9, .seed = 11, .proj_size = 5}};
    check_trace_case(&q, 1);
}

static void test_trace_last_step_head(void) {
    /* a last_step_only model: the head at the last traced step is predict's single output */
    enum { T = 40 };
    const lstm_config c = {.input_size = 4, .hidden_size = 5, .num_layers = 2, .output_size = 3, .seed = 9,
                           .cell = LSTM_CELL_GRU, .head = LSTM_HEAD_MSE, .last_step_only = 1};
    lstm_model *m = create(c);
    CHECK(m, "create");
    float x[T * 4], out[3], traced_out[T * 3];
    for (int i = 0; i < T * 4; i++) x[i] = (float)(2 * urand() - 1);
    lstm_batch b = {1, T, NULL, x, NULL, NULL, NULL};
    OK(lstm_predict(m, &b, out, 3));
    lstm_trace_request r = {T, NULL, x, 0, NULL, 0, NULL, 0, NULL, 0, traced_out, T * 3};
    OK(lstm_trace(m, &r));
    for (int v = 0; v < 3; v++) CHECK(out[v] == traced_out[(T - 1) * 3 + v], "output %d: %g vs %g", v, out[v], traced_out[(T - 1) * 3 + v]);
    lstm_free(m);
}

static void test_trace_leaves_state(void) {
    /* two identical models take the same inference steps and training steps; one also traces in
     * between: its next logits and next loss must be the same floats */
    const lstm_config c = {.input_vocab = 10, .hidden_size = 16, .num_layers = 2, .output_size = 10, .seed = 3,
                           .dropout = 0.2f};
    lstm_model *a = create(c), *m = create(c);
    CHECK(a && m, "create");
    int32_t tokens[4 * 9], targets[4 * 9], seq[200];
    for (int i = 0; i < 36; i++) tokens[i] = i % 10, targets[i] = (i * 3) % 10;
    for (int i = 0; i < 200; i++) seq[i] = (i * 7) % 10;
    lstm_batch b = {4, 9, tokens, NULL, targets, NULL, NULL};
    float la[2], lm[2], ya[10], ym[10];
    OK(lstm_train_batch(a, &b, &la[0]));
    OK(lstm_train_batch(m, &b, &lm[0]));
    OK(lstm_infer_reset(a));
    OK(lstm_infer_reset(m));
    OK(lstm_infer_step(a, 3, NULL, NULL));
    OK(lstm_infer_step(m, 3, NULL, NULL));
    float h[2 * 200 * 16];
    lstm_trace_request r = {200, seq, NULL, 3, h, 2 * 200 * 16, NULL, 0, NULL, 0, NULL, 0};
    OK(lstm_trace(m, &r));
    OK(lstm_infer_step(a, 4, NULL, ya));
    OK(lstm_infer_step(m, 4, NULL, ym));
    OK(lstm_train_batch(a, &b, &la[1]));
    OK(lstm_train_batch(m, &b, &lm[1]));
    CHECK(memcmp(ya, ym, sizeof ya) == 0, "the inference state moved");
    CHECK(la[1] == lm[1], "the training state moved: loss %.9g vs %.9g", lm[1], la[1]);
    int32_t ga[30], gm[30];
    const lstm_sampling s = {1.0f, 0, 1.0f, 0.0f};
    OK(lstm_generate(a, NULL, 0, &s, 30, ga));
    OK(lstm_generate(m, NULL, 0, &s, 30, gm));
    CHECK(memcmp(ga, gm, sizeof ga) == 0, "the sampler moved");
    lstm_free(a);
    lstm_free(m);
}

static void test_trace_bad_requests(void) {
    const lstm_config c = {.input_vocab = 5, .hidden_size = 4, .num_layers = 2, .output_size = 5, .seed = 1};
    const lstm_config g = {.input_size = 2, .hidden_size = 4, .num_layers = 1, .output_size = 2, .seed = 1,
                           .cell = LSTM_CELL_GRU};
    lstm_model *m = create(c), *gru = create(g);
    CHECK(m && gru, "create");
    int32_t tok[6] = {0, 1, 2, 3, 4, 0};
    float h[2 * 6 * 4], cs[2 * 6 * 4], gates[2 * 4 * 6 * 4], out[6 * 5], x[12] = {0};
    const lstm_trace_request good = {6, tok, NULL, 3, h, 48, cs, 48, gates, 192, out, 30};
    OK(lstm_trace(m, &good));
    struct { const char *what; lstm_trace_request r; lstm_status want; const char *says; } bad[] = {
        {"steps 0", {0, tok, NULL, 3, h, 48, cs, 48, gates, 192, out, 30}, LSTM_ERR_INVALID_ARGUMENT, "steps must be in [1, 65536], got 0"},
        {"steps above the limit", {LSTM_MAX_STEPS + 1, tok, NULL, 3, NULL, 0, NULL, 0, NULL, 0, NULL, 0}, LSTM_ERR_INVALID_ARGUMENT, "got 65537"},
        {"a third layer", {6, tok, NULL, 7, h, 48, cs, 48, gates, 192, out, 30}, LSTM_ERR_INVALID_ARGUMENT, "layers 0x7"},
        {"h one float short", {6, tok, NULL, 3, h, 47, cs, 48, gates, 192, out, 30}, LSTM_ERR_BUFFER_TOO_SMALL, "h holds 47 floats, the trace needs 48"},
        {"c short", {6, tok, NULL, 3, h, 48, cs, 40, gates, 192, out, 30}, LSTM_ERR_BUFFER_TOO_SMALL, "c holds 40"},
        {"gates short for 2 layers", {6, tok, NULL, 3, h, 48, cs, 48, gates, 96, out, 30}, LSTM_ERR_BUFFER_TOO_SMALL, "gates holds 96 floats, the trace needs 192"},
        {"outputs short", {6, tok, NULL, 3, h, 48, cs, 48, gates, 192, out, 29}, LSTM_ERR_BUFFER_TOO_SMALL, "outputs holds 29"},
        {"no tokens", {6, NULL, NULL, 3, h, 48, cs, 48, gates, 192, out, 30}, LSTM_ERR_INVALID_ARGUMENT, "tokens is NULL"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const lstm_status st = lstm_trace(m, &bad[i].r);
        CHECK(st == bad[i].want && strstr(lstm_error_message(m), bad[i].says), "%s: status %d, message \"%s\"",
              bad[i].what, st, lstm_error_message(m));
    }
    tok[4] = 5;
    CHECK(lstm_trace(m, &good) == LSTM_ERR_TOKEN_RANGE && strstr(lstm_error_message(m), "tokens[4] = 5 is outside [0, 5)"),
          "token range: %s", lstm_error_message(m));
    tok[4] = -1;
    CHECK(lstm_trace(m, &good) == LSTM_ERR_TOKEN_RANGE, "negative token");
    tok[4] = 4;
    CHECK(lstm_trace(m, NULL) == LSTM_ERR_INVALID_ARGUMENT, "NULL request");
    CHECK(lstm_trace(NULL, &good) == LSTM_ERR_INVALID_ARGUMENT, "NULL model");
    /* only the recorded layers count: layer 1 alone needs half the buffers */
    const lstm_trace_request second = {6, tok, NULL, 2, h, 24, cs, 24, gates, 96, NULL, 0};
    OK(lstm_trace(m, &second));
    /* the GRU has no c; dense inputs must be finite */
    lstm_trace_request gr = {6, NULL, x, 1, h, 24, cs, 24, gates, 72, NULL, 0};
    CHECK(lstm_trace(gru, &gr) == LSTM_ERR_INVALID_ARGUMENT && strstr(lstm_error_message(gru), "c must be NULL"),
          "gru c: %s", lstm_error_message(gru));
    gr.c = NULL;
    x[5] = NAN;
    CHECK(lstm_trace(gru, &gr) == LSTM_ERR_INVALID_ARGUMENT && strstr(lstm_error_message(gru), "inputs[5] is not finite"),
          "non-finite input: %s", lstm_error_message(gru));
    x[5] = 0.5f;
    CHECK(lstm_trace(gru, &gr) == LSTM_OK, "gru trace after the errors: %s", lstm_error_message(gru));
    lstm_free(m);
    lstm_free(gru);
}

/* ---- the inference state ---- */

static uint8_t *save_state(lstm_model *m, size_t *len) {
    if (lstm_infer_state_size(m, len) != LSTM_OK) return NULL;
    uint8_t *buf = malloc(*len);
    size_t written = 0;
    if (buf && (lstm_infer_state_save(m, buf, *len, &written) != LSTM_OK || written != *len)) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* CRC-32 (IEEE), bit by bit: the test's own, to forge a valid checksum over edited bytes */
static void reseal(uint8_t *buf, size_t len) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i + 4 < len; i++) {
        c ^= buf[i];
        for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0xEDB88320u : c >> 1;
    }
    c ^= 0xFFFFFFFFu;
    memcpy(buf + len - 4, &c, 4);
}

static void test_state_branches(void) {
    /* save a point of a generation, go on, come back: the same tokens again, without a new seed
     * (the sampler's state travels) and with one; into another model of the same shape too */
    const lstm_config c = {.input_vocab = 17, .hidden_size = 20, .num_layers = 2, .output_size = 17, .seed = 4,
                           .init_scale = 1.0f};
    lstm_model *m = create(c), *other = create((lstm_config){.input_vocab = 17, .hidden_size = 20, .num_layers = 2,
                                                             .output_size = 17, .seed = 99, .init_scale = 1.0f});
    CHECK(m && other, "create");
    const lstm_sampling s = {1.0f, 0, 1.0f, 0.0f};
    const int32_t prompt[5] = {1, 2, 3, 4, 5};
    int32_t first[40], again[40], seeded[2][40], other_out[2][40];
    OK(lstm_sampler_seed(m, 11));
    OK(lstm_infer_reset(m));
    OK(lstm_generate(m, prompt, 5, &s, 10, first));
    size_t len;
    uint8_t *state = save_state(m, &len);
    CHECK(state, "save: %s", lstm_error_message(m));
    OK(lstm_generate(m, NULL, 0, &s, 40, first));
    OK(lstm_infer_reset(m)); /* somewhere else entirely */
    OK(lstm_generate(m, prompt, 2, &s, 7, again));
    OK(lstm_infer_state_load(m, state, len));
    OK(lstm_generate(m, NULL, 0, &s, 40, again));
    CHECK(memcmp(first, again, sizeof first) == 0, "the restored state generated other tokens");
    for (int k = 0; k < 2; k++) {
        OK(lstm_infer_state_load(m, state, len));
        OK(lstm_sampler_seed(m, 5));
        OK(lstm_generate(m, NULL, 0, &s, 40, seeded[k]));
        OK(lstm_infer_state_load(other, state, len));
        OK(lstm_sampler_seed(other, 5));
        OK(lstm_generate(other, NULL, 0, &s, 40, other_out[k]));
    }
    CHECK(memcmp(seeded[0], seeded[1], sizeof seeded[0]) == 0, "the same seed after a restore wrote other tokens");
    CHECK(memcmp(other_out[0], other_out[1], sizeof other_out[0]) == 0, "a state loaded into a second model");
    CHECK(memcmp(seeded[0], other_out[0], sizeof other_out[0]) != 0, "another model's weights made no difference");
    CHECK(memcmp(seeded[0], first, sizeof first) != 0, "reseeding made no difference");
    /* saving what was loaded gives the same bytes back */
    OK(lstm_infer_state_load(m, state, len));
    size_t len2;
    uint8_t *state2 = save_state(m, &len2);
    CHECK(state2 && len2 == len && memcmp(state, state2, len) == 0, "load then save changed the bytes");
    printf("  %zu bytes for 2 x 20 over 17 tokens; 40 tokens after a restore: the same, reseeded or not\n", len);
    free(state);
    free(state2);
    lstm_free(m);
    lstm_free(other);
}

static void test_state_refused(void) {
    /* every truncation, a flipped bit in every byte, another shape, a model file, a bidirectional
     * model: each refused with its status, and the model's state as it was */
    const lstm_config c = {.input_vocab = 9, .hidden_size = 6, .num_layers = 2, .output_size = 9, .seed = 2,
                           .proj_size = 4};
    lstm_model *m = create(c);
    CHECK(m, "create");
    const int32_t prompt[3] = {1, 5, 7};
    const lstm_sampling s = {1.0f, 0, 1.0f, 0.0f};
    int32_t out[4];
    OK(lstm_generate(m, prompt, 3, &s, 4, out));
    size_t len;
    uint8_t *state = save_state(m, &len), *copy = malloc(len);
    CHECK(state && copy, "save");
    int refused[12] = {0};
    for (size_t n = 0; n < len; n++) {
        const lstm_status st = lstm_infer_state_load(m, state, n);
        CHECK(st == LSTM_ERR_TRUNCATED, "%zu of %zu bytes: status %d (%s)", n, len, st, lstm_error_message(m));
    }
    for (size_t i = 0; i < len; i++)
        for (int bit = 0; bit < 8; bit += 3) {
            memcpy(copy, state, len);
            copy[i] ^= (uint8_t)(1u << bit);
            const lstm_status st = lstm_infer_state_load(m, copy, len);
            CHECK(st != LSTM_OK, "byte %zu bit %d flipped: accepted", i, bit);
            refused[st]++;
        }
    printf("  %zu truncations refused (TRUNCATED); bit flips: %d BAD_MAGIC, %d UNSUPPORTED_VERSION, %d TRUNCATED, %d CORRUPT, %d CHECKSUM\n",
           len, refused[LSTM_ERR_BAD_MAGIC], refused[LSTM_ERR_UNSUPPORTED_VERSION], refused[LSTM_ERR_TRUNCATED],
           refused[LSTM_ERR_CORRUPT], refused[LSTM_ERR_CHECKSUM]);
    size_t len2;
    uint8_t *after = save_state(m, &len2);
    CHECK(after && len2 == len && memcmp(after, state, len) == 0, "a refused state changed the model's");
    free(after);
    /* another shape: the message names both */
    lstm_model *wide = create((lstm_config){.input_vocab = 9, .hidden_size = 8, .num_layers = 2, .output_size = 9});
    CHECK(wide, "create");
    CHECK(lstm_infer_state_load(wide, state, len) == LSTM_ERR_INVALID_ARGUMENT &&
              strstr(lstm_error_message(wide), "another model (2 layers x 6 lstm (projection 4), tokens 9 -> 9); this one is 2 layers x 8 lstm (projection 0)"),
          "another shape: %s", lstm_error_message(wide));
    /* a model file is not a state */
    size_t flen;
    lstm_save_size(m, 0, &flen);
    uint8_t *file = malloc(flen);
    OK(lstm_save(m, 0, file, flen, &flen));
    CHECK(lstm_infer_state_load(m, file, flen) == LSTM_ERR_BAD_MAGIC && strstr(lstm_error_message(m), "a model file"),
          "model file: %s", lstm_error_message(m));
    free(file);
    /* a non-finite value, or a token past the outputs, under a valid checksum: CORRUPT */
    const size_t arrays = 16 + 4 + 7 * 4 + 16; /* h[0] of layer 0 */
    memcpy(copy, state, len);
    const float inf = INFINITY;
    memcpy(copy + arrays + 4, &inf, 4);
    reseal(copy, len);
    CHECK(lstm_infer_state_load(m, copy, len) == LSTM_ERR_CORRUPT && strstr(lstm_error_message(m), "h holds a value that is not finite"),
          "infinite h: %s", lstm_error_message(m));
    memcpy(copy, state, len);
    copy[len - 5] |= 0x80; /* the seen word's last bit: token 31 of 9 */
    reseal(copy, len);
    CHECK(lstm_infer_state_load(m, copy, len) == LSTM_ERR_CORRUPT && strstr(lstm_error_message(m), "token 31"),
          "seen past the outputs: %s", lstm_error_message(m));
    lstm_free(wide);
    /* the buffer checks */
    CHECK(lstm_infer_state_load(m, NULL, 4) == LSTM_ERR_INVALID_ARGUMENT, "NULL buffer");
    CHECK(lstm_infer_state_save(m, copy, len - 1, &len2) == LSTM_ERR_BUFFER_TOO_SMALL, "short buffer");
    lstm_model *bi = create((lstm_config){.input_size = 2, .hidden_size = 3, .num_layers = 1, .output_size = 2, .bidirectional = 1});
    CHECK(bi && lstm_infer_state_size(bi, &len2) == LSTM_ERR_STATE && lstm_infer_state_load(bi, state, len) == LSTM_ERR_STATE,
          "bidirectional");
    lstm_free(bi);
    free(state);
    free(copy);
    lstm_free(m);
}

/* ---- several samples at once ---- */

/* Sample k of a batch against lstm_generate after lstm_sampler_seed(seed + k) from the same
 * start: the same tokens. Hidden 31 makes the gate products 124 wide (not a multiple of 8), and
 * 23 outputs: every column block of the products is exercised. */
static void test_samples_equal_single(void) {
    enum { N = 5, LEN = 60 };
    const lstm_config c = {.input_vocab = 23, .hidden_size = 31, .num_layers = 2, .output_size = 23, .seed = 6,
                           .init_scale = 1.0f};
    lstm_model *m = create(c);
    CHECK(m, "create");
    const int32_t prompt[4] = {3, 1, 4, 1};
    const lstm_sampling settings[] = {{1.0f, 0, 1.0f, 0.0f}, {0.7f, 5, 0.9f, 0.0f}, {1.0f, 0, 1.0f, 1.8f}, {0.0f, 0, 1.0f, 1.3f}};
    for (size_t q = 0; q < sizeof settings / sizeof settings[0]; q++) {
        const lstm_sampling *s = &settings[q];
        int32_t batch[N * LEN], one[LEN];
        OK(lstm_samples_start(m, N, 0, 100, prompt, 4));
        OK(lstm_samples_generate(m, s, LEN / 2, batch)); /* in two calls: the rows carry on */
        int32_t rest[N * LEN / 2];
        OK(lstm_samples_generate(m, s, LEN / 2, rest));
        int32_t whole[N * LEN];
        for (int k = 0; k < N; k++) {
            memcpy(whole + k * LEN, batch + k * (LEN / 2), (LEN / 2) * sizeof(int32_t));
            memcpy(whole + k * LEN + LEN / 2, rest + k * (LEN / 2), (LEN / 2) * sizeof(int32_t));
        }
        size_t len;
        uint8_t *after_batch = save_state(m, &len); /* sample 0's */
        for (int k = 0; k < N; k++) {
            OK(lstm_infer_reset(m));
            OK(lstm_sampler_seed(m, 100 + (uint32_t)k));
            OK(lstm_generate(m, prompt, 4, s, LEN, one));
            CHECK(memcmp(one, whole + k * LEN, sizeof one) == 0, "setting %zu: sample %d differs from lstm_generate with seed %d",
                  q, k, 100 + k);
            if (k == 0) {
                size_t len0;
                uint8_t *single = save_state(m, &len0);
                CHECK(single && after_batch && len0 == len && memcmp(single, after_batch, len) == 0,
                      "the inference state after the batch is not sample 0's");
                free(single);
            }
        }
        free(after_batch);
    }
    OK(lstm_samples_stop(m, -1));
    lstm_free(m);
}

static void test_samples_stop_and_continue(void) {
    enum { N = 4, LEN = 20 };
    const lstm_config c = {.input_vocab = 11, .hidden_size = 12, .num_layers = 2, .output_size = 11, .seed = 8,
                           .init_scale = 1.0f};
    lstm_model *m = create(c);
    CHECK(m, "create");
    const lstm_sampling s = {1.0f, 0, 1.0f, 0.0f};
    const int32_t prompt[2] = {5, 6};
    int32_t all[N * LEN], part[N * LEN], tail[N * LEN];
    OK(lstm_samples_start(m, N, 0, 7, prompt, 2));
    OK(lstm_samples_generate(m, &s, LEN, all));
    /* stop samples 1 and 0 after 8 tokens: the others go on as before; the stopped get -1 */
    OK(lstm_samples_start(m, N, 0, 7, prompt, 2));
    OK(lstm_samples_generate(m, &s, 8, part));
    size_t len;
    uint8_t *at8 = save_state(m, &len);
    OK(lstm_samples_stop(m, 1));
    OK(lstm_samples_stop(m, 0));
    OK(lstm_samples_stop(m, 1)); /* again: stays stopped */
    OK(lstm_samples_generate(m, &s, LEN - 8, tail));
    for (int k = 0; k < N; k++)
        for (int i = 0; i < LEN; i++) {
            const int32_t got = i < 8 ? part[k * 8 + i] : tail[k * (LEN - 8) + i - 8];
            const int32_t want = k < 2 && i >= 8 ? -1 : all[k * LEN + i];
            CHECK(got == want, "sample %d token %d: %d, expected %d", k, i, got, want);
        }
    /* sample 0 stopped at 8: the inference state stayed there */
    size_t len2;
    uint8_t *now = save_state(m, &len2);
    CHECK(at8 && now && len2 == len && memcmp(at8, now, len) == 0, "the inference state moved after sample 0 stopped");
    free(now);
    /* continue from there, keeping the sampler: the tokens sample 0 would have written next */
    int32_t more[LEN - 8];
    OK(lstm_samples_start(m, 1, LSTM_SAMPLES_CONTINUE | LSTM_SAMPLES_KEEP_SAMPLER, 0, NULL, 0));
    OK(lstm_samples_generate(m, &s, LEN - 8, more));
    CHECK(memcmp(more, all + 8, sizeof more) == 0, "continuing with the kept sampler wrote other tokens");
    /* continuing with a prompt on top, and lstm_generate the same way */
    OK(lstm_infer_state_load(m, at8, len));
    OK(lstm_samples_start(m, 1, LSTM_SAMPLES_CONTINUE, 3, prompt, 1));
    OK(lstm_samples_generate(m, &s, LEN - 8, more));
    int32_t single[LEN - 8];
    OK(lstm_infer_state_load(m, at8, len));
    OK(lstm_sampler_seed(m, 3));
    OK(lstm_generate(m, prompt, 1, &s, LEN - 8, single));
    CHECK(memcmp(more, single, sizeof more) == 0, "continuing with a prompt differs from lstm_generate");
    free(at8);
    /* the end frees the rows; generating then is refused */
    OK(lstm_samples_stop(m, -1));
    OK(lstm_samples_stop(m, -1));
    CHECK(lstm_samples_generate(m, &s, 1, more) == LSTM_ERR_STATE, "generate after the end");
    lstm_free(m);
}

static void test_samples_bad_arguments(void) {
    const lstm_config c = {.input_vocab = 6, .hidden_size = 4, .num_layers = 1, .output_size = 6, .seed = 1};
    lstm_model *m = create(c), *dense = create((lstm_config){.input_size = 2, .hidden_size = 3, .num_layers = 1, .output_size = 6});
    CHECK(m && dense, "create");
    const int32_t prompt[2] = {1, 2}, bad_prompt[2] = {1, 6};
    const lstm_sampling s = {1.0f, 0, 1.0f, 0.0f}, bad_penalty = {1.0f, 0, 1.0f, -1.0f}, big_penalty = {1.0f, 0, 1.0f, 101.0f};
    int32_t out[12];
#define REFUSED(model, call, want, says)                                                                       \
    do {                                                                                                       \
        const lstm_status got_ = (call);                                                                       \
        CHECK(got_ == (want) && strstr(lstm_error_message(model), says), "%s: status %d, \"%s\"", #call, got_, \
              lstm_error_message(model));                                                                      \
    } while (0)
    REFUSED(m, lstm_samples_start(m, 0, 0, 1, prompt, 2), LSTM_ERR_INVALID_ARGUMENT, "samples must be in [1, 1024], got 0");
    REFUSED(m, lstm_samples_start(m, LSTM_MAX_SAMPLES + 1, 0, 1, prompt, 2), LSTM_ERR_INVALID_ARGUMENT, "got 1025");
    REFUSED(m, lstm_samples_start(m, 1, 4, 1, prompt, 2), LSTM_ERR_INVALID_ARGUMENT, "got 4");
    REFUSED(m, lstm_samples_start(m, 2, LSTM_SAMPLES_KEEP_SAMPLER, 1, prompt, 2), LSTM_ERR_INVALID_ARGUMENT, "n must be 1, got 2");
    REFUSED(m, lstm_samples_start(m, 2, 0, 1, NULL, 0), LSTM_ERR_STATE, "empty prompt");
    REFUSED(m, lstm_samples_start(m, 2, LSTM_SAMPLES_CONTINUE, 1, NULL, 0), LSTM_ERR_STATE, "empty prompt");
    REFUSED(m, lstm_samples_start(m, 2, 0, 1, bad_prompt, 2), LSTM_ERR_TOKEN_RANGE, "prompt[1] = 6 is outside [0, 6)");
    REFUSED(m, lstm_samples_generate(m, &s, 3, out), LSTM_ERR_STATE, "lstm_samples_start first");
    REFUSED(m, lstm_samples_stop(m, 0), LSTM_ERR_STATE, "lstm_samples_start first");
    REFUSED(dense, lstm_samples_start(dense, 1, 0, 1, prompt, 2), LSTM_ERR_STATE, "token model");
    OK(lstm_samples_start(m, 2, 0, 1, prompt, 2));
    REFUSED(m, lstm_samples_generate(m, &bad_penalty, 3, out), LSTM_ERR_INVALID_ARGUMENT,
            "repetition_penalty must be 0 (off) or in (0, 100], got -1");
    REFUSED(m, lstm_samples_generate(m, &big_penalty, 3, out), LSTM_ERR_INVALID_ARGUMENT, "got 101");
    REFUSED(m, lstm_samples_stop(m, 2), LSTM_ERR_INVALID_ARGUMENT, "[0, 2) or -1");
    REFUSED(m, lstm_samples_generate(m, &s, -1, out), LSTM_ERR_INVALID_ARGUMENT, "output length must be >= 0, got -1");
#undef REFUSED
    OK(lstm_samples_generate(m, &s, 6, out)); /* still usable */
    for (int i = 0; i < 12; i++) CHECK(out[i] >= 0 && out[i] < 6, "token %d: %d", i, out[i]);
    lstm_free(m);
    lstm_free(dense);
}

/* The penalty's formula, exactly: out.weight 0 makes the logits the bias whatever the state, and
 * temperature 0 picks the largest penalised logit, so each penalty either side of the point
 * where the formula swaps two tokens must pick its side (divide a positive logit, multiply a
 * negative one; the tokens read only). */
static void test_repetition_penalty_formula(void) {
    const lstm_config c = {.input_vocab = 4, .hidden_size = 3, .num_layers = 1, .output_size = 4, .seed = 1};
    lstm_model *m = create(c);
    CHECK(m, "create");
    float *p = lstm_parameters(m);
    lstm_tensor_info w, bias;
    OK(lstm_tensor(m, lstm_tensor_count(m) - 2, &w));
    OK(lstm_tensor(m, lstm_tensor_count(m) - 1, &bias));
    memset(p + w.offset, 0, (size_t)w.rows * w.cols * sizeof(float));
    const struct { float logits[4]; int32_t read; float penalty; int32_t want; } cases[] = {
        {{2.0f, 1.5f, -3.0f, -3.0f}, 0, 1.33f, 0}, /* 2 / 1.33 = 1.504 > 1.5 */
        {{2.0f, 1.5f, -3.0f, -3.0f}, 0, 1.34f, 1}, /* 2 / 1.34 = 1.493 < 1.5 */
        {{2.0f, 1.5f, -3.0f, -3.0f}, 2, 50.0f, 0}, /* another token read: nothing changes for 0 */
        {{-1.0f, -1.2f, -3.0f, -3.0f}, 0, 1.19f, 0}, /* -1 * 1.19 = -1.19 > -1.2 */
        {{-1.0f, -1.2f, -3.0f, -3.0f}, 0, 1.21f, 1}, /* -1 * 1.21 = -1.21 < -1.2 */
        {{-1.0f, -1.2f, -3.0f, -3.0f}, 0, 0.5f, 0}, /* a penalty below 1 favours what was read */
        {{1.0f, 1.9f, -3.0f, -3.0f}, 1, 0.5f, 1},
        {{1.0f, 1.9f, -3.0f, -3.0f}, 1, 1.0f, 1}, /* 1: off */
        {{1.0f, 1.9f, -3.0f, -3.0f}, 1, 2.0f, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy(p + bias.offset, cases[i].logits, sizeof cases[i].logits);
        lstm_parameters_changed(m);
        const lstm_sampling s = {0.0f, 0, 1.0f, cases[i].penalty};
        int32_t got;
        OK(lstm_infer_reset(m));
        OK(lstm_generate(m, &cases[i].read, 1, &s, 1, &got));
        CHECK(got == cases[i].want, "case %zu: penalty %g picked %d, expected %d", i, (double)cases[i].penalty, got, cases[i].want);
        int32_t batch[3];
        OK(lstm_samples_start(m, 3, 0, 1, &cases[i].read, 1));
        OK(lstm_samples_generate(m, &s, 1, batch));
        CHECK(batch[0] == got && batch[1] == got && batch[2] == got, "case %zu: the batch picked otherwise", i);
    }
    lstm_free(m);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* lines reach CI logs even if a sanitizer ends the run */
    printf("lstm-wasm native tests: trace, inference state, batched generation\n");
    rng_state = 0x9E3779B97F4A7C15ULL; /* this program's test data, as it always was */
    run("trace: outputs, gates, h and c equal the batched forward's, every cell, both directions", test_trace_matches_forward);
    run("trace: a last-step model's head at the last step is predict's", test_trace_last_step_head);
    run("trace: the inference, training and sampler states are untouched", test_trace_leaves_state);
    run("trace: bad requests give statuses and messages; the model stays usable", test_trace_bad_requests);
    run("inference state: a restored point generates the same tokens, reseeded or not", test_state_branches);
    run("inference state: damaged bytes and other shapes refused, the model's state kept", test_state_refused);
    run("samples: each is lstm_generate with seed + k; the inference state is sample 0's", test_samples_equal_single);
    run("samples: stopped ones get -1 and leave the others alone; continuing", test_samples_stop_and_continue);
    run("samples: bad arguments give statuses and messages", test_samples_bad_arguments);
    run("repetition penalty: z / p above 0, z * p below, on the tokens read", test_repetition_penalty_formula);
    return check_summary();
}
