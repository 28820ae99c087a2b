/* What the diagnostics entry points (core/info.c, which checks their arguments) ask the CUDA
 * backend: cuda/probe.c, or cuda/absent.c in a build without it. Outputs are non-NULL here. */
#ifndef BUNMG_DIAGNOSTICS_H
#define BUNMG_DIAGNOSTICS_H

#include <stddef.h>

#include "core/internal.h"

/* As bunmg_cuda_probe. */
bunmg_status bunmg_cuda_versions(int32_t *driver, int32_t *runtime, int32_t *devices);
/* As bunmg_cuda_device_info, id >= 0; NULL outputs are skipped. */
bunmg_status bunmg_cuda_describe(int32_t id, char *name, size_t name_bytes, int32_t *major, int32_t *minor,
                                 uint64_t *total_bytes);
bunmg_status bunmg_cuda_peer(int32_t from, int32_t to, int32_t *can_access);
/* As bunmg_library_probe for BUNMG_LIBRARY_CUSOLVERMG / _CUSOLVERDN. */
bunmg_status bunmg_cusolver_probe(int32_t library, const char **path, const char **version, const char **tried);

/* As bunmg_library_probe for BUNMG_LIBRARY_MPI (mp/mpi_loader.c) and _SCALAPACK (mp/scalapack.c). */
bunmg_status bunmg_mpi_probe(const char **path, const char **version, const char **tried);
bunmg_status bunmg_scalapack_probe(const char **path, const char **version, const char **tried);

#endif
