#include "small_products.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

/* Plain loops with the kernels' contract, for processors without AVX2 and FMA. */
static void multiply_portable(
    int transpose_a,
    size_t row_count,
    size_t column_count,
    size_t inner_count,
    const float *a,
    size_t lda,
    const float *b,
    size_t ldb,
    float *c,
    size_t ldc)
{
    size_t a_row_stride = transpose_a ? 1 : lda;
    size_t a_inner_stride = transpose_a ? lda : 1;
    for (size_t row = 0; row < row_count; row++) {
        float *c_row = c + row * ldc;
        for (size_t column = 0; column < column_count; column++) {
            c_row[column] = 0.0f;
        }
        for (size_t inner = 0; inner < inner_count; inner++) {
            float factor = a[row * a_row_stride + inner * a_inner_stride];
            const float *b_row = b + inner * ldb;
            for (size_t column = 0; column < column_count; column++) {
                c_row[column] += factor * b_row[column];
            }
        }
    }
}

static void transpose_portable(
    size_t first_row,
    size_t row_count,
    size_t first_column,
    size_t column_count,
    const float *source,
    size_t lds,
    float *destination,
    size_t ldd)
{
    for (size_t row = first_row; row < row_count; row++) {
        for (size_t column = first_column; column < column_count; column++) {
            destination[column * ldd + row] = source[row * lds + column];
        }
    }
}

#if defined(__x86_64__)

#define AVX2_FMA __attribute__((target("avx2,fma")))
#define INLINE_AVX2_FMA __attribute__((always_inline, target("avx2,fma"))) inline

/* A tile of c is up to TILE_ROWS rows by TILE_COLUMNS columns (two registers of 8): 12 sums,
 * two rows of b and one broadcast factor fit in the 16 registers. */
enum { TILE_ROWS = 6, TILE_COLUMNS = 16, LANES = 8 };

static INLINE_AVX2_FMA __m256i lane_mask(size_t count)
{
    __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)count), lanes);
}

/*
 * One tile: `rows` rows of c by `registers` (1 or 2) registers of columns, summed over the
 * whole inner dimension in registers and stored once. When `is_masked`, the last register
 * loads and stores only the lanes set in `mask`. The constant arguments come from the callers
 * below, so each use compiles to its own fully unrolled loop.
 */
static INLINE_AVX2_FMA void multiply_tile(
    const int transpose_a,
    const int rows,
    const int registers,
    const int is_masked,
    __m256i mask,
    size_t inner_count,
    const float *a,
    size_t lda,
    const float *b,
    size_t ldb,
    float *c,
    size_t ldc)
{
    __m256 sums[TILE_ROWS][2];
    for (int row = 0; row < rows; row++) {
        sums[row][0] = _mm256_setzero_ps();
        sums[row][1] = _mm256_setzero_ps();
    }

    for (size_t inner = 0; inner < inner_count; inner++) {
        const float *b_row = b + inner * ldb;
        __m256 low;
        __m256 high = _mm256_setzero_ps();
        if (registers == 1) {
            low = is_masked ? _mm256_maskload_ps(b_row, mask) : _mm256_loadu_ps(b_row);
        } else {
            low = _mm256_loadu_ps(b_row);
            high = is_masked ? _mm256_maskload_ps(b_row + LANES, mask)
                             : _mm256_loadu_ps(b_row + LANES);
        }
        for (int row = 0; row < rows; row++) {
            const float *factor_address = transpose_a ? a + inner * lda + (size_t)row
                                                      : a + (size_t)row * lda + inner;
            __m256 factor = _mm256_broadcast_ss(factor_address);
            sums[row][0] = _mm256_fmadd_ps(factor, low, sums[row][0]);
            if (registers == 2) {
                sums[row][1] = _mm256_fmadd_ps(factor, high, sums[row][1]);
            }
        }
    }

    for (int row = 0; row < rows; row++) {
        float *c_row = c + (size_t)row * ldc;
        if (registers == 1) {
            if (is_masked) {
                _mm256_maskstore_ps(c_row, mask, sums[row][0]);
            } else {
                _mm256_storeu_ps(c_row, sums[row][0]);
            }
        } else {
            _mm256_storeu_ps(c_row, sums[row][0]);
            if (is_masked) {
                _mm256_maskstore_ps(c_row + LANES, mask, sums[row][1]);
            } else {
                _mm256_storeu_ps(c_row + LANES, sums[row][1]);
            }
        }
    }
}

/* One tile of `rows` rows and `width` (1 to TILE_COLUMNS) columns. */
static INLINE_AVX2_FMA void multiply_tile_of_width(
    const int transpose_a,
    const int rows,
    size_t width,
    size_t inner_count,
    const float *a,
    size_t lda,
    const float *b,
    size_t ldb,
    float *c,
    size_t ldc)
{
    __m256i all = _mm256_set1_epi32(-1);
    if (width == TILE_COLUMNS) {
        multiply_tile(transpose_a, rows, 2, 0, all, inner_count, a, lda, b, ldb, c, ldc);
    } else if (width > LANES) {
        __m256i mask = lane_mask(width - LANES);
        multiply_tile(transpose_a, rows, 2, 1, mask, inner_count, a, lda, b, ldb, c, ldc);
    } else if (width == LANES) {
        multiply_tile(transpose_a, rows, 1, 0, all, inner_count, a, lda, b, ldb, c, ldc);
    } else {
        __m256i mask = lane_mask(width);
        multiply_tile(transpose_a, rows, 1, 1, mask, inner_count, a, lda, b, ldb, c, ldc);
    }
}

typedef void (*tile_function)(
    size_t width,
    size_t inner_count,
    const float *a,
    size_t lda,
    const float *b,
    size_t ldb,
    float *c,
    size_t ldc);

/* One out-of-line function per transpose flag and row count, each with its own unrolled tiles. */
#define DEFINE_TILE_FUNCTION(TRANSPOSE, ROWS)                                                      \
    static AVX2_FMA void multiply_tile_##TRANSPOSE##_##ROWS(                                      \
        size_t width,                                                                              \
        size_t inner_count,                                                                        \
        const float *a,                                                                            \
        size_t lda,                                                                                \
        const float *b,                                                                            \
        size_t ldb,                                                                                \
        float *c,                                                                                  \
        size_t ldc)                                                                                \
    {                                                                                              \
        multiply_tile_of_width(TRANSPOSE, ROWS, width, inner_count, a, lda, b, ldb, c, ldc);      \
    }

DEFINE_TILE_FUNCTION(0, 1)
DEFINE_TILE_FUNCTION(0, 2)
DEFINE_TILE_FUNCTION(0, 3)
DEFINE_TILE_FUNCTION(0, 4)
DEFINE_TILE_FUNCTION(0, 5)
DEFINE_TILE_FUNCTION(0, 6)
DEFINE_TILE_FUNCTION(1, 1)
DEFINE_TILE_FUNCTION(1, 2)
DEFINE_TILE_FUNCTION(1, 3)
DEFINE_TILE_FUNCTION(1, 4)
DEFINE_TILE_FUNCTION(1, 5)
DEFINE_TILE_FUNCTION(1, 6)

static const tile_function tile_functions[2][TILE_ROWS] = {
    {multiply_tile_0_1, multiply_tile_0_2, multiply_tile_0_3, multiply_tile_0_4, multiply_tile_0_5,
     multiply_tile_0_6},
    {multiply_tile_1_1, multiply_tile_1_2, multiply_tile_1_3, multiply_tile_1_4, multiply_tile_1_5,
     multiply_tile_1_6},
};

/*
 * Row tiles outside, column tiles inside: the few rows of a that a row tile reads stay in L1
 * for all its column tiles, so a is read from L2 once, and b, which is small when there are
 * few columns, stays in L1 or L2 throughout. (Column tiles outside read a from L2 once per
 * column tile and ran 30 % slower at 32 columns on Zen 3.) With many columns b outgrows the
 * caches and its unpacked rows conflict in L1; OpenBLAS, which packs, is the better choice
 * there.
 */
static AVX2_FMA void multiply_avx2(
    int transpose_a,
    size_t row_count,
    size_t column_count,
    size_t inner_count,
    const float *a,
    size_t lda,
    const float *b,
    size_t ldb,
    float *c,
    size_t ldc)
{
    const tile_function *functions = tile_functions[transpose_a ? 1 : 0];
    size_t a_row_stride = transpose_a ? 1 : lda;
    for (size_t first_row = 0; first_row < row_count; first_row += TILE_ROWS) {
        size_t rows = row_count - first_row < TILE_ROWS ? row_count - first_row : TILE_ROWS;
        for (size_t first_column = 0; first_column < column_count; first_column += TILE_COLUMNS) {
            size_t remaining = column_count - first_column;
            size_t width = remaining < TILE_COLUMNS ? remaining : TILE_COLUMNS;
            functions[rows - 1](
                width,
                inner_count,
                a + first_row * a_row_stride,
                lda,
                b + first_column,
                ldb,
                c + first_row * ldc + first_column,
                ldc);
        }
    }
}

/* Blocks of 8 x 8 through registers (the usual unpack, shuffle, permute sequence); the edges
 * that do not fill a block element by element. */
static AVX2_FMA void transpose_avx2(
    size_t row_count,
    size_t column_count,
    const float *source,
    size_t lds,
    float *destination,
    size_t ldd)
{
    size_t block_rows = row_count / LANES * LANES;
    size_t block_columns = column_count / LANES * LANES;
    for (size_t first_row = 0; first_row < block_rows; first_row += LANES) {
        for (size_t first_column = 0; first_column < block_columns; first_column += LANES) {
            const float *from = source + first_row * lds + first_column;
            __m256 r0 = _mm256_loadu_ps(from);
            __m256 r1 = _mm256_loadu_ps(from + lds);
            __m256 r2 = _mm256_loadu_ps(from + 2 * lds);
            __m256 r3 = _mm256_loadu_ps(from + 3 * lds);
            __m256 r4 = _mm256_loadu_ps(from + 4 * lds);
            __m256 r5 = _mm256_loadu_ps(from + 5 * lds);
            __m256 r6 = _mm256_loadu_ps(from + 6 * lds);
            __m256 r7 = _mm256_loadu_ps(from + 7 * lds);
            __m256 t0 = _mm256_unpacklo_ps(r0, r1);
            __m256 t1 = _mm256_unpackhi_ps(r0, r1);
            __m256 t2 = _mm256_unpacklo_ps(r2, r3);
            __m256 t3 = _mm256_unpackhi_ps(r2, r3);
            __m256 t4 = _mm256_unpacklo_ps(r4, r5);
            __m256 t5 = _mm256_unpackhi_ps(r4, r5);
            __m256 t6 = _mm256_unpacklo_ps(r6, r7);
            __m256 t7 = _mm256_unpackhi_ps(r6, r7);
            __m256 s0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
            __m256 s1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
            __m256 s2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
            __m256 s3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
            __m256 s4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
            __m256 s5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
            __m256 s6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
            __m256 s7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
            float *to = destination + first_column * ldd + first_row;
            _mm256_storeu_ps(to, _mm256_permute2f128_ps(s0, s4, 0x20));
            _mm256_storeu_ps(to + ldd, _mm256_permute2f128_ps(s1, s5, 0x20));
            _mm256_storeu_ps(to + 2 * ldd, _mm256_permute2f128_ps(s2, s6, 0x20));
            _mm256_storeu_ps(to + 3 * ldd, _mm256_permute2f128_ps(s3, s7, 0x20));
            _mm256_storeu_ps(to + 4 * ldd, _mm256_permute2f128_ps(s0, s4, 0x31));
            _mm256_storeu_ps(to + 5 * ldd, _mm256_permute2f128_ps(s1, s5, 0x31));
            _mm256_storeu_ps(to + 6 * ldd, _mm256_permute2f128_ps(s2, s6, 0x31));
            _mm256_storeu_ps(to + 7 * ldd, _mm256_permute2f128_ps(s3, s7, 0x31));
        }
    }
    transpose_portable(0, block_rows, block_columns, column_count, source, lds, destination, ldd);
    transpose_portable(block_rows, row_count, 0, column_count, source, lds, destination, ldd);
}

#endif

int smallproducts_is_supported(void)
{
#if defined(__x86_64__)
    // Both checks include the operating system's support for the 256-bit register state.
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

void smallproducts_multiply(
    int transpose_a,
    size_t row_count,
    size_t column_count,
    size_t inner_count,
    const float *a,
    size_t lda,
    const float *b,
    size_t ldb,
    float *c,
    size_t ldc)
{
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        multiply_avx2(transpose_a, row_count, column_count, inner_count, a, lda, b, ldb, c, ldc);
        return;
    }
#endif
    multiply_portable(transpose_a, row_count, column_count, inner_count, a, lda, b, ldb, c, ldc);
}

void smallproducts_transpose(
    size_t row_count,
    size_t column_count,
    const float *source,
    size_t lds,
    float *destination,
    size_t ldd)
{
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx2")) {
        transpose_avx2(row_count, column_count, source, lds, destination, ldd);
        return;
    }
#endif
    transpose_portable(0, row_count, 0, column_count, source, lds, destination, ldd);
}
