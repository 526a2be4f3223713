/* fuzz_load.c - libFuzzer target for the model loader (lstm_load).
 *
 * Built with -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION, so the CRC is not checked and the
 * fuzzer reaches every field check behind it. For every input: a rejection must come with
 * a loader status and a message and no model; an accepted model must survive a save/load/
 * save round trip byte for byte and run an inference step. ASan/UBSan report the rest. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../include/lstm.h"

/* With the training state; a quantised model has none (its parameters are int8 only). */
static uint8_t *save(lstm_model *m, size_t *len) {
    const uint32_t flags = lstm_parameters(m) ? LSTM_SAVE_TRAINING_STATE : 0;
    if (lstm_save_size(m, flags, len) != LSTM_OK) __builtin_trap();
    uint8_t *buf = malloc(*len);
    if (!buf) __builtin_trap();
    if (lstm_save(m, flags, buf, *len, len) != LSTM_OK) __builtin_trap();
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    lstm_model *m = NULL;
    lstm_message msg = {{0}};
    lstm_status st = lstm_load(data, size, &m, &msg);
    if (st != LSTM_OK) {
        int loader_status = st == LSTM_ERR_BAD_MAGIC || st == LSTM_ERR_UNSUPPORTED_VERSION ||
                            st == LSTM_ERR_TRUNCATED || st == LSTM_ERR_CORRUPT || st == LSTM_ERR_OUT_OF_MEMORY;
        if (m || !loader_status || msg.text[0] == 0) __builtin_trap();
        return 0;
    }
    size_t n1, n2;
    uint8_t *b1 = save(m, &n1);
    lstm_model *m2 = NULL;
    if (lstm_load(b1, n1, &m2, &msg) != LSTM_OK) __builtin_trap();
    uint8_t *b2 = save(m2, &n2);
    if (n1 != n2 || memcmp(b1, b2, n1) != 0) __builtin_trap();
    lstm_config c;
    lstm_get_config(m, &c);
    if (c.bidirectional) {
        /* whole sequences only: step inference refuses, a two-step prediction runs */
        if (lstm_infer_reset(m) != LSTM_ERR_STATE) __builtin_trap();
        const int32_t tokens[2] = {0, c.input_vocab > 1 ? c.input_vocab - 1 : 0};
        float *x = c.input_vocab ? NULL : calloc(2 * (size_t)c.input_size, sizeof(float));
        float *y = malloc(2 * (size_t)c.output_size * sizeof(float));
        lstm_batch b = {1, 2, c.input_vocab ? tokens : NULL, x, NULL, NULL, NULL};
        if (!y || (!c.input_vocab && !x) || lstm_predict(m, &b, y, 2 * (size_t)c.output_size) != LSTM_OK)
            __builtin_trap();
        free(x);
        free(y);
    } else if (lstm_infer_reset(m) != LSTM_OK) {
        __builtin_trap();
    } else if (c.input_vocab > 0) {
        if (lstm_infer_step(m, c.input_vocab - 1, NULL, NULL) != LSTM_OK) __builtin_trap();
        lstm_sampling s = {1.0f, 3, 0.9f, 0.0f};
        int32_t t = -1;
        lstm_status sampled = lstm_sample(m, &s, &t);
        /* a token model may have the mse head: sampling is then refused, not an error here */
        if (c.head == LSTM_HEAD_SOFTMAX ? sampled != LSTM_OK || t < 0 || t >= c.output_size
                                        : sampled != LSTM_ERR_STATE)
            __builtin_trap();
    }
    free(b1);
    free(b2);
    lstm_free(m);
    lstm_free(m2);
    return 0;
}
