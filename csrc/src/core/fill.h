/* The test-matrix generator, shared by the host loop and the CUDA kernel so both backends give
 * the same matrix for a seed. */
#ifndef BUNMG_FILL_H
#define BUNMG_FILL_H

#include <stdint.h>

#ifdef __CUDACC__
#define BUNMG_HD __host__ __device__ static inline
#else
#define BUNMG_HD static inline
#endif

/* splitmix64 of (seed, i, j, part): a uniform double in [-1, 1). */
BUNMG_HD double bunmg_fill_uniform(uint64_t seed, uint64_t i, uint64_t j, uint64_t part) {
  uint64_t z = seed ^ (i * 0x9E3779B97F4A7C15ull) ^ (j * 0xC2B2AE3D27D4EB4Full) ^ (part * 0x165667B19E3779F9ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return (double)(z >> 11) * (2.0 / 9007199254740992.0) - 1.0;
}

/* Element (i, j) of an n x n matrix as (re, im). HPD: a[j][i] = conj(a[i][j]) and a real diagonal
 * of 2n; each row's off-diagonal moduli sum to under sqrt(2) (n - 1) < 2n, so by Gershgorin every
 * eigenvalue is positive. */
BUNMG_HD void bunmg_fill_element(int kind, int complex_values, uint64_t seed, int64_t n, int64_t i, int64_t j,
                                 double *re, double *im) {
  if (kind == 1) { /* uniform */
    *re = bunmg_fill_uniform(seed, (uint64_t)i, (uint64_t)j, 0);
    *im = complex_values ? bunmg_fill_uniform(seed, (uint64_t)i, (uint64_t)j, 1) : 0.0;
    return;
  }
  if (i == j) {
    *re = 2.0 * (double)n;
    *im = 0.0;
    return;
  }
  int64_t lo = i < j ? i : j, hi = i < j ? j : i;
  *re = bunmg_fill_uniform(seed, (uint64_t)lo, (uint64_t)hi, 0);
  *im = complex_values ? (i < j ? 1.0 : -1.0) * bunmg_fill_uniform(seed, (uint64_t)lo, (uint64_t)hi, 1) : 0.0;
}

#endif
