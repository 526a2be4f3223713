/* threads.c - the large matrix products spread over the threads of the threads build.
 *
 * The threads build (-matomics, one shared memory) is instantiated once per thread on the same
 * WebAssembly.Memory (src/js/threads.js): thread 0 is the caller's, and threads 1..n-1 wait in
 * lstm_thread_main. A product is cut by output rows (or, when it has too few rows, by output
 * columns), at boundaries that keep every element on the code path one thread would take, so
 * each element is summed in the same order: results are bit-identical to one thread. Other
 * builds have one thread, and the same calls. */
#include "model.h"

#if defined(__wasm_atomics__)

/* A product below this many multiply-adds runs on one thread: waking the others costs about
 * as much (tens of microseconds). */
#define MIN_SPLIT_MACS (1 << 18)

typedef enum { JOB_NT, JOB_NN, JOB_TN } job_kind;

/* One product being computed, and the pool's counters (shared by every thread). */
static struct {
    int32_t generation; /* bumped for every job: what the waiting threads watch */
    int32_t pending;    /* threads 1..n-1 that have not finished the current job */
    int32_t threads;    /* n */
    int32_t may_block;  /* may thread 0 wait (memory.atomic.wait) rather than spin? */
    job_kind kind;
    int by_columns, align;
    int M, N, K, lda, ldb, ldc;
    const float *A, *B;
    float *C;
} pool = {.threads = 1};

static const lstm_kernels *simd(void) { return &lstm_kernels_wasmsimd; }

/* Part i of n of [0, total), cut at multiples of align. */
static void part(int total, int align, int i, int n, int *lo, int *hi) {
    int per = (total + n - 1) / n;
    per = (per + align - 1) / align * align;
    *lo = i * per < total ? i * per : total;
    *hi = *lo + per < total ? *lo + per : total;
}

/* Thread i's share of the current job. */
static void run_part(int i) {
    const int n = pool.threads;
    int lo, hi;
    part(pool.by_columns ? pool.N : pool.M, pool.align, i, n, &lo, &hi);
    if (lo >= hi) return;
    const int rows = hi - lo;
    switch (pool.kind) {
    case JOB_NT:
        if (pool.by_columns)
            simd()->gemm_nt(pool.M, rows, pool.K, pool.A, pool.lda, pool.B + (size_t)lo * pool.ldb, pool.ldb,
                            pool.C + lo, pool.ldc);
        else
            simd()->gemm_nt(rows, pool.N, pool.K, pool.A + (size_t)lo * pool.lda, pool.lda, pool.B, pool.ldb,
                            pool.C + (size_t)lo * pool.ldc, pool.ldc);
        break;
    case JOB_NN:
        simd()->gemm_nn(rows, pool.N, pool.K, pool.A + (size_t)lo * pool.lda, pool.lda, pool.B, pool.ldb,
                        pool.C + (size_t)lo * pool.ldc, pool.ldc);
        break;
    default: /* A is (K, M): its columns lo..hi are those rows of C */
        simd()->gemm_tn(rows, pool.N, pool.K, pool.A + lo, pool.lda, pool.B, pool.ldb,
                        pool.C + (size_t)lo * pool.ldc, pool.ldc);
    }
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

/* Run the job set in pool on every thread; thread 0 is this one. */
static void run_job(void) {
    __atomic_store_n(&pool.pending, pool.threads - 1, __ATOMIC_RELEASE);
    __atomic_add_fetch(&pool.generation, 1, __ATOMIC_ACQ_REL);
    __builtin_wasm_memory_atomic_notify(&pool.generation, (uint32_t)-1);
    run_part(0);
    int32_t left;
    while ((left = __atomic_load_n(&pool.pending, __ATOMIC_ACQUIRE)) != 0)
        if (pool.may_block) __builtin_wasm_memory_atomic_wait32(&pool.pending, left, -1);
}

/* Split a product over the threads when it is worth it; else one thread runs it. */
static int shared(job_kind kind, int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                  float *C, int ldc) {
    const int n = pool.threads;
    if (n < 2 || (double)M * N * K < MIN_SPLIT_MACS) return 0;
    pool.kind = kind;
    pool.M = M, pool.N = N, pool.K = K, pool.lda = lda, pool.ldb = ldb, pool.ldc = ldc;
    pool.A = A, pool.B = B, pool.C = C;
    /* the boundaries: gemm_nt works on pairs of rows and on columns 4 or 8 at a time, gemm_tn
     * on rows 4 at a time (its last M % 4 on another path); gemm_nn's rows are independent */
    pool.by_columns = kind == JOB_NT && M < 2 * n * 8;
    pool.align = pool.by_columns ? 8 : kind == JOB_NT ? 2 : kind == JOB_TN ? 4 : 1;
    run_job();
    return 1;
}

static void gemm_nt_threads(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C,
                            int ldc) {
    if (!shared(JOB_NT, M, N, K, A, lda, B, ldb, C, ldc)) simd()->gemm_nt(M, N, K, A, lda, B, ldb, C, ldc);
}
static void gemm_nn_threads(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C,
                            int ldc) {
    if (!shared(JOB_NN, M, N, K, A, lda, B, ldb, C, ldc)) simd()->gemm_nn(M, N, K, A, lda, B, ldb, C, ldc);
}
static void gemm_tn_threads(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C,
                            int ldc) {
    if (!shared(JOB_TN, M, N, K, A, lda, B, ldb, C, ldc)) simd()->gemm_tn(M, N, K, A, lda, B, ldb, C, ldc);
}

const lstm_kernels *lstm_kernels_threads(void) {
    /* the SIMD table with the products split; made once, on the first model's thread */
    static lstm_kernels table;
    if (!table.impl) {
        table = lstm_kernels_wasmsimd;
        table.gemm_nt = gemm_nt_threads;
        table.gemm_nn = gemm_nn_threads;
        table.gemm_tn = gemm_tn_threads;
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
