/* The eigenvectors' orthogonality and residual on random probes (mp_probes.c). */
#ifndef BUNMG_MP_PROBES_H
#define BUNMG_MP_PROBES_H

#include "mp/mp_call.h"

/* The probes P (call->probes, host), on the call's grid, with ScaLAPACK's descriptor. */
bunmg_status bunmg_mp_probes_create(mp_call *call);
/* The same without the descriptor (any engine), and the host steps of the check on this rank's
 * part (bunmg_mp_probes_reals reals each): t1 rows scaled by w, t2 -= base, and the residual's
 * scale max |w| (1 when 0). */
bunmg_status bunmg_mp_probes_alloc(mp_call *call);
size_t bunmg_mp_probes_reals(const mp_call *call);
void bunmg_mp_probes_scale(const mp_call *call, void *t1);
void bunmg_mp_probes_subtract(const mp_call *call, void *t2, const void *base);
double bunmg_mp_probes_scale_of(const mp_call *call);
/* Worker tasks on an mp_call: G P from the call's matrix before the eigensolver; after it, the
 * orthogonality and residual of call->z and call->w into the call. */
bunmg_status bunmg_mp_probes_image(void *call);
bunmg_status bunmg_mp_probes_check(void *call);
/* sygvd's: V = call->z against call->a0 and call->b0 (mp_probes.c says how). */
bunmg_status bunmg_mp_probes_check_generalized(void *call);
/* gesvd's: call->z (U), call->vt against call->a0 (mp_probes.c says how). */
bunmg_status bunmg_mp_probes_check_svd(void *call);
/* SOLVER_ERROR naming the measure above 30 N eps. */
bunmg_status bunmg_mp_probes_verdict(const mp_call *call);

#endif
