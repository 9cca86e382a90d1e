#include "adam_step.h"

#include <math.h>

/* Fusing a multiply and an add would change the bits; the update must match a plain loop. */
#pragma STDC FP_CONTRACT OFF

static void adam_step_range(
    size_t start,
    size_t end,
    float *parameters,
    const float *gradients,
    float *first_moments,
    float *second_moments,
    float alpha,
    float first_rate,
    float second_rate,
    float epsilon)
{
    for (size_t index = start; index < end; index++) {
        float gradient = gradients[index];
        float first = first_moments[index] + (gradient - first_moments[index]) * first_rate;
        float second = second_moments[index] + (gradient * gradient - second_moments[index]) * second_rate;
        first_moments[index] = first;
        second_moments[index] = second;
        parameters[index] -= first * alpha / (sqrtf(fabsf(second)) + epsilon);
    }
}

#if defined(__x86_64__)
#include <immintrin.h>

/* AVX only, not FMA: with FMA enabled the compiler may fuse the multiplies and adds. */
__attribute__((target("avx"))) static void adam_step_avx(
    size_t count,
    float *parameters,
    const float *gradients,
    float *first_moments,
    float *second_moments,
    float alpha,
    float first_rate,
    float second_rate,
    float epsilon)
{
    const __m256 alphas = _mm256_set1_ps(alpha);
    const __m256 first_rates = _mm256_set1_ps(first_rate);
    const __m256 second_rates = _mm256_set1_ps(second_rate);
    const __m256 epsilons = _mm256_set1_ps(epsilon);
    const __m256 magnitude = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    size_t index = 0;
    for (; index + 8 <= count; index += 8) {
        __m256 gradient = _mm256_loadu_ps(gradients + index);
        __m256 first = _mm256_loadu_ps(first_moments + index);
        __m256 second = _mm256_loadu_ps(second_moments + index);
        first = _mm256_add_ps(first, _mm256_mul_ps(_mm256_sub_ps(gradient, first), first_rates));
        __m256 squared = _mm256_mul_ps(gradient, gradient);
        second = _mm256_add_ps(second, _mm256_mul_ps(_mm256_sub_ps(squared, second), second_rates));
        _mm256_storeu_ps(first_moments + index, first);
        _mm256_storeu_ps(second_moments + index, second);
        __m256 root = _mm256_add_ps(_mm256_sqrt_ps(_mm256_and_ps(second, magnitude)), epsilons);
        __m256 step = _mm256_div_ps(_mm256_mul_ps(first, alphas), root);
        _mm256_storeu_ps(parameters + index, _mm256_sub_ps(_mm256_loadu_ps(parameters + index), step));
    }
    adam_step_range(
        index, count, parameters, gradients, first_moments, second_moments, alpha, first_rate, second_rate,
        epsilon);
}
#endif

void adam_step(
    size_t count,
    float *parameters,
    const float *gradients,
    float *first_moments,
    float *second_moments,
    float alpha,
    float first_rate,
    float second_rate,
    float epsilon)
{
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx")) {
        adam_step_avx(
            count, parameters, gradients, first_moments, second_moments, alpha, first_rate, second_rate, epsilon);
        return;
    }
#endif
    adam_step_range(
        0, count, parameters, gradients, first_moments, second_moments, alpha, first_rate, second_rate, epsilon);
}
