#ifndef STREAMLEARN_SMALL_PRODUCTS_H
#define STREAMLEARN_SMALL_PRODUCTS_H

#include <stddef.h>

/*
 * Single-precision matrix products for the few-column shapes of training (a batch of 32 to 64
 * records), written for AVX2 and FMA: register-tiled, with no packing copies and no pass over
 * the result before the product, so they beat OpenBLAS where its set-up dominates.
 *
 * All matrices are row-major and owned by the caller; leading dimensions are row strides in
 * elements and may exceed the widths. Nothing is allocated and no thread is started, so the
 * functions may run on any thread, each call on its own memory. Each result element is summed
 * over the inner dimension in ascending order, so the same inputs and shapes give the same bits
 * on every call. Results may differ from OpenBLAS's in the last bits (another summation order).
 */

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Whether this processor runs the AVX2 and FMA kernels (1) or not (0). On other processors the
 * functions below still give correct results, by plain C loops that are much slower than
 * OpenBLAS; callers should use OpenBLAS there.
 */
int smallproducts_is_supported(void);

/*
 * c = op(a) * b, with op(a) `row_count x inner_count`, b `inner_count x column_count` and c
 * `row_count x column_count`. op(a) is a as stored (`row_count x inner_count`, leading
 * dimension lda) when transpose_a is 0, or the transpose of a stored `inner_count x row_count`
 * matrix when it is 1. c is written, never read (no beta), and must not overlap a or b.
 */
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
    size_t ldc);

/*
 * destination (`column_count x row_count`, leading dimension ldd) = the transpose of source
 * (`row_count x column_count`, leading dimension lds). The two must not overlap.
 */
void smallproducts_transpose(
    size_t row_count,
    size_t column_count,
    const float *source,
    size_t lds,
    float *destination,
    size_t ldd);

#ifdef __cplusplus
}
#endif

#endif
