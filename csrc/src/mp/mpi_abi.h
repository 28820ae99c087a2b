/* MPI without mpi.h: the Open MPI ABI (libmpi.so.40), loaded at run time (mpi_loader.c), so that
 * libbunmg links no MPI and builds where none is installed. In Open MPI's ABI every handle is a
 * pointer: the predefined ones (MPI_COMM_WORLD, MPI_BYTE, MPI_MAX, ...) are the addresses of
 * objects the library exports (ompi_mpi_comm_world, ...), which dlsym returns. MPICH, Intel MPI
 * and Cray MPI use integer handles (soname libmpi.so.12): they would need a shim of their own.
 *
 * Only what the engine calls is declared, with Open MPI 4.1's types: MPI_Status is
 * { int MPI_SOURCE, MPI_TAG, MPI_ERROR, _cancelled; size_t _ucount } (24 bytes), and the
 * constants below are mpi.h's. */
#ifndef BUNMG_MP_MPI_ABI_H
#define BUNMG_MP_MPI_ABI_H

#include <stddef.h>

#include "core/internal.h"

typedef void *bunmg_mpi_handle; /* MPI_Comm, MPI_Datatype, MPI_Op, MPI_Errhandler, MPI_Request */

typedef struct bunmg_mpi_status {
  int source, tag, error, cancelled;
  size_t ucount;
} bunmg_mpi_status;

enum { BUNMG_MPI_SUCCESS = 0, BUNMG_MPI_THREAD_MULTIPLE = 3, BUNMG_MPI_ANY_SOURCE = -1 };
#define BUNMG_MPI_MAX_ERROR_STRING 256

typedef struct bunmg_mpi {
  /* predefined handles */
  bunmg_mpi_handle comm_world, comm_self, errors_return, byte_type, int64_type, float_type, double_type, op_max,
      op_sum;
  /* functions (return an MPI error code) */
  int (*initialized)(int *flag);
  int (*finalized)(int *flag);
  int (*init_thread)(int *argc, char ***argv, int required, int *provided);
  int (*query_thread)(int *provided);
  int (*comm_set_errhandler)(bunmg_mpi_handle comm, bunmg_mpi_handle handler);
  int (*comm_dup)(bunmg_mpi_handle comm, bunmg_mpi_handle *out);
  int (*comm_free)(bunmg_mpi_handle *comm);
  int (*comm_rank)(bunmg_mpi_handle comm, int *rank);
  int (*comm_size)(bunmg_mpi_handle comm, int *size);
  int (*isend)(const void *buf, int count, bunmg_mpi_handle type, int dest, int tag, bunmg_mpi_handle comm,
               bunmg_mpi_handle *request);
  int (*irecv)(void *buf, int count, bunmg_mpi_handle type, int source, int tag, bunmg_mpi_handle comm,
               bunmg_mpi_handle *request);
  int (*test)(bunmg_mpi_handle *request, int *flag, bunmg_mpi_status *status);
  int (*cancel)(bunmg_mpi_handle *request);
  int (*iallreduce)(const void *send, void *recv, int count, bunmg_mpi_handle type, bunmg_mpi_handle op,
                    bunmg_mpi_handle comm, bunmg_mpi_handle *request);
  int (*ibcast)(void *buf, int count, bunmg_mpi_handle type, int root, bunmg_mpi_handle comm,
                bunmg_mpi_handle *request);
  int (*iallgather)(const void *send, int send_count, bunmg_mpi_handle send_type, void *recv, int recv_count,
                    bunmg_mpi_handle recv_type, bunmg_mpi_handle comm, bunmg_mpi_handle *request);
  int (*error_string)(int code, char *text, int *length);
  const char *path; /* the file loaded */
} bunmg_mpi;

/* Loads libmpi once per process: $BUNMG_MPI alone when set, else libmpi.so.40 from the loader's
 * path, with RTLD_GLOBAL (Open MPI's components and ScaLAPACK resolve MPI through it).
 * LIBRARY_NOT_FOUND names what was tried, what is missing and the package that provides it. */
bunmg_status bunmg_mpi_load(const bunmg_mpi **out);

#endif
