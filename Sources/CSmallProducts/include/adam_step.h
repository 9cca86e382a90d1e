#ifndef STREAMLEARN_ADAM_STEP_H
#define STREAMLEARN_ADAM_STEP_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * One Adam update over `count` parameters, in place, element by element:
 *
 *   m = m + (g - m) * first_rate
 *   v = v + (g * g - v) * second_rate
 *   p = p - (m * alpha) / (sqrt(|v|) + epsilon)
 *
 * with every operation rounded to float in this order and none fused, so the result is the
 * same bits as a plain loop computing the same expressions, on any processor. Runs eight
 * elements at a time with AVX where the processor has it. The arrays must not overlap.
 */
void adam_step(
    size_t count,
    float *parameters,
    const float *gradients,
    float *first_moments,
    float *second_moments,
    float alpha,
    float first_rate,
    float second_rate,
    float epsilon);

#ifdef __cplusplus
}
#endif

#endif
