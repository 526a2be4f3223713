/* serialize.c - the versioned binary model format: save to and load from a byte buffer.
 *
 * Layout (all little-endian; see docs/file-format.md):
 *   0  magic "LSTMWASM" | 8 u32 version | 12 u32 flags | 16 u64 total size
 *   24 config: version 1: 9 x 32-bit words (lstm_config up to forget_bias);
 *      version 2: u32 word count n (>= 9), then n x 32-bit words (lstm_config in order);
 *      words this build does not know must be zero. A model whose words after the ninth
 *      are all zero is written as version 1, so older builds and tools still read it.
 *      u32 vocabulary count, then count x u32 code points
 *      u32 metadata size, then the bytes, zero-padded to a multiple of 4
 *      u64 parameter count, then the parameters as f32 (the arena, layout of lstm.h); with
 *      flags & 2 (version 4, a quantised file) instead each weight matrix as int8 rows with
 *      a scale each and the other tensors as f32, in the same order (quantize.c)
 *   if flags & 1 (training state):
 *      8 x 32-bit words optimizer (lstm_optimizer in order), u32 has_optimizer,
 *      u64 step, u64 stream position, u64 dropout rng, u64 sample rng,
 *      u32 carried batch size B, then 2*L*B*H f32 carried state,
 *      u32 moment count n (0, 1 or 2), then n * parameter count f32
 *      version 3: u32 word count n (>= 5), then the bad-step record: f64 running loss mean,
 *      u32 losses in it, u64 skipped steps, and n - 5 words this build does not know (zero).
 *      It is written (as version 3) only when it is not all zero, so a model that never
 *      trained with this build still reads in older ones.
 *   u32 CRC-32 (IEEE) of every byte before it
 * Loading checks magic, version and size before the checksum, the checksum before any
 * field, every field before any allocation, and allocates nothing it will not keep. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "rng.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "serialize.c copies float arrays as little-endian bytes; add byte swapping for this target"
#endif

const char lstm_file_magic[8] = {'L', 'S', 'T', 'M', 'W', 'A', 'S', 'M'};
#define HEADER_BYTES 24
#define CONFIG_WORDS_V1 9
#define CONFIG_WORDS ((int)(sizeof(lstm_config) / 4))
#define CONFIG_WORDS_MAX 256 /* a stored count above this is corrupt, not merely newer */
#define OPTIMIZER_WORDS 8
#define GUARD_WORDS 5

/* CRC-32 (IEEE 802.3, reflected), four bits at a time from a 16-entry table */
static uint32_t crc32(const uint8_t *p, size_t n) {
    static const uint32_t table[16] = {
        0x00000000, 0x1DB71064, 0x3B6E20C8, 0x26D930AC, 0x76DC4190, 0x6B6B51F4,
        0x4DB26158, 0x5005713C, 0xEDB88320, 0xF00F9344, 0xD6D6A3E8, 0xCB61B38C,
        0x9B64C2B0, 0x86D3D2D4, 0xA00AE278, 0xBDBDF21C};
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        c = (c >> 4) ^ table[c & 15];
        c = (c >> 4) ^ table[c & 15];
    }
    return c ^ 0xFFFFFFFFu;
}

uint32_t lstm_crc32(const uint8_t *p, size_t n) { return crc32(p, n); }

/* ---- writing ---- */

typedef struct { uint8_t *p; size_t n; } writer;

static void put(writer *w, const void *src, size_t n) {
    if (w->p && n > 0) memcpy(w->p + w->n, src, n); /* src may be NULL when n is 0 */
    w->n += n;
}
static void put_u32(writer *w, uint32_t v) { put(w, &v, 4); }
static void put_u64(writer *w, uint64_t v) { put(w, &v, 8); }

static size_t carry_floats(const lstm_model *m) {
    return (size_t)2 * m->cfg.num_layers * m->carry_B * m->cfg.hidden_size;
}

/* Does the config use a word beyond version 1's nine? */
static int config_needs_v2(const lstm_config *c) {
    uint32_t words[CONFIG_WORDS];
    memcpy(words, c, sizeof words);
    for (int i = CONFIG_WORDS_V1; i < CONFIG_WORDS; i++)
        if (words[i] != 0) return 1;
    return 0;
}

/* Does the training state hold a bad-step record (format version 3)? */
static int guard_needs_v3(const lstm_model *m, uint32_t flags) {
    return (flags & LSTM_SAVE_TRAINING_STATE) && (m->loss_count > 0 || m->skipped > 0);
}

/* Write (or, with w->p NULL, measure) the whole model. */
static void write_model(const lstm_model *m, uint32_t flags, writer *w) {
    const uint32_t version = flags & LSTM_SAVE_INT8 ? 4u : guard_needs_v3(m, flags) ? 3u
                             : config_needs_v2(&m->cfg) ? 2u : 1u;
    put(w, lstm_file_magic, 8);
    put_u32(w, version);
    put_u32(w, flags);
    put_u64(w, 0); /* total size, patched at the end */
    if (version >= 2) {
        put_u32(w, (uint32_t)CONFIG_WORDS);
        put(w, &m->cfg, CONFIG_WORDS * 4);
    } else {
        put(w, &m->cfg, CONFIG_WORDS_V1 * 4);
    }
    put_u32(w, (uint32_t)m->vocab_size);
    put(w, m->vocab, (size_t)m->vocab_size * 4);
    put_u32(w, m->metadata_size);
    put(w, m->metadata, m->metadata_size);
    static const uint8_t zeros[4] = {0};
    put(w, zeros, (4 - m->metadata_size % 4) % 4);
    put_u64(w, m->n_params);
    if (flags & LSTM_SAVE_INT8) {
        const size_t bytes = (size_t)lstm_q8_section_bytes(&m->cfg);
        if (w->p) lstm_q8_write(m, w->p + w->n);
        w->n += bytes;
    } else {
        put(w, m->params, m->n_params * sizeof(float));
    }
    if (flags & LSTM_SAVE_TRAINING_STATE) {
        put(w, &m->opt, OPTIMIZER_WORDS * 4);
        put_u32(w, (uint32_t)m->has_opt);
        put_u64(w, m->step);
        put_u64(w, m->stream_pos);
        put_u64(w, m->dropout_rng);
        put_u64(w, m->sample_rng);
        put_u32(w, (uint32_t)m->carry_B);
        put(w, m->carry, carry_floats(m) * sizeof(float));
        put_u32(w, (uint32_t)(m->has_opt ? m->n_moments : 0));
        if (m->has_opt) put(w, m->moments, (size_t)m->n_moments * m->n_params * sizeof(float));
        if (version >= 3) {
            put_u32(w, GUARD_WORDS);
            put(w, &m->loss_mean, 8);
            put_u32(w, m->loss_count);
            put_u64(w, m->skipped);
        }
    }
    uint64_t total = w->n + 4;
    if (w->p) {
        memcpy(w->p + 16, &total, 8);
        uint32_t crc = crc32(w->p, w->n);
        put_u32(w, crc);
    } else {
        w->n += 4;
    }
}

static lstm_status check_flags(lstm_model *m, uint32_t *flags) {
    if (*flags & ~(uint32_t)(LSTM_SAVE_TRAINING_STATE | LSTM_SAVE_INT8))
        return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT, "unknown save flags 0x%X", *flags);
    if (m->q8) *flags |= LSTM_SAVE_INT8; /* its matrices are int8: it has no other form */
    if ((*flags & LSTM_SAVE_INT8) && (*flags & LSTM_SAVE_TRAINING_STATE))
        return lstm_fail(m, LSTM_ERR_INVALID_ARGUMENT,
                         "a quantised (int8) file is for inference: it cannot hold a training state");
    return LSTM_OK;
}

lstm_status lstm_save_size(const lstm_model *m, uint32_t flags, size_t *size) {
    if (!m) return LSTM_ERR_INVALID_ARGUMENT;
    lstm_status st = check_flags((lstm_model *)m, &flags);
    if (st != LSTM_OK) return st;
    if (!size) return lstm_fail((lstm_model *)m, LSTM_ERR_INVALID_ARGUMENT, "size is NULL");
    writer w = {NULL, 0};
    write_model(m, flags, &w);
    *size = w.n;
    return LSTM_OK;
}

lstm_status lstm_save(const lstm_model *m, uint32_t flags, uint8_t *buf, size_t cap, size_t *written) {
    size_t need = 0;
    lstm_status st = lstm_save_size(m, flags, &need);
    if (st != LSTM_OK) return st;
    if (!buf) return lstm_fail((lstm_model *)m, LSTM_ERR_INVALID_ARGUMENT, "buffer is NULL");
    if (cap < need)
        return lstm_fail((lstm_model *)m, LSTM_ERR_BUFFER_TOO_SMALL,
                         "buffer holds %zu bytes, the model needs %zu", cap, need);
    check_flags((lstm_model *)m, &flags); /* as lstm_save_size found it: a quantised model's is int8 */
    writer w = {buf, 0};
    write_model(m, flags, &w);
    if (written) *written = w.n;
    return LSTM_OK;
}

/* ---- reading ---- */

typedef struct { const uint8_t *p; size_t n, at; } reader;

static int take(reader *r, void *dst, size_t n) {
    if (n > r->n - r->at) return 0;
    if (dst) memcpy(dst, r->p + r->at, n);
    r->at += n;
    return 1;
}
static int take_u32(reader *r, uint32_t *v) { return take(r, v, 4); }
static int take_u64(reader *r, uint64_t *v) { return take(r, v, 8); }

#define TRUNC(what) do { lstm_message_set(msg, "truncated while reading %s", what); \
                         return LSTM_ERR_TRUNCATED; } while (0)
#define CORRUPT(...) do { lstm_message_set(msg, __VA_ARGS__); return LSTM_ERR_CORRUPT; } while (0)

static int all_finite(const float *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

/* Words [from, to) of a record, which this build does not know: a newer build's feature,
 * refused unless they are all zero (the feature unused). */
static lstm_status unknown_words_zero(reader *r, uint32_t from, uint32_t to, const char *what, lstm_message *msg) {
    for (uint32_t i = from; i < to; i++) {
        uint32_t word;
        if (!take_u32(r, &word)) {
            lstm_message_set(msg, "truncated while reading the %s", what);
            return LSTM_ERR_TRUNCATED;
        }
        if (word != 0) {
            lstm_message_set(msg, "%s word %u is set (%u): the model uses a feature newer than this build", what, i,
                             word);
            return LSTM_ERR_UNSUPPORTED_VERSION;
        }
    }
    return LSTM_OK;
}

static lstm_status read_model(const uint8_t *buf, size_t len, lstm_model **out, lstm_message *msg) {
    if (len < 8 || memcmp(buf, lstm_file_magic, 8) != 0) {
        lstm_message_set(msg, "not an lstm-wasm model: the first 8 bytes are not \"LSTMWASM\"");
        return len < 8 && memcmp(buf, lstm_file_magic, len) == 0 ? LSTM_ERR_TRUNCATED : LSTM_ERR_BAD_MAGIC;
    }
    reader r = {buf, len, 8};
    uint32_t version, flags;
    uint64_t total;
    if (!take_u32(&r, &version)) TRUNC("the version");
    if (version < 1 || version > LSTM_FORMAT_VERSION) {
        lstm_message_set(msg, "format version %u is not supported (this build reads version %d)",
                         version, LSTM_FORMAT_VERSION);
        return LSTM_ERR_UNSUPPORTED_VERSION;
    }
    if (!take_u32(&r, &flags) || !take_u64(&r, &total)) TRUNC("the header");
    if (total > len) {
        lstm_message_set(msg, "the model is %llu bytes but only %zu were given",
                         (unsigned long long)total, len);
        return LSTM_ERR_TRUNCATED;
    }
    if (total < len) CORRUPT("%zu bytes follow the end of the model", len - (size_t)total);
    if (total < HEADER_BYTES + 4) CORRUPT("model size %llu is impossibly small", (unsigned long long)total);
    uint32_t stored_crc;
    memcpy(&stored_crc, buf + len - 4, 4);
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    stored_crc = crc32(buf, len - 4); /* let the fuzzer reach the field checks behind the CRC */
#endif
    if (crc32(buf, len - 4) != stored_crc) {
        lstm_message_set(msg, "checksum mismatch: the data was changed or damaged");
        return LSTM_ERR_CHECKSUM;
    }
    r.n = len - 4; /* the fields end where the checksum begins */
    if (flags & ~(uint32_t)(LSTM_SAVE_TRAINING_STATE | LSTM_SAVE_INT8)) CORRUPT("unknown flags 0x%X", flags);
    const int int8 = (flags & LSTM_SAVE_INT8) != 0;
    if (int8 != (version >= 4)) CORRUPT("flags 0x%X do not fit format version %u", flags, version);
    if (int8 && (flags & LSTM_SAVE_TRAINING_STATE)) CORRUPT("a quantised file with a training state");

    lstm_config cfg;
    memset(&cfg, 0, sizeof cfg); /* words a version 1 file does not have are zero */
    uint32_t n_words = CONFIG_WORDS_V1;
    if (version >= 2) {
        if (!take_u32(&r, &n_words)) TRUNC("the config word count");
        if (n_words < CONFIG_WORDS_V1 || n_words > CONFIG_WORDS_MAX)
            CORRUPT("config word count %u is outside [%d, %d]", n_words, CONFIG_WORDS_V1, CONFIG_WORDS_MAX);
    }
    const uint32_t known = n_words < (uint32_t)CONFIG_WORDS ? n_words : (uint32_t)CONFIG_WORDS;
    if (!take(&r, &cfg, known * 4)) TRUNC("the config");
    lstm_status st = unknown_words_zero(&r, known, n_words, "config", msg);
    if (st != LSTM_OK) return st;
    uint64_t n_params = 0;
    lstm_message why;
    if (lstm_config_check(&cfg, &n_params, &why) != LSTM_OK) CORRUPT("bad config: %s", why.text);

    uint32_t vocab_n;
    if (!take_u32(&r, &vocab_n)) TRUNC("the vocabulary size");
    if (vocab_n > LSTM_MAX_VOCAB) CORRUPT("vocabulary size %u is too large", vocab_n);
    size_t vocab_at = r.at;
    if (!take(&r, NULL, (size_t)vocab_n * 4)) TRUNC("the vocabulary");
    uint32_t meta_n;
    if (!take_u32(&r, &meta_n)) TRUNC("the metadata size");
    if (meta_n > (1u << 26)) CORRUPT("metadata size %u is too large", meta_n);
    size_t meta_at = r.at;
    if (!take(&r, NULL, meta_n + (4 - meta_n % 4) % 4)) TRUNC("the metadata");
    uint64_t stored_params;
    if (!take_u64(&r, &stored_params)) TRUNC("the parameter count");
    if (stored_params != n_params)
        CORRUPT("parameter count %llu does not match the config (%llu)",
                (unsigned long long)stored_params, (unsigned long long)n_params);
    size_t params_at = r.at;
    const uint64_t param_bytes = int8 ? lstm_q8_section_bytes(&cfg) : n_params * 4;
    if (param_bytes > r.n - r.at) TRUNC("the parameters");
    take(&r, NULL, (size_t)param_bytes);

    /* training state, checked in full before anything is allocated */
    lstm_optimizer opt;
    uint32_t has_opt = 0, carry_B = 0, n_moments = 0;
    uint64_t step = 0, pos = 0, drop_rng = 0, samp_rng = 0, skipped = 0;
    double loss_mean = 0.0;
    uint32_t loss_count = 0;
    size_t carry_at = 0, moments_at = 0, carry_n = 0;
    if (flags & LSTM_SAVE_TRAINING_STATE) {
        if (!take(&r, &opt, OPTIMIZER_WORDS * 4) || !take_u32(&r, &has_opt) ||
            !take_u64(&r, &step) || !take_u64(&r, &pos) || !take_u64(&r, &drop_rng) ||
            !take_u64(&r, &samp_rng) || !take_u32(&r, &carry_B))
            TRUNC("the training state");
        if (has_opt > 1) CORRUPT("has_optimizer must be 0 or 1, got %u", has_opt);
        char omsg[200];
        if (lstm_optimizer_check(&opt, omsg, sizeof omsg) != LSTM_OK) CORRUPT("bad optimizer: %s", omsg);
        if (carry_B > LSTM_MAX_BATCH) CORRUPT("carried batch size %u is too large", carry_B);
        uint64_t carry_n64 = 2ull * (uint64_t)cfg.num_layers * carry_B * (uint64_t)cfg.hidden_size;
        if (carry_n64 * 4 > r.n - r.at) TRUNC("the carried state");
        carry_n = (size_t)carry_n64;
        carry_at = r.at;
        take(&r, NULL, carry_n * 4);
        if (!take_u32(&r, &n_moments)) TRUNC("the moment count");
        if (n_moments != (has_opt ? (uint32_t)lstm_moments_for(opt.type) : 0u))
            CORRUPT("moment count %u does not match the optimizer", n_moments);
        moments_at = r.at;
        if ((uint64_t)n_moments * n_params * 4 > r.n - r.at) TRUNC("the optimizer moments");
        take(&r, NULL, (size_t)n_moments * (size_t)n_params * 4);
        if (version >= 3) {
            uint32_t n_guard;
            if (!take_u32(&r, &n_guard) || n_guard < GUARD_WORDS || n_guard > CONFIG_WORDS_MAX)
                CORRUPT("the bad-step record's word count is missing or outside [%d, %d]", GUARD_WORDS,
                        CONFIG_WORDS_MAX);
            if (!take(&r, &loss_mean, 8) || !take_u32(&r, &loss_count) || !take_u64(&r, &skipped))
                TRUNC("the bad-step record");
            if (!isfinite(loss_mean) || loss_mean < 0.0 || loss_count > LSTM_LOSS_WINDOW)
                CORRUPT("the running loss mean (%g over %u losses) is impossible", loss_mean, loss_count);
            lstm_status gst = unknown_words_zero(&r, GUARD_WORDS, n_guard, "bad-step record", msg);
            if (gst != LSTM_OK) return gst;
        }
    }
    if (r.at != r.n) CORRUPT("%zu unexpected bytes before the checksum", r.n - r.at);

    lstm_model *m = NULL;
    st = lstm_model_alloc(&cfg, int8, &m, msg);
    if (st != LSTM_OK) return st;
    if (int8) {
        st = lstm_q8_read(m, buf + params_at, msg);
        if (st != LSTM_OK) {
            lstm_free(m);
            return st;
        }
    } else {
        memcpy(m->params, buf + params_at, (size_t)n_params * 4);
        if (!all_finite(m->params, m->n_params)) {
            lstm_free(m);
            CORRUPT("a parameter is NaN or infinite");
        }
    }
    if (vocab_n > 0) {
        /* copied out first: the code points need not be 4-byte aligned in the buffer */
        m->vocab = malloc((size_t)vocab_n * 4);
        if (!m->vocab) { lstm_free(m); lstm_message_set(msg, "cannot allocate the vocabulary"); return LSTM_ERR_OUT_OF_MEMORY; }
        memcpy(m->vocab, buf + vocab_at, (size_t)vocab_n * 4);
        m->vocab_size = (int32_t)vocab_n;
        for (uint32_t i = 0; i < vocab_n; i++) {
            uint32_t cp = m->vocab[i];
            if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
                lstm_free(m);
                CORRUPT("vocabulary entry %u is not a Unicode scalar value: 0x%X", i, cp);
            }
        }
    }
    if (meta_n > 0 && lstm_set_metadata(m, buf + meta_at, meta_n) != LSTM_OK) {
        lstm_free(m);
        lstm_message_set(msg, "cannot allocate the metadata");
        return LSTM_ERR_OUT_OF_MEMORY;
    }
    m->param_version = 1;
    m->dropout_rng = rng_seed(cfg.seed, 1);
    m->sample_rng = rng_seed(cfg.seed, 2);
    if (flags & LSTM_SAVE_TRAINING_STATE) {
        if (has_opt) {
            m->moments = malloc((size_t)n_moments * m->n_params * sizeof(float));
            if (!m->moments) { lstm_free(m); lstm_message_set(msg, "cannot allocate optimizer state"); return LSTM_ERR_OUT_OF_MEMORY; }
            memcpy(m->moments, buf + moments_at, (size_t)n_moments * m->n_params * 4);
            m->n_moments = (int)n_moments;
            m->opt = opt;
            m->has_opt = 1;
        }
        if (carry_B > 0) {
            if (lstm_carry_resize(m, (int)carry_B) != LSTM_OK) { lstm_free(m); lstm_message_set(msg, "cannot allocate the carried state"); return LSTM_ERR_OUT_OF_MEMORY; }
            memcpy(m->carry, buf + carry_at, carry_n * 4);
        }
        m->step = step;
        m->stream_pos = pos;
        m->dropout_rng = drop_rng;
        m->sample_rng = samp_rng;
        m->loss_mean = loss_mean;
        m->loss_count = loss_count;
        m->skipped = skipped;
    }
    *out = m;
    return LSTM_OK;
}

lstm_status lstm_load(const uint8_t *buf, size_t len, lstm_model **out, lstm_message *msg) {
    if (!out) { lstm_message_set(msg, "out is NULL"); return LSTM_ERR_INVALID_ARGUMENT; }
    *out = NULL;
    if (!buf && len > 0) { lstm_message_set(msg, "buffer is NULL"); return LSTM_ERR_INVALID_ARGUMENT; }
    if (!buf) { lstm_message_set(msg, "the buffer is empty"); return LSTM_ERR_TRUNCATED; }
    return read_model(buf, len, out, msg);
}
