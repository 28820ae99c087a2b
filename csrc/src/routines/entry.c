/* The frame of every routine call: the mesh locked, A and the options checked and the path
 * chosen before anything moves; the path taken recorded and the error named afterwards. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "routines/routines.h"

static int debugging(void) {
  const char *debug = getenv("BUNMG_DEBUG");
  return debug && strcmp(debug, "1") == 0;
}

/* BUNMG_DEBUG=1: one line on stderr per choice (the only output the library ever writes), naming
 * the mesh as the bindings do: Mesh(cuda: [0, 0]). */
static void log_choice(const bunmg_call *call, const char *reason) {
  if (!debugging()) return;
  char ids[BUNMG_MAX_DEVICES * 12] = "";
  for (int32_t d = 0; d < call->mesh->ndev; d++)
    snprintf(ids + strlen(ids), sizeof ids - strlen(ids), "%s%d", d ? ", " : "", call->mesh->device_ids[d]);
  fprintf(stderr, "bunmg: %s N=%lld %s on Mesh(%s: [%s]): %s (%s)\n", call->name, (long long)call->a->rows,
          bunmg_dtype_name(call->a->dtype), call->mesh->ops->name, ids,
          call->path == BUNMG_PATH_SINGLE ? "single" : "multi", reason);
}

static bunmg_status begin(bunmg_call *call, const bunmg_options *options, int64_t nrhs) {
  bunmg_status st = bunmg_check_matrix(call->mesh, call->a, 1);
  if (st != BUNMG_OK) return st;
  if (call->a->layout != BUNMG_LAYOUT_ROWS)
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "A must be in row layout, but it is block-cyclic (a Cholesky factor?)");
  if ((st = bunmg_check_options(options, call->routine, call->a->rows, &call->tile)) != BUNMG_OK) return st;
  char reason[320];
  st = bunmg_path_for(call->mesh, call->routine, call->a->rows, call->a->dtype, nrhs, options->path, &call->path,
                      reason, sizeof reason);
  if (st != BUNMG_OK) return st;
  call->may_fall_back = options->path == BUNMG_PATH_AUTO && options->fallback && call->path == BUNMG_PATH_SINGLE;
  log_choice(call, reason);
  return BUNMG_OK;
}

bunmg_status bunmg_call_begin(bunmg_call *call, bunmg_mesh *mesh, bunmg_matrix *a, const char *name, int32_t routine,
                              const bunmg_options *options, int64_t nrhs) {
  *call = (bunmg_call){mesh, a, name, routine, 0, BUNMG_PATH_AUTO, 0, a ? a->generation : 0};
  bunmg_status st = bunmg_mesh_enter(mesh, name);
  if (st != BUNMG_OK) return st;
  if ((st = begin(call, options, nrhs)) != BUNMG_OK) {
    bunmg_error_prefix("%s: ", name);
    bunmg_mesh_leave(mesh);
  }
  return st;
}

bunmg_options *bunmg_options_or_default(bunmg_options *options, bunmg_options *defaults) {
  *defaults = (bunmg_options){0, BUNMG_PATH_AUTO, 1, BUNMG_PATH_AUTO, 0};
  return options ? options : defaults;
}

int bunmg_call_falls_back(const bunmg_call *call, bunmg_status st) {
  return call->may_fall_back && (st == BUNMG_UNSUPPORTED || st == BUNMG_OUT_OF_MEMORY) &&
         call->a->layout == BUNMG_LAYOUT_ROWS && call->a->generation == call->generation;
}

bunmg_status bunmg_call_fall_back(bunmg_call *call, bunmg_status st) {
  if (debugging())
    fprintf(stderr, "bunmg: %s N=%lld: the single path failed (%d: %s); running multi\n", call->name,
            (long long)call->a->rows, st, bunmg_last_error());
  bunmg_clear_error();
  call->path = BUNMG_PATH_MULTI;
  return BUNMG_OK;
}

bunmg_status bunmg_call_end(bunmg_call *call, bunmg_options *options, bunmg_status st) {
  options->taken = call->path;
  if (st != BUNMG_OK) bunmg_error_prefix("%s: ", call->name);
  bunmg_mesh_leave(call->mesh);
  return st;
}
