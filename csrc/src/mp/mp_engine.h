/* What an engine does on the grid layout, for the routines (mp_cholesky.c, mp_potri.c,
 * mp_syevd.c, mp_getrs.c, mp_sygvd.c, mp_gels.c, mp_gesvd.c), which call nothing engine-specific: ScaLAPACK on host memory (scalapack_engine.c)
 * or cuSOLVERMp on the rank's device (cusolvermp_engine.c). The call's matrix (call->a) is the
 * engine's: call->work itself for ScaLAPACK, a device copy for cuSOLVERMp, made by `upload` after
 * the redistribution to the grid and brought back into call->work by `download` before the way
 * back (bunmg_mp_call_to_grid / _to_rows). Ops typed bunmg_mp_task run on the worker through
 * bunmg_mp_call_engine, watched by the caller; each takes the mp_call. An engine leaves NULL the
 * ops it does not implement: a routine needing one fails UNSUPPORTED naming itself and the engine
 * before anything moves (bunmg_mp_call_begin). */
#ifndef BUNMG_MP_ENGINE_H
#define BUNMG_MP_ENGINE_H

#include "mp/mp_world.h"

typedef struct mp_call mp_call;
typedef struct bunmg_mp_factor bunmg_mp_factor;

typedef struct mp_engine {
  const char *name;      /* "ScaLAPACK", "cuSOLVERMp": prefixes the names of its steps */
  int64_t default_block; /* MB = NB when the options say 0 */
  bunmg_status (*load)(void);
  void (*leave)(bunmg_mp *mp); /* frees what the world holds of the engine (bunmg_mp_leave) */
  /* after the agreement on the call: its grid (call->blacs: this rank's position) and descriptors */
  bunmg_status (*begin)(mp_call *c);
  bunmg_mp_task upload, download; /* NULL: nothing to move */
  /* a zeroed matrix with A's distribution (call->z), and its release; NULL with OUT_OF_MEMORY set */
  void *(*matrix)(const mp_call *c, const char *what);
  void (*free_matrix)(mp_call *c, void *m);
  /* this rank's elements of the diagonal of `matrix` (the engine's, with A's distribution) into
   * `diagonal` (A's columns elements, zeroed) */
  bunmg_status (*diagonal)(mp_call *c, const void *matrix, void *diagonal);
  bunmg_mp_task potrf;   /* the call's matrix becomes its factor (lower, of the view); call->info */
  bunmg_mp_task potrs;   /* call->b (host, grid layout, call->desc_b, call->nrhs) becomes X */
  bunmg_mp_task potri;   /* the factor becomes the full Hermitian inverse */
  bunmg_mp_task syevd;   /* eigenvalues into call->w (host), eigenvectors into call->z */
  bunmg_status (*probes_create)(mp_call *c);
  bunmg_mp_task probes_image; /* G p, before the eigensolver overwrites G */
  bunmg_mp_task probes_check; /* call->orthogonality, call->residual */
  bunmg_mp_task convention;   /* the eigenvectors into the call's matrix in the user's convention */
  void (*skew_vectors)(mp_call *c, double by); /* fault injection: this rank's part of z scaled */
  /* getrs: A's copy kept (call->a0) and the LU of the call's matrix with its pivots, then B's copy
   * kept (call->b0) and call->b becomes X; getrs_residual: ||A X - B|| / (||A|| ||X|| + ||B||)
   * into call->residual */
  bunmg_mp_task getrf, getrs, getrs_residual;
  /* sygvd: A's and B's copies kept (call->a0, call->b0) and B's (call->second_work) becomes its
   * factor L; sygst: the call's matrix becomes L^-1 A L^-H (its scale in call->scale); trsm: the
   * eigenvectors back-transformed, z = L^-H z; probes_generalized: the B-orthogonality and
   * residual of z and w against a0 and b0 */
  bunmg_mp_task potrf_second, sygst, trsm, probes_generalized;
  /* gels: A's copy kept (call->a0), call->b becomes X (call->b0 keeps B); gels_residual: the
   * normal equations' residual of X into call->residual */
  bunmg_mp_task gels, gels_residual;
  /* gesvd: A's copy kept (call->a0), the singular values into call->w, U_G into z, VT_G into
   * call->vt; svd_v: U_G^H into call->v (host, V's grid layout) and VT_G
   * into the call's matrix; probes_svd: U's and V's orthogonality and residual */
  bunmg_mp_task gesvd, svd_v, probes_svd;
  void (*release)(mp_call *c); /* what the call holds of the engine (not a borrowed factor) */
  void (*factor_free)(bunmg_mp_factor *f);
  /* the steps' names in messages ("p?potrf", "cusolverMpPotrf") */
  struct {
    const char *potrf, *potrs, *potri, *syevd, *image, *check, *convention;
    const char *getrf, *getrs, *getrs_residual, *potrf_second, *sygst, *trsm, *probes_generalized, *gels, *gels_residual, *gesvd, *svd_v,
        *probes_svd;
  } names;
} mp_engine;

extern const mp_engine bunmg_scalapack_engine;

#endif
