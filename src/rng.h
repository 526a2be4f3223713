/* rng.h - PCG32, the seeded generator behind initialisation, dropout and sampling.
 * Small explicit state, so every model owns its streams and saves them with a checkpoint. */
#ifndef LSTM_RNG_H
#define LSTM_RNG_H

#include <stdint.h>

static inline uint32_t rng_next(uint64_t *state) {
    uint64_t old = *state;
    *state = old * 6364136223846793005ULL + 1442695040888963407ULL;
    uint32_t xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
    uint32_t rot = (uint32_t)(old >> 59u);
    return (xorshifted >> rot) | (xorshifted << ((32u - rot) & 31u));
}

/* uniform in [0, 1) with 24 random bits: every value is an exact float */
static inline float rng_uniform(uint64_t *state) {
    return (float)(rng_next(state) >> 8) * (1.0f / 16777216.0f);
}

/* distinct, well-mixed streams from one user seed (splitmix64 finaliser) */
static inline uint64_t rng_seed(uint32_t seed, uint32_t stream) {
    uint64_t z = ((uint64_t)stream << 32 | seed) + 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

#endif /* LSTM_RNG_H */
