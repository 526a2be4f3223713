/* make_seeds.c - writes valid models of every kind (token and dense inputs, each optimizer,
 * with and without training state, quantised, vocabulary and metadata) as the fuzzer's seed corpus. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../include/lstm.h"

static int write_model(const char *dir, const char *name, lstm_model *m, uint32_t flags) {
    size_t len;
    if (lstm_save_size(m, flags, &len) != LSTM_OK) return 1;
    uint8_t *buf = malloc(len);
    if (!buf || lstm_save(m, flags, buf, len, &len) != LSTM_OK) { free(buf); return 1; }
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    int bad = !f || fwrite(buf, 1, len, f) != len;
    if (f) fclose(f);
    free(buf);
    return bad;
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: make_seeds DIR\n"); return 2; }
    const char *dir = argv[1];
    int bad = 0;
    for (int kind = 0; kind < 12; kind++) {
        /* kinds 6..11: format version 2 (GRU; mse head at the last step with peepholes and
         * CIFG; relu with recurrent dropout and orthogonal init; layer norm; projection;
         * a bidirectional GRU) */
        int dense = kind == 3 || kind == 4 || kind == 7 || kind == 11;
        lstm_config c = {.input_vocab = dense ? 0 : 5 + kind, .input_size = 3, .hidden_size = 2 + kind,
                         .num_layers = 1 + kind % 3, .output_size = 5 + kind, .seed = (uint32_t)kind,
                         .dropout = kind == 2 ? 0.3f : 0.0f, .cell = kind == 6 || kind == 11 ? 1 : 0,
                         .head = kind == 7 ? 1 : 0, .last_step_only = kind == 7 || kind == 11, .peephole = kind == 7,
                         .cifg = kind == 7, .activation = kind == 8, .recurrent_dropout = kind == 8 ? 0.2f : 0.0f,
                         .orthogonal_init = kind == 8, .layer_norm = kind == 9,
                         .proj_size = kind == 10 ? 3 : 0, .bidirectional = kind == 11};
        lstm_model *m = NULL;
        if (lstm_create(&c, &m, NULL) != LSTM_OK) return 1;
        if (!dense) {
            uint32_t vocab[16];
            if (c.input_vocab > 16) return 1;
            for (int i = 0; i < c.input_vocab; i++) vocab[i] = kind == 5 ? 0x4E00 + i : 'a' + i;
            lstm_set_vocabulary(m, vocab, c.input_vocab);
            lstm_set_metadata(m, (const uint8_t *)"{\"seed\":true}", 13);
        }
        lstm_optimizer o;
        lstm_optimizer_defaults(&o);
        o.type = kind % 3;
        lstm_set_optimizer(m, &o);
        int32_t tokens[12], targets[12];
        float inputs[36];
        for (int i = 0; i < 12; i++) { tokens[i] = i % 5; targets[i] = (i + 1) % 5; }
        for (int i = 0; i < 36; i++) inputs[i] = (float)(i % 7) / 7.0f;
        float values[12 * 16] = {0};
        const int32_t lengths[3] = {4, 2, 3};
        lstm_batch b = {3, 4, dense ? NULL : tokens, dense ? inputs : NULL, c.head ? NULL : targets,
                        c.head ? values : NULL, kind >= 6 ? lengths : NULL};
        lstm_train_batch(m, &b, NULL);
        char name[64];
        snprintf(name, sizeof name, "model-%d-weights.lstm", kind);
        bad |= write_model(dir, name, m, 0);
        snprintf(name, sizeof name, "model-%d-training.lstm", kind);
        bad |= write_model(dir, name, m, LSTM_SAVE_TRAINING_STATE);
        snprintf(name, sizeof name, "model-%d-int8.lstm", kind);
        bad |= write_model(dir, name, m, LSTM_SAVE_INT8);
        lstm_free(m);
    }
    return bad;
}
