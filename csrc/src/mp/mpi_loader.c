/* Run-time Open MPI: dlopen once, then every handle and function of mpi_abi.h by name. */
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/diagnostics.h"
#include "mp/mpi_abi.h"

#define SONAME "libmpi.so.40"
#define ADVICE "install Open MPI (Debian/Ubuntu: apt-get install libopenmpi3 openmpi-bin), or set BUNMG_MPI to its libmpi.so.40"

/* Where each name lands in the table: a predefined object's address, or a function. */
static const struct {
  const char *name;
  size_t offset;
} entries[] = {
    {"ompi_mpi_comm_world", offsetof(bunmg_mpi, comm_world)},
    {"ompi_mpi_comm_self", offsetof(bunmg_mpi, comm_self)},
    {"ompi_mpi_errors_return", offsetof(bunmg_mpi, errors_return)},
    {"ompi_mpi_byte", offsetof(bunmg_mpi, byte_type)},
    {"ompi_mpi_int64_t", offsetof(bunmg_mpi, int64_type)},
    {"ompi_mpi_float", offsetof(bunmg_mpi, float_type)},
    {"ompi_mpi_double", offsetof(bunmg_mpi, double_type)},
    {"ompi_mpi_op_max", offsetof(bunmg_mpi, op_max)},
    {"ompi_mpi_op_sum", offsetof(bunmg_mpi, op_sum)},
    {"MPI_Initialized", offsetof(bunmg_mpi, initialized)},
    {"MPI_Finalized", offsetof(bunmg_mpi, finalized)},
    {"MPI_Init_thread", offsetof(bunmg_mpi, init_thread)},
    {"MPI_Query_thread", offsetof(bunmg_mpi, query_thread)},
    {"MPI_Comm_set_errhandler", offsetof(bunmg_mpi, comm_set_errhandler)},
    {"MPI_Comm_dup", offsetof(bunmg_mpi, comm_dup)},
    {"MPI_Comm_free", offsetof(bunmg_mpi, comm_free)},
    {"MPI_Comm_rank", offsetof(bunmg_mpi, comm_rank)},
    {"MPI_Comm_size", offsetof(bunmg_mpi, comm_size)},
    {"MPI_Isend", offsetof(bunmg_mpi, isend)},
    {"MPI_Irecv", offsetof(bunmg_mpi, irecv)},
    {"MPI_Test", offsetof(bunmg_mpi, test)},
    {"MPI_Cancel", offsetof(bunmg_mpi, cancel)},
    {"MPI_Iallreduce", offsetof(bunmg_mpi, iallreduce)},
    {"MPI_Ibcast", offsetof(bunmg_mpi, ibcast)},
    {"MPI_Iallgather", offsetof(bunmg_mpi, iallgather)},
    {"MPI_Error_string", offsetof(bunmg_mpi, error_string)},
};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static bunmg_mpi table;
static int loaded;
static char path[4096];
static char load_error[1024];
static char tried[1280]; /* the candidate and what became of it, for bunmg doctor */

static void load(void) {
  const char *env = getenv("BUNMG_MPI");
  const char *candidate = env && *env ? env : SONAME;
  void *h = dlopen(candidate, RTLD_NOW | RTLD_GLOBAL);
  if (!h) {
    const char *e = dlerror();
    snprintf(tried, sizeof tried, "%s (%s)", candidate, e ? e : "dlopen failed");
    snprintf(load_error, sizeof load_error, "MPI could not be loaded from %s%s (%s); " ADVICE, candidate,
             env && *env ? " (BUNMG_MPI)" : "", e ? e : "dlopen failed");
    return;
  }
  for (size_t i = 0; i < sizeof entries / sizeof *entries; i++) {
    void *p = dlsym(h, entries[i].name);
    if (!p) {
      snprintf(load_error, sizeof load_error,
               "%s is not Open MPI's libmpi.so.40: it has no %s (bunmg's MPI shim is Open MPI's ABI; MPICH and "
               "Intel MPI are not supported); " ADVICE,
               candidate, entries[i].name);
      snprintf(tried, sizeof tried, "%s (not Open MPI's: no %s)", candidate, entries[i].name);
      dlclose(h);
      return;
    }
    memcpy((char *)&table + entries[i].offset, &p, sizeof p); /* POSIX's object/function pointer bridge */
  }
  struct link_map *map = NULL;
  snprintf(path, sizeof path, "%s", dlinfo(h, RTLD_DI_LINKMAP, &map) == 0 && map && map->l_name[0] ? map->l_name : candidate);
  table.path = path;
  snprintf(tried, sizeof tried, "%s (loaded%s)", candidate, env && *env ? ", from BUNMG_MPI" : "");
  loaded = 1;
}

bunmg_status bunmg_mpi_probe(const char **out_path, const char **version, const char **where) {
  const bunmg_mpi *mpi;
  bunmg_status st = bunmg_mpi_load(&mpi);
  *out_path = loaded ? path : "";
  *version = "";
  *where = tried;
  return st;
}

bunmg_status bunmg_mpi_load(const bunmg_mpi **out) {
  pthread_once(&once, load);
  if (!loaded) return bunmg_fail(BUNMG_LIBRARY_NOT_FOUND, "%s", load_error);
  *out = &table;
  return BUNMG_OK;
}
