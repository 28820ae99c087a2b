/* bunmg_fill_random on host memory: the generator of core/fill.h, element by element. */
#include "core/fill.h"
#include "core/internal.h"

void bunmg_fill_host(const bunmg_matrix *m, int32_t ndev, int32_t kind, uint64_t seed) {
  int64_t s = bunmg_shard_rows(m->rows, ndev);
  int complex_values = bunmg_dtype_is_complex(m->dtype), single = bunmg_dtype_real_size(m->dtype) == 4;
  int64_t width = complex_values ? 2 : 1;
  for (int64_t i = 0; i < m->rows; i++) {
    char *row = (char *)m->shards[i / s] + (size_t)(i % s) * (size_t)m->cols * bunmg_dtype_size(m->dtype);
    for (int64_t j = 0; j < m->cols; j++) {
      double re, im;
      bunmg_fill_element(kind, complex_values, seed, m->rows, i, j, &re, &im);
      if (single) {
        ((float *)row)[j * width] = (float)re;
        if (complex_values) ((float *)row)[j * width + 1] = (float)im;
      } else {
        ((double *)row)[j * width] = re;
        if (complex_values) ((double *)row)[j * width + 1] = im;
      }
    }
  }
}
