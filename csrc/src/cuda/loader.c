/* cuSOLVER's libraries (cuSOLVERMg, cuSOLVERDn), loaded at run time so that libbunmg loads (and
 * its host backend works) on machines without them: one search for all of them, and the small
 * helpers both solver files share (cuda_internal.h). */
#include <dlfcn.h>
#include <glob.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <library_types.h> /* cudaDataType: CUDA_R_32F ... */

#include "cuda/cuda_internal.h"

static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;

typedef struct attempts {
  char tried[1024];
  size_t len;
  char last_error[320];
  char last_path[256];
  char looked[2048]; /* every candidate and wheel pattern with its outcome, for bunmg doctor */
  size_t looked_len;
} attempts;

static void note_looked(attempts *a, const char *candidate, const char *outcome) {
  if (a->looked_len >= sizeof a->looked) return;
  int n = snprintf(a->looked + a->looked_len, sizeof a->looked - a->looked_len, "%s%s (%s)",
                   a->looked_len ? ", " : "", candidate, outcome);
  a->looked_len = n < 0 ? sizeof a->looked : a->looked_len + (size_t)n;
}

/* What the last load of each library found, for bunmg doctor (bunmg_library_report). */
typedef struct library_report {
  const bunmg_library *spec;
  char path[PATH_MAX];
  char looked[2048];
  void *handle;
} library_report;
static library_report reports[8];

static library_report *report_of(const bunmg_library *spec) {
  for (size_t i = 0; i < sizeof reports / sizeof *reports; i++)
    if (reports[i].spec == spec || !reports[i].spec) {
      reports[i].spec = spec;
      return &reports[i];
    }
  return NULL;
}

/* Libraries the cuSOLVER libraries link against, tried from their own folder (CUDA toolkit, cu13
 * wheel) and from the sibling wheels of the cu12 layout, for when that folder is not on the
 * loader path. In dependency order: nvJitLink, then cuBLASLt, cuBLAS and cuSPARSE. */
static const char *const dependencies[] = {
    "libnvJitLink.so.*", "../../nvjitlink/lib/libnvJitLink.so.*",
    "libcublasLt.so.*",  "../../cublas/lib/libcublasLt.so.*",
    "libcublas.so.*",    "../../cublas/lib/libcublas.so.*",
    "libcusparse.so.*",  "../../cusparse/lib/libcusparse.so.*",
};

static void preload_dependencies(const char *path) {
  const char *slash = strrchr(path, '/');
  for (size_t i = 0; slash && i < sizeof dependencies / sizeof *dependencies; i++) {
    char pattern[PATH_MAX];
    glob_t g;
    snprintf(pattern, sizeof pattern, "%.*s/%s", (int)(slash - path), path, dependencies[i]);
    if (glob(pattern, 0, NULL, &g) == 0 && g.gl_pathc > 0)
      (void)dlopen(g.gl_pathv[0], RTLD_NOW | RTLD_GLOBAL); /* found later by soname */
    globfree(&g);
  }
}

static void *try_open_mode(const char *path, attempts *a, int mode) {
  int n = snprintf(a->tried + a->len, sizeof a->tried - a->len, "%s%s", a->len ? ", " : "", path);
  if (n > 0) a->len = a->len + (size_t)n < sizeof a->tried ? a->len + (size_t)n : sizeof a->tried - 1;
  snprintf(a->last_path, sizeof a->last_path, "%s", path);
  void *lib = dlopen(path, RTLD_NOW | mode);
  if (!lib && strchr(path, '/') && access(path, R_OK) == 0) {
    preload_dependencies(path); /* the file is there: maybe only its dependencies were missing */
    lib = dlopen(path, RTLD_NOW | mode);
  }
  if (!lib) {
    const char *e = dlerror();
    snprintf(a->last_error, sizeof a->last_error, "%s", e ? e : "unknown error");
    note_looked(a, path, strstr(a->last_error, "No such file") ? "not found" : a->last_error);
  } else {
    note_looked(a, path, "loaded");
  }
  return lib;
}

static void *try_open(const char *path, attempts *a) { return try_open_mode(path, a, RTLD_LOCAL); }

/* The sonames of CUDA 13 (.so.12) and CUDA 11.1-12.x (.so.11), and where pip wheels put them:
 * nvidia-cusolver (CUDA 13) and nvidia-cusolver-cu12. */
static const char *const versions[] = {"12", "11"};
static const char *const wheel_folders[] = {"nvidia/cu13/lib", "nvidia/cusolver/lib"};

/* The wheels in system, venv or user site-packages (Debian's pip installs into dist-packages,
 * hence "*-packages"): folder/file in each. */
static void *open_from_wheel(const char *folder, const char *file, attempts *a, int mode) {
  const char *venv = getenv("VIRTUAL_ENV"), *home = getenv("HOME");
  const char *roots[4][2] = {{"/usr/lib", ""}, {"/usr/local/lib", ""}, {venv, "/lib"}, {home, "/.local/lib"}};
  for (int r = 0; r < 4; r++) {
    if (!roots[r][0] || !roots[r][0][0]) continue;
    char pattern[PATH_MAX];
    glob_t g;
    void *lib = NULL;
    snprintf(pattern, sizeof pattern, "%s%s/python3*/*-packages/%s/%s", roots[r][0], roots[r][1], folder, file);
    if (glob(pattern, 0, NULL, &g) == 0)
      for (size_t i = 0; i < g.gl_pathc && !lib; i++) lib = try_open_mode(g.gl_pathv[i], a, mode);
    else
      note_looked(a, pattern, "no match");
    globfree(&g);
    if (lib) return lib;
  }
  return NULL;
}

static void *open_from_wheels(const char *base, attempts *a) {
  for (int w = 0; w < 2; w++) {
    char file[128];
    snprintf(file, sizeof file, "%s.so.%s", base, versions[w]);
    void *lib = open_from_wheel(wheel_folders[w], file, a, RTLD_LOCAL);
    if (lib) return lib;
  }
  return NULL;
}

static void *open_library(const bunmg_library *spec, attempts *a) {
  const char *env = getenv(spec->env);
  int mode = spec->soname ? RTLD_GLOBAL : RTLD_LOCAL;
  if (env && *env) return try_open_mode(env, a, mode); /* an explicit choice: no fallback behind it */
  if (spec->soname) {
    void *lib = open_from_wheel(spec->wheel, spec->soname, a, mode);
    return lib ? lib : try_open_mode(spec->soname, a, mode);
  }
  static const char *const folders[] = {"", "/usr/local/cuda/lib64/"};
  for (int f = 0; f < 2; f++)
    for (int v = 0; v < 2; v++) {
      char path[PATH_MAX];
      snprintf(path, sizeof path, "%s%s.so.%s", folders[f], spec->base, versions[v]);
      void *lib = try_open(path, a);
      if (lib) return lib;
    }
  return open_from_wheels(spec->base, a);
}

bunmg_status bunmg_library_load(bunmg_library *spec) {
  pthread_mutex_lock(&load_lock);
  bunmg_status status = BUNMG_OK;
  if (!spec->loaded) {
    attempts a;
    memset(&a, 0, sizeof a);
    void *lib = open_library(spec, &a);
    const char *env = getenv(spec->env);
    if (!lib && env && *env)
      status = bunmg_fail(BUNMG_LIBRARY_NOT_FOUND, "cannot load %s from %s=%s: %s", spec->what, spec->env, env,
                          a.last_error);
    else if (!lib)
      status = bunmg_fail(BUNMG_LIBRARY_NOT_FOUND,
                          "%s not found (install %s, or set %s to the library's path); tried %s; last error: %s",
                          spec->what, spec->package ? spec->package : "the CUDA toolkit or the nvidia-cusolver pip wheel",
                          spec->env, a.tried, a.last_error);
    library_report *report = report_of(spec);
    if (report) {
      struct link_map *map = NULL;
      const char *found = lib && dlinfo(lib, RTLD_DI_LINKMAP, &map) == 0 && map && map->l_name[0] ? map->l_name
                          : lib                                                                 ? a.last_path
                                                                                                : "";
      snprintf(report->path, sizeof report->path, "%s", found);
      snprintf(report->looked, sizeof report->looked, "%s", a.looked);
      report->handle = NULL;
    }
    for (size_t i = 0; lib && i < spec->nsymbols; i++) {
      void *sym = dlsym(lib, spec->symbols[i].name);
      if (!sym) {
        status = bunmg_fail(BUNMG_LIBRARY_NOT_FOUND, "%s has no symbol %s: not a %s library?", a.last_path,
                            spec->symbols[i].name, spec->what);
        dlclose(lib);
        lib = NULL;
        break;
      }
      memcpy(spec->symbols[i].slot, &sym, sizeof sym); /* POSIX: function pointers are object-sized */
    }
    spec->loaded = status == BUNMG_OK;
    if (report && spec->loaded) report->handle = lib;
  }
  pthread_mutex_unlock(&load_lock);
  return status;
}

void bunmg_library_report(const bunmg_library *spec, const char **path, const char **looked, void **handle) {
  pthread_mutex_lock(&load_lock);
  const library_report *report = NULL;
  for (size_t i = 0; i < sizeof reports / sizeof *reports && !report; i++)
    if (reports[i].spec == spec) report = &reports[i];
  *path = report ? report->path : "";
  *looked = report ? report->looked : "";
  *handle = report ? report->handle : NULL;
  pthread_mutex_unlock(&load_lock);
}

const char *bunmg_cusolver_status_name(int s) {
  static const char *const names[] = {
      "CUSOLVER_STATUS_SUCCESS",          "CUSOLVER_STATUS_NOT_INITIALIZED",
      "CUSOLVER_STATUS_ALLOC_FAILED",     "CUSOLVER_STATUS_INVALID_VALUE",
      "CUSOLVER_STATUS_ARCH_MISMATCH",    "CUSOLVER_STATUS_MAPPING_ERROR",
      "CUSOLVER_STATUS_EXECUTION_FAILED", "CUSOLVER_STATUS_INTERNAL_ERROR",
      "CUSOLVER_STATUS_MATRIX_TYPE_NOT_SUPPORTED", "CUSOLVER_STATUS_NOT_SUPPORTED"};
  return s >= 0 && s < (int)(sizeof names / sizeof *names) ? names[s] : "unknown cuSOLVER status";
}

bunmg_status bunmg_cusolver_check(int s, const char *routine) {
  if (s == 0) return BUNMG_OK;
  (void)cudaGetLastError(); /* a failed routine may leave a CUDA error behind */
  return bunmg_fail(BUNMG_SOLVER_ERROR, "%s failed: %s (%d)", routine, bunmg_cusolver_status_name(s), s);
}

int bunmg_cuda_data_type(int32_t dtype) {
  switch (dtype) {
    case BUNMG_FLOAT32: return CUDA_R_32F;
    case BUNMG_FLOAT64: return CUDA_R_64F;
    case BUNMG_COMPLEX64: return CUDA_C_32F;
    default: return CUDA_C_64F;
  }
}

int bunmg_cuda_real_type(int32_t dtype) { return bunmg_dtype_real_size(dtype) == 4 ? CUDA_R_32F : CUDA_R_64F; }
