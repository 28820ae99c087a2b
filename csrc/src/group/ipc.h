/* CUDA IPC for groups in process mode: cuda/ipc.c with the CUDA backend, ipc_absent.c without. */
#ifndef BUNMG_GROUP_IPC_H
#define BUNMG_GROUP_IPC_H

#include <stdint.h>

#include "core/internal.h"

#define BUNMG_IPC_HANDLE_BYTES 64 /* sizeof(cudaIpcMemHandle_t) */

/* The IPC handle of the allocation starting at `base` on the one device of mesh `local`. */
bunmg_status bunmg_ipc_export(bunmg_mesh *local, void *base, uint8_t handle[BUNMG_IPC_HANDLE_BYTES]);
/* Opens a peer's handle on mesh position pos (lazy peer access); *base is the allocation start. */
bunmg_status bunmg_ipc_open(bunmg_mesh *mesh, int32_t pos, const uint8_t handle[BUNMG_IPC_HANDLE_BYTES],
                            void **base);
void bunmg_ipc_close(bunmg_mesh *mesh, int32_t pos, void *base);

#endif
