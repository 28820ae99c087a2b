/* Meshes: an ordered list of logical devices on one backend, with the allocations made on it. */
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "core/internal.h"
#include "core/plan.h"

bunmg_status bunmg_cuda_device_count(int32_t *count) {
  if (!count) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "count output is NULL");
  *count = bunmg_cuda_count_devices();
  return BUNMG_OK;
}

bunmg_status bunmg_mesh_create(int32_t backend, int32_t ndev, const int32_t *device_ids,
                               bunmg_mesh **out) {
  if (!out) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "mesh output is NULL");
  *out = NULL;
  const bunmg_backend_ops *ops = NULL;
  if (backend == BUNMG_BACKEND_HOST) ops = &bunmg_host_ops;
  else if (backend == BUNMG_BACKEND_CUDA) {
    ops = bunmg_cuda_backend();
    if (!ops)
      return bunmg_fail(BUNMG_NO_DEVICE, "this libbunmg was built without the CUDA backend "
                                         "(no CUDA compiler at build time); rebuild with nvcc on PATH");
  } else return bunmg_fail(BUNMG_INVALID_ARGUMENT, "unknown backend %d", backend);
  if (ndev < 1 || ndev > BUNMG_MAX_DEVICES)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "a mesh needs 1..%d devices, got %d", BUNMG_MAX_DEVICES, ndev);
  if (!device_ids) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "device id list is NULL");
  for (int32_t d = 0; d < ndev; d++)
    if (device_ids[d] < 0)
      return bunmg_fail_at(BUNMG_INVALID_ARGUMENT, -1, d, "device id %d at mesh position %d is negative",
                           device_ids[d], d);

  bunmg_mesh *mesh = calloc(1, sizeof *mesh);
  if (!mesh) return bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory for a mesh");
  mesh->ops = ops;
  mesh->backend = backend;
  mesh->ndev = ndev;
  memcpy(mesh->device_ids, device_ids, sizeof(int32_t) * (size_t)ndev);
  for (int f = 0; f < BUNMG_FAULT_KINDS; f++) mesh->fault_after[f] = -1;
  pthread_mutex_init(&mesh->lock, NULL);
  bunmg_status st = ops->init(mesh);
  if (st != BUNMG_OK) {
    ops->shutdown(mesh);
    pthread_mutex_destroy(&mesh->lock);
    free(mesh);
    return st;
  }
  *out = mesh;
  return BUNMG_OK;
}

bunmg_status bunmg_mesh_destroy(bunmg_mesh *mesh) {
  bunmg_status st = bunmg_mesh_enter(mesh, "mesh_destroy");
  if (st != BUNMG_OK) return st;
  /* Buffers the caller forgot are freed here, so disposing a mesh never leaks device memory. */
  for (size_t i = 0; i < mesh->allocation_count; i++)
    if (!mesh->allocations[i].external)
      mesh->ops->release(mesh, mesh->allocations[i].dev, mesh->allocations[i].ptr);
  free(mesh->allocations);
  bunmg_plan_destroy(mesh->plan_cache);
  mesh->ops->shutdown(mesh);
  pthread_mutex_unlock(&mesh->lock);
  pthread_mutex_destroy(&mesh->lock);
  free(mesh);
  return BUNMG_OK;
}

bunmg_status bunmg_mesh_enter(bunmg_mesh *mesh, const char *call) {
  if (!mesh) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "%s: mesh is NULL", call);
  if (pthread_mutex_trylock(&mesh->lock) != 0)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "%s: the mesh is busy with another call", call);
  bunmg_clear_error();
  return BUNMG_OK;
}

void bunmg_mesh_leave(bunmg_mesh *mesh) { pthread_mutex_unlock(&mesh->lock); }

bunmg_status bunmg_check_position(const bunmg_mesh *mesh, int32_t dev, const char *what) {
  if (dev < 0 || dev >= mesh->ndev)
    return bunmg_fail_at(BUNMG_INVALID_ARGUMENT, -1, dev, "%s: mesh position %d is out of range (mesh has %d)",
                         what, dev, mesh->ndev);
  return BUNMG_OK;
}

bunmg_status bunmg_debug_inject(bunmg_mesh *mesh, int32_t fault, int64_t n, int64_t *pending) {
  bunmg_status st = bunmg_mesh_enter(mesh, "debug_inject");
  if (st != BUNMG_OK) return st;
  if (fault < 0 || fault >= BUNMG_FAULT_KINDS)
    st = bunmg_fail(BUNMG_INVALID_ARGUMENT, "debug_inject: unknown fault kind %d", fault);
  else {
    if (pending) *pending = mesh->fault_after[fault];
    mesh->fault_after[fault] = n < 0 ? -1 : n;
  }
  bunmg_mesh_leave(mesh);
  return st;
}

int64_t bunmg_fault_take(bunmg_mesh *mesh, int32_t fault) {
  int64_t armed = mesh->fault_after[fault];
  mesh->fault_after[fault] = -1;
  return armed;
}

int bunmg_fault_fires(bunmg_mesh *mesh, int32_t fault) {
  int64_t *left = &mesh->fault_after[fault];
  return *left >= 0 && (*left)-- == 0; /* fires once, then off */
}

bunmg_status bunmg_injected_out_of_memory(const bunmg_mesh *mesh, int32_t dev, size_t bytes) {
  return bunmg_fail_at(BUNMG_OUT_OF_MEMORY, -1, dev,
                       "out of memory on device %d (mesh position %d): needed %zu bytes (injected: debug_inject)", dev,
                       dev, bytes);
}

bunmg_status bunmg_solver_ran(bunmg_mesh *mesh, bunmg_status st, const char *routine) {
  if (st != BUNMG_OK || !bunmg_fault_fires(mesh, BUNMG_FAULT_SOLVER)) return st;
  return bunmg_fail(BUNMG_SOLVER_ERROR, "%s returned a failure status (injected: debug_inject)", routine);
}

bunmg_status bunmg_mesh_memory(bunmg_mesh *mesh, int32_t dev, uint64_t *held, uint64_t *free_bytes,
                               uint64_t *total_bytes) {
  bunmg_status st = bunmg_mesh_enter(mesh, "mesh_memory");
  if (st != BUNMG_OK) return st;
  st = bunmg_check_position(mesh, dev, "mesh_memory");
  uint64_t f = 0, t = 0;
  if (st == BUNMG_OK) st = mesh->ops->memory_info(mesh, dev, &f, &t);
  if (st == BUNMG_OK) {
    if (held) *held = mesh->held[dev];
    if (free_bytes) *free_bytes = f;
    if (total_bytes) *total_bytes = t;
  }
  bunmg_mesh_leave(mesh);
  return st;
}

/* Room for one more entry in the allocation table. */
static bunmg_status reserve_entry(bunmg_mesh *mesh) {
  if (mesh->allocation_count < mesh->allocation_cap) return BUNMG_OK;
  size_t cap = mesh->allocation_cap ? mesh->allocation_cap * 2 : 16;
  bunmg_allocation *grown = realloc(mesh->allocations, cap * sizeof *grown);
  if (!grown) return bunmg_fail(BUNMG_OUT_OF_MEMORY, "out of host memory for the allocation table");
  mesh->allocations = grown;
  mesh->allocation_cap = cap;
  return BUNMG_OK;
}

bunmg_status bunmg_mesh_alloc(bunmg_mesh *mesh, int32_t dev, size_t bytes, void **out) {
  bunmg_status st = reserve_entry(mesh);
  if (st != BUNMG_OK) return st;
  void *ptr = NULL;
  st = mesh->ops->alloc(mesh, dev, bytes ? bytes : 1, &ptr);
  if (st != BUNMG_OK) return st;
  mesh->allocations[mesh->allocation_count++] = (bunmg_allocation){ptr, bytes, dev, 0};
  mesh->held[dev] += bytes;
  *out = ptr;
  return BUNMG_OK;
}

static ssize_t find_allocation(const bunmg_mesh *mesh, int32_t dev, const void *ptr) {
  for (size_t i = 0; i < mesh->allocation_count; i++)
    if (mesh->allocations[i].ptr == ptr && mesh->allocations[i].dev == dev) return (ssize_t)i;
  return -1;
}

bunmg_status bunmg_mesh_release(bunmg_mesh *mesh, int32_t dev, void *ptr) {
  ssize_t i = find_allocation(mesh, dev, ptr);
  if (i < 0 || mesh->allocations[i].external)
    return bunmg_fail_at(BUNMG_INVALID_ARGUMENT, -1, dev,
                         "free: %p is not an allocation of mesh position %d (double free?)", ptr, dev);
  mesh->ops->release(mesh, dev, ptr);
  mesh->held[dev] -= mesh->allocations[i].bytes;
  mesh->allocations[i] = mesh->allocations[--mesh->allocation_count];
  return BUNMG_OK;
}

bunmg_status bunmg_mesh_check_range(const bunmg_mesh *mesh, int32_t dev, const void *ptr,
                                    size_t bytes, const char *what) {
  const char *p = ptr;
  for (size_t i = 0; i < mesh->allocation_count; i++) {
    const bunmg_allocation *a = &mesh->allocations[i];
    if (a->dev == dev && p >= a->ptr && p <= a->ptr + a->bytes && bytes <= (size_t)(a->ptr + a->bytes - p))
      return BUNMG_OK;
  }
  return bunmg_fail_at(BUNMG_INVALID_ARGUMENT, -1, dev,
                       "%s: %zu bytes at %p are not inside an allocation of mesh position %d", what, bytes,
                       ptr, dev);
}

bunmg_status bunmg_mesh_adopt(bunmg_mesh *mesh, int32_t dev, void *ptr, size_t bytes) {
  bunmg_status st = reserve_entry(mesh);
  if (st != BUNMG_OK) return st;
  mesh->allocations[mesh->allocation_count++] = (bunmg_allocation){ptr, bytes, dev, 1};
  return BUNMG_OK;
}

void bunmg_mesh_disown(bunmg_mesh *mesh, int32_t dev, void *ptr) {
  ssize_t i = find_allocation(mesh, dev, ptr);
  if (i >= 0 && mesh->allocations[i].external) mesh->allocations[i] = mesh->allocations[--mesh->allocation_count];
}
