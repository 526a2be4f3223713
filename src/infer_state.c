/* infer_state.c - the inference state as bytes (lstm_infer_state_* in include/lstm.h), so an
 * app can keep a point of a generation and go back to it, as often as it likes.
 *
 * Layout (little-endian, as the model file; floats as float32):
 *   0  magic "LSTMINFS" | 8 u32 version (1) | 12 u32 total size in bytes
 *   16 u32 shape word count n (7), then n x u32: cell, num_layers, hidden_size, proj_size,
 *      input_vocab, input_size, output_size
 *   u32 has_logits (0 or 1), u32 seen words W, u64 the sampler's generator state
 *   h (L, S), c (L, H), logits (V), then W x u32 seen tokens (a bit per output id)
 *   u32 CRC-32 (IEEE) of every byte before it
 * Loading checks magic, version and size, then the checksum, then the shape and every value,
 * and writes nothing into the model until all of them pass. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "model.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "infer_state.c copies float arrays as little-endian bytes; add byte swapping for this target"
#endif

static const char MAGIC[8] = {'L', 'S', 'T', 'M', 'I', 'N', 'F', 'S'};
#define STATE_VERSION 1u
#define SHAPE_WORDS 7
#define HEAD_BYTES 16                            /* magic, version, size */
#define FIXED_BYTES (HEAD_BYTES + 4 + 4 * SHAPE_WORDS + 4 + 4 + 8 + 4) /* everything but the arrays */

static void shape_of(const lstm_config *c, uint32_t w[SHAPE_WORDS]) {
    const int32_t v[SHAPE_WORDS] = {c->cell, c->num_layers, c->hidden_size, c->proj_size,
                                    c->input_vocab, c->input_size, c->output_size};
    for (int i = 0; i < SHAPE_WORDS; i++) w[i] = (uint32_t)v[i];
}

/* "2 layers x 256 lstm (projection 0), tokens 65 -> 65": a shape in a message */
static void describe(const uint32_t w[SHAPE_WORDS], char *out, size_t cap) {
    snprintf(out, cap, "%u layers x %u %s (projection %u), %s %u -> %u", w[1], w[2], w[0] == LSTM_CELL_GRU ? "gru" : "lstm",
             w[3], w[4] ? "tokens" : "inputs", w[4] ? w[4] : w[5], w[6]);
}

/* Floats of each array: h, c, logits; and the seen words. */
typedef struct { size_t h, c, logits, seen; } state_sizes;

static state_sizes sizes_of(const lstm_config *c) {
    const size_t L = (size_t)c->num_layers;
    return (state_sizes){L * (size_t)lstm_state_size(c), L * (size_t)c->hidden_size, (size_t)c->output_size,
                         (size_t)lstm_seen_words(c)};
}

static size_t total_bytes(const lstm_config *c) {
    const state_sizes n = sizes_of(c);
    return FIXED_BYTES + 4 * (n.h + n.c + n.logits + n.seen);
}

static lstm_status refuse_bidirectional(lstm_model *m) {
    return lstm_fail(m, LSTM_ERR_STATE, "a bidirectional model has no step-by-step inference state");
}

lstm_status lstm_infer_state_size(const lstm_model *cm, size_t *size) {
    lstm_model *m = (lstm_model *)cm; /* only for the error message */
    if (!m) return LSTM_ERR_INVALID_ARGUMENT;
    if (!size) return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "size is NULL");
    if (m->cfg.bidirectional) return refuse_bidirectional(m);
    *size = total_bytes(&m->cfg);
    return LSTM_OK;
}

static uint8_t *put(uint8_t *p, const void *src, size_t n) {
    if (n) memcpy(p, src, n);
    return p + n;
}

lstm_status lstm_infer_state_save(const lstm_model *cm, uint8_t *buf, size_t capacity, size_t *written) {
    lstm_model *m = (lstm_model *)cm; /* only for the error message */
    size_t need = 0;
    lstm_status st = lstm_infer_state_size(m, &need);
    if (st != LSTM_OK) return st;
    if (!buf) return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "buffer is NULL");
    if (capacity < need)
        return lstm_fail(m, LSTM_ERR_BUFFER_TOO_SMALL, "buffer holds %zu bytes, the inference state needs %zu", capacity, need);
    const lstm_config *c = &m->cfg;
    const state_sizes n = sizes_of(c);
    const size_t S = (size_t)lstm_state_size(c), H = (size_t)c->hidden_size;
    uint32_t shape[SHAPE_WORDS];
    shape_of(c, shape);
    const uint32_t version = STATE_VERSION, total = (uint32_t)need, count = SHAPE_WORDS;
    const uint32_t has_logits = m->has_logits ? 1u : 0u, words = (uint32_t)n.seen;
    uint8_t *p = put(buf, MAGIC, 8);
    p = put(p, &version, 4);
    p = put(p, &total, 4);
    p = put(p, &count, 4);
    p = put(p, shape, sizeof shape);
    p = put(p, &has_logits, 4);
    p = put(p, &words, 4);
    p = put(p, &m->sample_rng, 8);
    for (int l = 0; l < c->num_layers; l++) p = put(p, m->infer.layer[l].h, S * sizeof(float));
    for (int l = 0; l < c->num_layers; l++) p = put(p, m->infer.layer[l].c, H * sizeof(float));
    p = put(p, m->infer.logits, n.logits * sizeof(float));
    p = put(p, m->infer.seen, n.seen * sizeof(uint32_t));
    const uint32_t crc = lstm_crc32(buf, (size_t)(p - buf));
    p = put(p, &crc, 4);
    if (written) *written = (size_t)(p - buf);
    return LSTM_OK;
}

static uint32_t u32_at(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* The first non-finite float of n at p, or n. */
static size_t first_bad_float(const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float v;
        memcpy(&v, p + 4 * i, 4);
        if (!isfinite(v)) return i;
    }
    return n;
}

lstm_status lstm_infer_state_load(lstm_model *m, const uint8_t *buf, size_t len) {
    if (!m) return LSTM_ERR_INVALID_ARGUMENT;
    if (m->cfg.bidirectional) return refuse_bidirectional(m);
    if (!buf) return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "buffer is NULL");
    if (len < HEAD_BYTES)
        return lstm_fail(m, LSTM_ERR_TRUNCATED, "an inference state has at least %d bytes, got %zu", HEAD_BYTES, len);
    if (memcmp(buf, MAGIC, 8) != 0)
        return lstm_fail(m, LSTM_ERR_BAD_MAGIC, memcmp(buf, lstm_file_magic, 8) == 0
                                                    ? "these bytes are a model file, not an inference state"
                                                    : "not an lstm-wasm inference state (bad magic)");
    const uint32_t version = u32_at(buf + 8), total = u32_at(buf + 12);
    if (version == 0 || version > STATE_VERSION)
        return lstm_fail(m, LSTM_ERR_UNSUPPORTED_VERSION, "inference state version %u; this build reads version %u",
                         version, STATE_VERSION);
    if (len < total)
        return lstm_fail(m, LSTM_ERR_TRUNCATED, "the inference state holds %u bytes, only %zu were given", total, len);
    if (len > total || total < FIXED_BYTES)
        return lstm_fail(m, LSTM_ERR_CORRUPT, "%zu bytes given for an inference state whose size field says %u", len,
                         total);
    if (lstm_crc32(buf, total - 4) != u32_at(buf + total - 4))
        return lstm_fail(m, LSTM_ERR_CHECKSUM, "the inference state's checksum does not match its contents (damaged)");
    const uint8_t *p = buf + HEAD_BYTES;
    if (u32_at(p) != SHAPE_WORDS)
        return lstm_fail(m, LSTM_ERR_CORRUPT, "the inference state has %u shape words, version 1 has %d", u32_at(p),
                         SHAPE_WORDS);
    uint32_t theirs[SHAPE_WORDS], ours[SHAPE_WORDS];
    memcpy(theirs, p + 4, sizeof theirs);
    shape_of(&m->cfg, ours);
    if (memcmp(theirs, ours, sizeof ours) != 0) {
        char a[96], b[96];
        describe(theirs, a, sizeof a);
        describe(ours, b, sizeof b);
        return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "the inference state is for another model (%s); this one is %s", a, b);
    }
    p += 4 + sizeof theirs;
    const lstm_config *c = &m->cfg;
    const state_sizes n = sizes_of(c);
    const uint32_t has_logits = u32_at(p), words = u32_at(p + 4);
    if (total != total_bytes(c) || words != n.seen || has_logits > 1)
        return lstm_fail(m, LSTM_ERR_CORRUPT, "the inference state's fields do not fit its shape (size %u, seen words %u, logits flag %u)",
                         total, words, has_logits);
    uint64_t rng;
    memcpy(&rng, p + 8, 8);
    const uint8_t *h = p + 16, *cs = h + 4 * n.h, *logits = cs + 4 * n.c, *seen = logits + 4 * n.logits;
    const size_t floats = n.h + n.c + n.logits, bad = first_bad_float(h, floats);
    if (bad < floats) {
        const char *what = bad < n.h ? "h" : bad < n.h + n.c ? "c" : "logits";
        return lstm_fail(m, LSTM_ERR_CORRUPT, "the inference state's %s holds a value that is not finite", what);
    }
    const int V = c->output_size;
    for (int v = V; v < (int)(32 * n.seen); v++)
        if (u32_at(seen + 4 * (size_t)(v >> 5)) >> (v & 31) & 1u)
            return lstm_fail(m, LSTM_ERR_CORRUPT, "the inference state has read token %d, past the model's %d outputs", v, V);
    /* every check passed: now the model's state */
    const size_t S = (size_t)lstm_state_size(c), H = (size_t)c->hidden_size;
    for (int l = 0; l < c->num_layers; l++) {
        memcpy(m->infer.layer[l].h, h + 4 * S * (size_t)l, S * sizeof(float));
        memcpy(m->infer.layer[l].c, cs + 4 * H * (size_t)l, H * sizeof(float));
    }
    memcpy(m->infer.logits, logits, n.logits * sizeof(float));
    if (n.seen) memcpy(m->infer.seen, seen, n.seen * sizeof(uint32_t));
    m->has_logits = (int)has_logits;
    m->sample_rng = rng;
    return LSTM_OK;
}
