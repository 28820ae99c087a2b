#include "core/cuts.h"

#include <stdlib.h>

bunmg_status bunmg_cuts_init(bunmg_cuts *c, int64_t n, const char *what) {
  *c = (bunmg_cuts){calloc((size_t)n + 1, 1), malloc(sizeof(int64_t) * ((size_t)n + 1)), 0, n};
  if (!c->mark || !c->stack) {
    bunmg_cuts_free(c);
    return bunmg_fail(BUNMG_OUT_OF_MEMORY, "%s: out of host memory for %lld items", what, (long long)n);
  }
  bunmg_cut(c, 0);
  bunmg_cut(c, n);
  return BUNMG_OK;
}

void bunmg_cuts_free(bunmg_cuts *c) {
  free(c->mark);
  free(c->stack);
  c->mark = NULL;
  c->stack = NULL;
}

void bunmg_cut(bunmg_cuts *c, int64_t j) {
  if (j < 0 || j > c->n || c->mark[j]) return;
  c->mark[j] = 1;
  c->stack[c->depth++] = j;
}

static int discontinuous(int64_t prev, int64_t cur) {
  return (prev < 0) != (cur < 0) || (cur >= 0 && cur != prev + 1);
}

int bunmg_cut_needed(const bunmg_cut_map *m, int64_t j) {
  return discontinuous(m->sigma(m->ctx, j - 1), m->sigma(m->ctx, j)) ||
         discontinuous(m->sigma_inv(m->ctx, j - 1), m->sigma_inv(m->ctx, j));
}

static int present(const bunmg_cut_map *m, int64_t j) { return !m->present || m->present(m->ctx, j); }

void bunmg_cuts_close(bunmg_cuts *c, const bunmg_cut_map *m) {
  while (c->depth > 0) {
    int64_t j = c->stack[--c->depth];
    if (j < c->n && present(m, j)) {
      bunmg_cut(c, m->sigma(m->ctx, j));
      bunmg_cut(c, m->sigma_inv(m->ctx, j));
    }
    if (j > 0 && present(m, j - 1)) {
      int64_t t = m->sigma(m->ctx, j - 1);
      if (t >= 0) bunmg_cut(c, t + 1);
      t = m->sigma_inv(m->ctx, j - 1);
      if (t >= 0) bunmg_cut(c, t + 1);
    }
  }
}
