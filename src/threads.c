/* threads.c - the kernels spread over the threads of the threads build.
 *
 * The threads build (-matomics, one shared memory) is instantiated once per thread on the same
 * WebAssembly.Memory (src/js/threads.js): thread 0 is the caller's, and threads 1..n-1 wait in
 * lstm_thread_main. A kernel call is cut into parts that are independent (rows of a product's
 * output, or its columns when it has too few rows; rows of a cell; elements of an optimizer
 * update), at boundaries that keep every element on the code path one thread would take, so
 * each element is computed in the same order: results are bit-identical to one thread. The
 * reductions (sum_squares, softmax_xent's loss) stay on one thread for the same reason. Other
 * builds have one thread, and the same calls. */
#include "model.h"

#if defined(__wasm_atomics__)

/* A call below this much work runs on one thread: waking the others costs tens of
 * microseconds, about a quarter of a million multiply-adds. */
#define MIN_SPLIT_WORK (1 << 18)
/* A product of a few rows (a generation or trace step: one row per sequence) is cut only above
 * this: it comes every few dozen microseconds, each time a wake-up, and reads weights that the
 * other thread then reads from the other core's cache. Measured on 2 cores: cut at 2^18, a
 * 2 x 256 model generated at 4-6k chars/s on 2 threads against 9-10k on 1. */
#define MIN_SPLIT_FEW_ROWS (1 << 22)

/* One job: fn(args, lo, hi) over [0, total) cut into parts at multiples of align. */
typedef void (*part_fn)(const void *args, int lo, int hi, int thread);

static struct {
    int32_t generation; /* bumped for every job: what the waiting threads watch */
    int32_t pending;    /* threads 1..n-1 that have not finished the current job */
    int32_t threads;    /* n */
    int32_t may_block;  /* may thread 0 wait (memory.atomic.wait) rather than spin? */
    part_fn fn;
    const void *args;
    int total, align;
    int32_t finite[LSTM_MAX_THREADS]; /* the optimizer parts' results */
} pool = {.threads = 1};

static const lstm_kernels *simd(void) { return &lstm_kernels_wasmsimd; }

static void run_part(int i) {
    const int n = pool.threads;
    int per = (pool.total + n - 1) / n;
    per = (per + pool.align - 1) / pool.align * pool.align;
    const int lo = i * per < pool.total ? i * per : pool.total;
    const int hi = lo + per < pool.total ? lo + per : pool.total;
    if (lo < hi) pool.fn(pool.args, lo, hi, i);
}

int32_t lstm_thread_epoch(void) { return __atomic_load_n(&pool.generation, __ATOMIC_ACQUIRE); }

void lstm_thread_main(int32_t index, int32_t epoch) {
    int32_t seen = epoch; /* jobs before the thread was counted in are not its */
    for (;;) {
        int32_t g;
        while ((g = __atomic_load_n(&pool.generation, __ATOMIC_ACQUIRE)) == seen)
            __builtin_wasm_memory_atomic_wait32(&pool.generation, seen, -1);
        seen = g;
        if (index >= __atomic_load_n(&pool.threads, __ATOMIC_ACQUIRE)) return; /* the pool shrank */
        run_part(index);
        if (__atomic_sub_fetch(&pool.pending, 1, __ATOMIC_ACQ_REL) == 0)
            __builtin_wasm_memory_atomic_notify(&pool.pending, 1);
    }
}

/* Run fn over [0, total) on every thread when the work is worth it (work: multiply-adds or
 * elements, about); returns 0 if the caller should run it alone instead. */
static int shared(part_fn fn, const void *args, int total, int align, double work) {
    const int n = pool.threads;
    if (n < 2 || work < MIN_SPLIT_WORK || total < 2 * align) return 0;
    pool.fn = fn, pool.args = args, pool.total = total, pool.align = align;
    __atomic_store_n(&pool.pending, n - 1, __ATOMIC_RELEASE);
    __atomic_add_fetch(&pool.generation, 1, __ATOMIC_ACQ_REL);
    __builtin_wasm_memory_atomic_notify(&pool.generation, (uint32_t)-1);
    run_part(0);
    int32_t left;
    while ((left = __atomic_load_n(&pool.pending, __ATOMIC_ACQUIRE)) != 0)
        if (pool.may_block) __builtin_wasm_memory_atomic_wait32(&pool.pending, left, -1);
    return 1;
}

/* ---- products: C (M, N) by rows, or by columns when it has few rows ---- */

/* gemm_panels sums every element in the order of k however it is cut; rows are cut at
 * multiples of 4 (its tiles), columns at multiples of 8 (its panels), and packing by columns */
typedef struct { int M, N, K, lda, trans, ldp, j0, ldc; const float *A, *P; float *C; } panels_args;

static void panels_rows(const void *p, int lo, int hi, int t) {
    const panels_args *a = p;
    (void)t;
    const float *A = a->trans ? a->A + lo : a->A + (size_t)lo * a->lda;
    simd()->gemm_panels(hi - lo, a->N, a->K, A, a->lda, a->trans, a->P, a->ldp, a->j0, a->C + (size_t)lo * a->ldc, a->ldc);
}
static void panels_columns(const void *p, int lo, int hi, int t) {
    const panels_args *a = p;
    (void)t;
    simd()->gemm_panels(a->M, hi - lo, a->K, a->A, a->lda, a->trans, a->P, a->ldp, a->j0 + lo, a->C + lo, a->ldc);
}
static void gemm_panels_threads(int M, int N, int K, const float *A, int lda, int trans, const float *P, int ldp,
                                int j0, float *C, int ldc) {
    const panels_args a = {M, N, K, lda, trans, ldp, j0, ldc, A, P, C};
    const double work = (double)M * N * K;
    const int few_rows = M < 2 * 8 * pool.threads;
    if (!(few_rows ? work >= MIN_SPLIT_FEW_ROWS && shared(panels_columns, &a, N, 8, work)
                   : shared(panels_rows, &a, M, 4, work)))
        simd()->gemm_panels(M, N, K, A, lda, trans, P, ldp, j0, C, ldc);
}

typedef struct { int K, N, ldb, trans, ldp, j0; const float *B; float *P; } pack_args;

static void pack_columns(const void *p, int lo, int hi, int t) {
    const pack_args *a = p;
    (void)t;
    const float *B = a->trans ? a->B + (size_t)lo * a->ldb : a->B + lo;
    simd()->pack_panels(a->K, hi - lo, B, a->ldb, a->trans, a->P, a->ldp, a->j0 + lo);
}
static void pack_panels_threads(int K, int N, const float *B, int ldb, int trans, float *P, int ldp, int j0) {
    const pack_args a = {K, N, ldb, trans, ldp, j0, B, P};
    if (!shared(pack_columns, &a, N, 8, 4.0 * K * N)) simd()->pack_panels(K, N, B, ldb, trans, P, ldp, j0);
}

/* ---- quantised products: every element on its own, by rows or by columns ---- */

typedef struct { int M, N, K, lda, ldb, ldc; const int16_t *A; const float *as; const int8_t *B; const float *bs; float *C; } q8_args;

static void q8_rows(const void *p, int lo, int hi, int t) {
    const q8_args *a = p;
    (void)t;
    simd()->gemm_nt_q8(hi - lo, a->N, a->K, a->A + (size_t)lo * a->lda, a->lda, a->as + lo, a->B, a->ldb, a->bs,
                       a->C + (size_t)lo * a->ldc, a->ldc);
}
static void q8_columns(const void *p, int lo, int hi, int t) {
    const q8_args *a = p;
    (void)t;
    simd()->gemm_nt_q8(a->M, hi - lo, a->K, a->A, a->lda, a->as, a->B + (size_t)lo * a->ldb, a->ldb, a->bs + lo,
                       a->C + lo, a->ldc);
}
static void gemm_nt_q8_threads(int M, int N, int K, const int16_t *A, int lda, const float *as, const int8_t *B,
                               int ldb, const float *bs, float *C, int ldc) {
    const q8_args a = {M, N, K, lda, ldb, ldc, A, as, B, bs, C};
    const double work = (double)M * N * K / 4; /* a product takes a quarter of a float one's time */
    if (!(M < 2 * pool.threads ? work >= MIN_SPLIT_FEW_ROWS && shared(q8_columns, &a, N, 1, work)
                               : shared(q8_rows, &a, M, 1, work)))
        simd()->gemm_nt_q8(M, N, K, A, lda, as, B, ldb, bs, C, ldc);
}

/* ---- transposes and cells: by rows (work weighted: a cell element costs some 50 multiply-adds) ---- */

typedef struct { int rows, cols, lda, ldb; const float *A; float *B; } transpose_args;

static void transpose_rows(const void *p, int lo, int hi, int t) {
    const transpose_args *a = p;
    (void)t;
    simd()->transpose(hi - lo, a->cols, a->A + (size_t)lo * a->lda, a->lda, a->B + lo, a->ldb);
}
/* the SIMD transpose works on 4 x 4 blocks: cut at multiples of 4 rows */
static void transpose_threads(int rows, int cols, const float *A, int lda, float *B, int ldb) {
    const transpose_args a = {rows, cols, lda, ldb, A, B};
    if (!shared(transpose_rows, &a, rows, 4, 4.0 * rows * cols)) simd()->transpose(rows, cols, A, lda, B, ldb);
}

typedef struct { int H; float *gates; const float *c_prev, *tanh_c, *dh; float *c, *t, *h, *dc, *dgates; } cell_args;

static void forward_rows(const void *p, int lo, int hi, int t) {
    const cell_args *a = p;
    const size_t o = (size_t)lo * a->H;
    (void)t;
    simd()->lstm_cell_forward(hi - lo, a->H, a->gates + 4 * o, a->c_prev + o, a->c + o, a->t + o, a->h + o);
}
static void backward_rows(const void *p, int lo, int hi, int t) {
    const cell_args *a = p;
    const size_t o = (size_t)lo * a->H;
    (void)t;
    simd()->lstm_cell_backward(hi - lo, a->H, a->gates + 4 * o, a->c_prev + o, a->tanh_c + o, a->dh + o, a->dc + o,
                               a->dgates + 4 * o);
}
static void lstm_cell_forward_threads(int B, int H, float *gates, const float *c_prev, float *c, float *tanh_c, float *h) {
    const cell_args a = {H, gates, c_prev, NULL, NULL, c, tanh_c, h, NULL, NULL};
    if (!shared(forward_rows, &a, B, 1, 64.0 * B * H)) simd()->lstm_cell_forward(B, H, gates, c_prev, c, tanh_c, h);
}
static void lstm_cell_backward_threads(int B, int H, const float *gates, const float *c_prev, const float *tanh_c,
                                       const float *dh, float *dc, float *dgates) {
    const cell_args a = {H, (float *)gates, c_prev, tanh_c, dh, NULL, NULL, NULL, dc, dgates};
    if (!shared(backward_rows, &a, B, 1, 48.0 * B * H))
        simd()->lstm_cell_backward(B, H, gates, c_prev, tanh_c, dh, dc, dgates);
}

/* ---- optimizer updates: by elements, each part's "all finite" combined ---- */

typedef struct {
    int kind; /* 0 sgd, 1 rmsprop, 2 adam */
    float *p, *m, *v;
    const float *g;
    float lr, beta1, beta2, eps, decay, bc1, bc2, momentum;
    int commit;
} update_args;

static void update_part(const void *q, int lo, int hi, int t) {
    const update_args *a = q;
    const size_t n = (size_t)(hi - lo);
    float *p = a->p + lo, *m = a->m + lo, *v = a->v ? a->v + lo : NULL;
    const float *g = a->g + lo;
    pool.finite[t] = a->kind == 0 ? simd()->sgd_update(n, p, g, m, a->lr, a->momentum, a->decay, a->commit)
                     : a->kind == 1 ? simd()->rmsprop_update(n, p, g, m, a->lr, a->beta2, a->eps, a->decay, a->commit)
                                    : simd()->adam_update(n, p, g, m, v, a->lr, a->beta1, a->beta2, a->eps, a->decay,
                                                          a->bc1, a->bc2, a->commit);
}

/* Run an update over n elements (cut at multiples of 4, the vector width); 1 if all finite. */
static int update(const update_args *a, size_t n) {
    if (n > (size_t)1 << 30) n = 0; /* never: LSTM_MAX_PARAMS is 2^28 */
    for (int t = 0; t < pool.threads; t++) pool.finite[t] = 1;
    if (!shared(update_part, a, (int)n, 4, 4.0 * (double)n)) {
        update_part(a, 0, (int)n, 0);
        return pool.finite[0];
    }
    int finite = 1;
    for (int t = 0; t < pool.threads; t++) finite &= pool.finite[t];
    return finite;
}

static int sgd_update_threads(size_t n, float *p, const float *g, float *v, float lr, float momentum, float decay,
                              int commit) {
    const update_args a = {0, p, v, NULL, g, lr, 0, 0, 0, decay, 0, 0, momentum, commit};
    return update(&a, n);
}
static int rmsprop_update_threads(size_t n, float *p, const float *g, float *s, float lr, float beta2, float eps,
                                  float decay, int commit) {
    const update_args a = {1, p, s, NULL, g, lr, 0, beta2, eps, decay, 0, 0, 0, commit};
    return update(&a, n);
}
static int adam_update_threads(size_t n, float *p, const float *g, float *m, float *v, float lr, float beta1,
                               float beta2, float eps, float decay, float bc1, float bc2, int commit) {
    const update_args a = {2, p, m, v, g, lr, beta1, beta2, eps, decay, bc1, bc2, 0, commit};
    return update(&a, n);
}

const lstm_kernels *lstm_kernels_threads(void) {
    /* the SIMD table with the kernels that can be cut replaced; made once, in lstm_set_threads */
    static lstm_kernels table;
    if (!table.impl) {
        table = lstm_kernels_wasmsimd;
        table.gemm_panels = gemm_panels_threads;
        table.pack_panels = pack_panels_threads;
        table.transpose = transpose_threads;
        table.lstm_cell_forward = lstm_cell_forward_threads;
        table.lstm_cell_backward = lstm_cell_backward_threads;
        table.sgd_update = sgd_update_threads;
        table.rmsprop_update = rmsprop_update_threads;
        table.adam_update = adam_update_threads;
        table.gemm_nt_q8 = gemm_nt_q8_threads;
        table.impl = "wasmsimd-threads";
    }
    return &table;
}

lstm_status lstm_set_threads(int32_t n, int32_t caller_may_block) {
    if (n < 1 || n > LSTM_MAX_THREADS) return LSTM_ERR_INVALID_ARGUMENT;
    lstm_kernels_threads(); /* made here, before any other thread could ask for it */
    pool.may_block = caller_may_block != 0;
    const int32_t before = pool.threads;
    __atomic_store_n(&pool.threads, n, __ATOMIC_RELEASE);
    if (n < before) { /* wake the threads past n so they return */
        __atomic_add_fetch(&pool.generation, 1, __ATOMIC_ACQ_REL);
        __builtin_wasm_memory_atomic_notify(&pool.generation, (uint32_t)-1);
    }
    return LSTM_OK;
}

int32_t lstm_threads(void) { return pool.threads; }

#else /* one thread */

lstm_status lstm_set_threads(int32_t n, int32_t caller_may_block) {
    (void)caller_may_block;
    return n == 1 ? LSTM_OK : LSTM_ERR_STATE;
}

int32_t lstm_threads(void) { return 1; }

int32_t lstm_thread_epoch(void) { return 0; }

void lstm_thread_main(int32_t index, int32_t epoch) { (void)index, (void)epoch; }

#endif
