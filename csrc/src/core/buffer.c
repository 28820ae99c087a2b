/* Device buffers: allocation, copies and link bandwidth, all range-checked against the mesh. */
#include "core/internal.h"

/* Runs one checked operation under the mesh lock. */
#define WITH_MESH(mesh, call, body)                        \
  do {                                                     \
    bunmg_status st_ = bunmg_mesh_enter((mesh), (call));   \
    if (st_ != BUNMG_OK) return st_;                       \
    st_ = (body);                                          \
    bunmg_mesh_leave(mesh);                                \
    return st_;                                            \
  } while (0)

static bunmg_status alloc_checked(bunmg_mesh *mesh, int32_t dev, uint64_t bytes, void **out) {
  bunmg_status st = bunmg_check_position(mesh, dev, "alloc");
  if (st != BUNMG_OK) return st;
  if (!out) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "alloc: output pointer is NULL");
  return bunmg_mesh_alloc(mesh, dev, (size_t)bytes, out);
}

bunmg_status bunmg_alloc(bunmg_mesh *mesh, int32_t dev, uint64_t bytes, void **out) {
  WITH_MESH(mesh, "alloc", alloc_checked(mesh, dev, bytes, out));
}

static bunmg_status free_checked(bunmg_mesh *mesh, int32_t dev, void *ptr) {
  bunmg_status st = bunmg_check_position(mesh, dev, "free");
  return st != BUNMG_OK ? st : bunmg_mesh_release(mesh, dev, ptr);
}

bunmg_status bunmg_free(bunmg_mesh *mesh, int32_t dev, void *ptr) {
  WITH_MESH(mesh, "free", free_checked(mesh, dev, ptr));
}

static bunmg_status host_copy(bunmg_mesh *mesh, bunmg_copy_kind kind, int32_t dev, void *dst,
                              const void *src, uint64_t bytes) {
  const char *what = kind == BUNMG_COPY_H2D ? "copy_to_device" : "copy_to_host";
  bunmg_status st = bunmg_check_position(mesh, dev, what);
  if (st != BUNMG_OK) return st;
  if (bytes == 0) return BUNMG_OK;
  const void *device_side = kind == BUNMG_COPY_H2D ? dst : src;
  const void *host_side = kind == BUNMG_COPY_H2D ? src : dst;
  if (!host_side) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "%s: host pointer is NULL", what);
  st = bunmg_mesh_check_range(mesh, dev, device_side, bytes, what);
  if (st != BUNMG_OK) return st;
  return mesh->ops->copy(mesh, kind, dev, dst, dev, src, bytes);
}

bunmg_status bunmg_copy_to_device(bunmg_mesh *mesh, int32_t dev, void *dst, const void *host_src,
                                  uint64_t bytes) {
  WITH_MESH(mesh, "copy_to_device", host_copy(mesh, BUNMG_COPY_H2D, dev, dst, host_src, bytes));
}

bunmg_status bunmg_copy_to_host(bunmg_mesh *mesh, int32_t dev, void *host_dst, const void *src,
                                uint64_t bytes) {
  WITH_MESH(mesh, "copy_to_host", host_copy(mesh, BUNMG_COPY_D2H, dev, host_dst, src, bytes));
}

static bunmg_status peer_copy(bunmg_mesh *mesh, int32_t dst_dev, void *dst, int32_t src_dev,
                              const void *src, uint64_t bytes) {
  bunmg_status st = bunmg_check_position(mesh, dst_dev, "copy_peer destination");
  if (st == BUNMG_OK) st = bunmg_check_position(mesh, src_dev, "copy_peer source");
  if (st != BUNMG_OK || bytes == 0) return st;
  st = bunmg_mesh_check_range(mesh, dst_dev, dst, bytes, "copy_peer destination");
  if (st == BUNMG_OK) st = bunmg_mesh_check_range(mesh, src_dev, src, bytes, "copy_peer source");
  if (st != BUNMG_OK) return st;
  return mesh->ops->copy(mesh, BUNMG_COPY_D2D, dst_dev, dst, src_dev, src, bytes);
}

bunmg_status bunmg_copy_peer(bunmg_mesh *mesh, int32_t dst_dev, void *dst, int32_t src_dev,
                             const void *src, uint64_t bytes) {
  WITH_MESH(mesh, "copy_peer", peer_copy(mesh, dst_dev, dst, src_dev, src, bytes));
}

static bunmg_status bandwidth_checked(bunmg_mesh *mesh, int32_t dst_dev, int32_t src_dev,
                                      uint64_t bytes, int32_t repeats, int32_t both_ways,
                                      double *out) {
  bunmg_status st = bunmg_check_position(mesh, dst_dev, "copy_bandwidth destination");
  if (st == BUNMG_OK) st = bunmg_check_position(mesh, src_dev, "copy_bandwidth source");
  if (st != BUNMG_OK) return st;
  if (bytes == 0 || repeats < 1 || !out)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "copy_bandwidth: needs bytes > 0, repeats >= 1 and an output");
  return mesh->ops->bandwidth(mesh, dst_dev, src_dev, (size_t)bytes, repeats, both_ways, out);
}

bunmg_status bunmg_copy_bandwidth(bunmg_mesh *mesh, int32_t dst_dev, int32_t src_dev,
                                  uint64_t bytes, int32_t repeats, int32_t both_ways,
                                  double *bytes_per_second) {
  WITH_MESH(mesh, "copy_bandwidth",
            bandwidth_checked(mesh, dst_dev, src_dev, bytes, repeats, both_ways, bytes_per_second));
}

