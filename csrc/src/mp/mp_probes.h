/* The eigenvectors' orthogonality and residual on random probes (mp_probes.c). */
#ifndef BUNMG_MP_PROBES_H
#define BUNMG_MP_PROBES_H

#include "mp/mp_call.h"

/* The probes P (call->probes), on the call's grid. */
bunmg_status bunmg_mp_probes_create(mp_call *call);
/* Worker tasks on an mp_call: G P from call->work before the eigensolver; after it, the
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
