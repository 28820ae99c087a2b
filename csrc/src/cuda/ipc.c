/* CUDA IPC for groups in process mode: a rank exports the allocation holding its shard, rank 0
 * opens it in its own process for the duration of one collective routine. Handles name whole
 * allocations (cudaMalloc), so the shard travels as the allocation's handle plus an offset. */
#include <string.h>

#include "group/ipc.h"
#include "cuda/cuda_internal.h"

_Static_assert(sizeof(cudaIpcMemHandle_t) == BUNMG_IPC_HANDLE_BYTES, "cudaIpcMemHandle_t is 64 bytes");

bunmg_status bunmg_ipc_export(bunmg_mesh *local, void *base, uint8_t handle[BUNMG_IPC_HANDLE_BYTES]) {
  bunmg_status status = bunmg_cuda_use(local, 0);
  if (status != BUNMG_OK) return status;
  cudaIpcMemHandle_t h;
  status = bunmg_cuda_check(local, 0, "cudaIpcGetMemHandle", cudaIpcGetMemHandle(&h, base));
  if (status == BUNMG_OK) memcpy(handle, &h, sizeof h);
  return status;
}

bunmg_status bunmg_ipc_open(bunmg_mesh *mesh, int32_t pos, const uint8_t handle[BUNMG_IPC_HANDLE_BYTES],
                            void **base) {
  *base = NULL;
  bunmg_status status = bunmg_cuda_use(mesh, pos);
  if (status != BUNMG_OK) return status;
  cudaIpcMemHandle_t h;
  memcpy(&h, handle, sizeof h);
  return bunmg_cuda_check(mesh, pos, "cudaIpcOpenMemHandle",
                          cudaIpcOpenMemHandle(base, h, cudaIpcMemLazyEnablePeerAccess));
}

void bunmg_ipc_close(bunmg_mesh *mesh, int32_t pos, void *base) {
  if (!base) return;
  /* A release path: failures must not replace the error being reported. */
  if (cudaSetDevice(mesh->device_ids[pos]) == cudaSuccess) (void)cudaIpcCloseMemHandle(base);
  (void)cudaGetLastError();
}
