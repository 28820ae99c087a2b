/* Built without the CUDA backend: no CUDA mesh exists, so these are never reached. */
#include "group/ipc.h"

bunmg_status bunmg_ipc_export(bunmg_mesh *local, void *base, uint8_t handle[BUNMG_IPC_HANDLE_BYTES]) {
  return bunmg_fail(BUNMG_NO_DEVICE, "this libbunmg was built without the CUDA backend (no CUDA IPC)");
}

bunmg_status bunmg_ipc_open(bunmg_mesh *mesh, int32_t pos, const uint8_t handle[BUNMG_IPC_HANDLE_BYTES],
                            void **base) {
  return bunmg_ipc_export(mesh, NULL, NULL);
}

void bunmg_ipc_close(bunmg_mesh *mesh, int32_t pos, void *base) {}
