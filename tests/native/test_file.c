/* test_file.c - native tests (ASan, UBSan) of the model file: save and load resume training
 * bit for bit, every truncation and byte flip is rejected, forged sizes are refused before
 * allocation, quantised files, and version 2 config words. */
#include "check.h"

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

/* CRC-32 as the files carry it, bitwise, independent of serialize.c. */
static uint32_t crc32_ref(const uint8_t *p, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & -(c & 1u));
    }
    return ~c;
}

/* A header that passes the checksum but claims an absurd size must be refused before any
 * allocation: rewrite the config and recompute the CRC as an attacker would. */
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
        uint32_t crc = crc32_ref(f, size);
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

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* lines reach CI logs even if a sanitizer ends the run */
    printf("lstm-wasm native tests: the model file (%s kernels)\n", lstm_kernels_best()->impl);
    run("save/load resumes training bit-identically", test_save_resume_exact);
    run("every truncation and byte flip rejected", test_corrupt_buffers);
    run("quantised files: smaller, close, inference only, re-saved exactly", test_quantized);
    run("forged sizes rejected before allocation", test_forged_sizes);
    run("version 2 config words: unknown zero accepted, set refused", test_format_v2_words);
    return check_summary();
}
