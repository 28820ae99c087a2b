/* Square fix-ups on host memory: mirrors, in-place transpose and conjugation, element by element. */
#include <string.h>

#include "host/fixup.h"

typedef struct square {
  char *const *shards;
  int64_t n, s;
  size_t esize;
  int complex_values;
  int32_t dtype;
} square;

static char *at(const square *q, int64_t i, int64_t j) {
  return q->shards[i / q->s] + ((size_t)(i % q->s) * (size_t)q->n + (size_t)j) * q->esize;
}

static void conj_in_place(const square *q, char *e) {
  if (!q->complex_values) return;
  if (q->dtype == BUNMG_COMPLEX64) ((float *)e)[1] = -((float *)e)[1];
  else ((double *)e)[1] = -((double *)e)[1];
}

/* A mirror's conjugate takes 0 - y, which keeps +0 imaginary parts +0 (real data stored as
 * complex), so a restored A is bit for bit the input. */
static void mirror_in_place(const square *q, char *e) {
  if (!q->complex_values) return;
  if (q->dtype == BUNMG_COMPLEX64) ((float *)e)[1] = 0.0f - ((float *)e)[1];
  else ((double *)e)[1] = 0.0 - ((double *)e)[1];
}

void bunmg_fixup_host(const bunmg_matrix *a, int32_t ndev, int32_t mode) {
  square q = {(char *const *)a->shards, a->rows, bunmg_shard_rows(a->rows, ndev), bunmg_dtype_size(a->dtype),
              bunmg_dtype_is_complex(a->dtype), a->dtype};
  char tmp[16];
  int conj = (mode & BUNMG_FIX_CONJ) != 0, real_diagonal = (mode & BUNMG_FIX_REAL_DIAGONAL) && q.complex_values;
  for (int64_t i = 0; i < q.n; i++) {
    if (conj) conj_in_place(&q, at(&q, i, i));
    if (real_diagonal) memset(at(&q, i, i) + q.esize / 2, 0, q.esize / 2);
    for (int64_t j = i + 1; j < q.n; j++) {
      char *upper = at(&q, i, j), *lower = at(&q, j, i);
      if (mode & BUNMG_FIX_MIRROR_UPPER_TO_LOWER) {
        memcpy(lower, upper, q.esize);
        mirror_in_place(&q, lower);
      } else if (mode & BUNMG_FIX_MIRROR_LOWER_TO_UPPER) {
        memcpy(upper, lower, q.esize);
        mirror_in_place(&q, upper);
      } else if (mode & BUNMG_FIX_TRANSPOSE) {
        memcpy(tmp, upper, q.esize);
        memcpy(upper, lower, q.esize);
        memcpy(lower, tmp, q.esize);
      }
      if (conj) {
        conj_in_place(&q, upper);
        conj_in_place(&q, lower);
      }
    }
  }
}
