/* quantize.c - quantised (int8) models: the parameter section of format version 4, where each
 * weight matrix (W_ih, W_hh, W_hr, out.weight) is stored as int8 rows with a float scale each
 * (w ~ q * scale, scale = max |row| / 127) and the other tensors as float32; writing it from a
 * float or a quantised model, and reading it into a quantised one, whose inference multiplies
 * by the int8 rows directly (gemm_nt_q8). Per matrix: the row scales, then the rows, padded
 * with zeros to 4 bytes; matrices and other tensors in the order of the parameter table. */
#include <math.h>
#include <string.h>

#include "model.h"

static uint64_t padded(uint64_t n) { return (n + 3) & ~(uint64_t)3; }

uint64_t lstm_q8_section_bytes(const lstm_config *c) {
    lstm_quantized q = {0}; /* measured only: nothing is pointed */
    lstm_tensors t = {0};
    return lstm_point_q8(c, NULL, &q) + 4 * lstm_point_tensors(c, NULL, &t, 0);
}

/* One float row as int8 and its scale, into scale and q. */
static void quantize_row(const float *w, size_t n, float *scale, int8_t *q) {
    float max = 0.0f;
    for (size_t k = 0; k < n; k++) max = fabsf(w[k]) > max ? fabsf(w[k]) : max;
    const float s = max > 0.0f ? max / 127.0f : 1.0f, inv = max > 0.0f ? 127.0f / max : 0.0f;
    for (size_t k = 0; k < n; k++) q[k] = (int8_t)nearbyintf(w[k] * inv); /* |w * inv| <= 127 */
    memcpy(scale, &s, sizeof s);
}

void lstm_q8_write(const lstm_model *m, uint8_t *out) {
    const float *compact = m->params; /* a quantised model's floats, in table order */
    const uint8_t *q8 = m->q8 ? m->q8->arena : NULL;
    for (int n = 0; n < m->n_tensors; n++) {
        const size_t rows = (size_t)m->tensor_info[n].rows, cols = (size_t)m->tensor_info[n].cols;
        if (!lstm_is_matrix(m->tensor_kind[n])) {
            const float *v = m->q8 ? compact : m->params + m->tensor_info[n].offset;
            memcpy(out, v, rows * cols * sizeof(float));
            out += rows * cols * sizeof(float);
            compact += m->q8 ? rows * cols : 0;
            continue;
        }
        const size_t bytes = rows * sizeof(float) + padded(rows * cols);
        if (m->q8) { /* already int8: the arena holds the section's block as it is */
            memcpy(out, q8, bytes);
            q8 += bytes;
        } else {
            memset(out, 0, bytes);
            const float *w = m->params + m->tensor_info[n].offset;
            for (size_t r = 0; r < rows; r++)
                quantize_row(w + r * cols, cols, (float *)(void *)(out + r * sizeof(float)),
                             (int8_t *)(out + rows * sizeof(float) + r * cols));
        }
        out += bytes;
    }
}

lstm_status lstm_q8_read(lstm_model *m, const uint8_t *in, lstm_message *msg) {
    float *compact = m->params;
    uint8_t *q8 = m->q8->arena;
    for (int n = 0; n < m->n_tensors; n++) {
        const size_t rows = (size_t)m->tensor_info[n].rows, cols = (size_t)m->tensor_info[n].cols;
        if (!lstm_is_matrix(m->tensor_kind[n])) {
            memcpy(compact, in, rows * cols * sizeof(float));
            for (size_t i = 0; i < rows * cols; i++)
                if (!isfinite(compact[i])) {
                    lstm_message_set(msg, "%s holds a value that is NaN or infinite", m->tensor_info[n].name);
                    return LSTM_ERR_CORRUPT;
                }
            compact += rows * cols;
            in += rows * cols * sizeof(float);
            continue;
        }
        const size_t bytes = rows * sizeof(float) + padded(rows * cols);
        memcpy(q8, in, bytes);
        for (size_t r = 0; r < rows; r++) {
            float s;
            memcpy(&s, q8 + r * sizeof(float), sizeof s);
            if (!(isfinite(s) && s > 0.0f)) {
                lstm_message_set(msg, "%s: row %zu's scale is %g, not a positive number", m->tensor_info[n].name, r,
                                 (double)s);
                return LSTM_ERR_CORRUPT;
            }
        }
        q8 += bytes;
        in += bytes;
    }
    return LSTM_OK;
}
