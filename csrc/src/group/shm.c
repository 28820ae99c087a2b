/* Shared-memory segments with an owner, and the sweep of segments whose owner is gone. */
#include "group/shm.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SEG_MAGIC 0x2d474d4e55420a01ULL
#define SEG_VERSION 1
/* A segment without a published head is a creator that died between shm_open and publishing
 * (or one still doing so): removed once it is this old. */
#define UNPUBLISHED_STALE_S 60

int bunmg_job_valid(const char *job) {
  if (!job) return 0;
  size_t n = strlen(job);
  if (n < 1 || n > BUNMG_JOB_MAX) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = job[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
      return 0;
  }
  return 1;
}

int64_t bunmg_now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* State letter and start time (field 22) of /proc/<pid>/stat; 0 when unreadable. */
static int read_stat(int32_t pid, char *state, uint64_t *start) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = '\0';
  char *p = strrchr(buf, ')'); /* the command name may hold spaces and parentheses */
  if (!p || p[1] != ' ') return 0;
  *state = p[2];
  p += 3; /* now at field 4 */
  for (int field = 4; field < 22 && p; field++) {
    p = strchr(p, ' ');
    if (p) p++;
  }
  *start = p ? strtoull(p, NULL, 10) : 0;
  return 1;
}

uint64_t bunmg_process_start(int32_t pid) {
  char state;
  uint64_t start = 0;
  return read_stat(pid, &state, &start) ? start : 0;
}

int bunmg_process_alive(int32_t pid, uint64_t start) {
  if (pid <= 0) return 0;
  char state;
  uint64_t actual;
  /* /proc first, kill() only when it says nothing: asked the other way round, a zombie reaped
   * between the two looked alive. */
  if (!read_stat(pid, &state, &actual)) return !(kill(pid, 0) != 0 && errno == ESRCH);
  if (state == 'Z' || state == 'X') return 0;     /* exited, not yet reaped by its parent */
  return start == 0 || actual == start;
}

static bunmg_status shm_error(const char *call, const char *name, int err) {
  if (err == ENOMEM || err == ENOSPC || err == EFBIG)
    return bunmg_fail(BUNMG_OUT_OF_MEMORY, "%s %s: %s (is /dev/shm full?)", call, name, strerror(err));
  return bunmg_fail(BUNMG_DEVICE_ERROR, "%s %s: %s", call, name, strerror(err));
}

/* Reads the head of an open segment; 1 when it is published bunmg data. */
static int read_head(int fd, bunmg_seg_head *head) {
  return pread(fd, head, sizeof *head, 0) == (ssize_t)sizeof *head && head->magic == SEG_MAGIC;
}

/* 1 when the segment behind fd belongs to nobody alive. */
static int orphaned(int fd) {
  bunmg_seg_head head;
  if (read_head(fd, &head)) return !bunmg_process_alive(head.owner_pid, head.owner_start);
  struct stat st;
  return fstat(fd, &st) == 0 && time(NULL) - st.st_mtime > UNPUBLISHED_STALE_S;
}

/* Removes name when its owner is gone: 1 removed, 0 kept or absent. */
static int unlink_if_orphaned(const char *name) {
  int fd = shm_open(name, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) return 0;
  int dead = orphaned(fd);
  close(fd);
  return dead && shm_unlink(name) == 0;
}

bunmg_status bunmg_seg_create(bunmg_seg *seg, const char *name, uint32_t kind, size_t bytes) {
  memset(seg, 0, sizeof *seg);
  snprintf(seg->name, sizeof seg->name, "%s", name);
  int fd = -1;
  for (int attempt = 0; attempt < 2 && fd < 0; attempt++) {
    fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST) {
      if (attempt == 0 && unlink_if_orphaned(name)) continue;
      return bunmg_fail(BUNMG_INVALID_ARGUMENT,
                        "shared memory segment %s already exists and its owner is alive: is this job id in use?",
                        name);
    }
    if (fd < 0) return shm_error("shm_open", name, errno);
  }
  if (ftruncate(fd, (off_t)bytes) != 0) {
    int err = errno;
    close(fd);
    shm_unlink(name);
    return shm_error("ftruncate", name, err);
  }
  void *base = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  int err = errno;
  close(fd);
  if (base == MAP_FAILED) {
    shm_unlink(name);
    return shm_error("mmap", name, err);
  }
  seg->base = base;
  seg->bytes = bytes;
  bunmg_seg_head *head = (bunmg_seg_head *)base;
  head->version = SEG_VERSION;
  head->kind = kind;
  head->owner_pid = (int32_t)getpid();
  head->owner_start = bunmg_process_start(head->owner_pid);
  head->bytes = bytes;
  return BUNMG_OK;
}

void bunmg_seg_publish(bunmg_seg *seg) {
  atomic_store_explicit(&((bunmg_seg_head *)seg->base)->magic, SEG_MAGIC, memory_order_release);
}

bunmg_status bunmg_seg_open(bunmg_seg *seg, const char *name, uint32_t kind) {
  memset(seg, 0, sizeof *seg);
  snprintf(seg->name, sizeof seg->name, "%s", name);
  int fd = shm_open(name, O_RDWR | O_CLOEXEC, 0);
  if (fd < 0) return errno == ENOENT ? BUNMG_TIMEOUT : shm_error("shm_open", name, errno);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int err = errno;
    close(fd);
    return shm_error("fstat", name, err);
  }
  if ((size_t)st.st_size < sizeof(bunmg_seg_head)) { /* created, not yet sized */
    close(fd);
    return BUNMG_TIMEOUT;
  }
  void *base = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  int err = errno;
  close(fd);
  if (base == MAP_FAILED) return shm_error("mmap", name, err);
  bunmg_seg_head *head = (bunmg_seg_head *)base;
  if (atomic_load_explicit(&head->magic, memory_order_acquire) != SEG_MAGIC) {
    munmap(base, (size_t)st.st_size);
    return BUNMG_TIMEOUT;
  }
  if (head->version != SEG_VERSION || head->kind != kind || head->bytes != (uint64_t)st.st_size) {
    bunmg_status bad = bunmg_fail(BUNMG_INVALID_ARGUMENT,
                                  "shared memory segment %s has version %u, kind %u, %llu bytes: not what this "
                                  "libbunmg expects (version %u, kind %u; another bunmg version in the job?)",
                                  name, head->version, head->kind, (unsigned long long)head->bytes, SEG_VERSION, kind);
    munmap(base, (size_t)st.st_size);
    return bad;
  }
  seg->base = base;
  seg->bytes = (size_t)st.st_size;
  return BUNMG_OK;
}

void bunmg_seg_unmap(bunmg_seg *seg) {
  if (seg->base) munmap(seg->base, seg->bytes);
  seg->base = NULL;
  seg->bytes = 0;
}

void bunmg_seg_unlink(const char *name) { (void)shm_unlink(name); }

/* "bunmg-<job>" itself or one of its "bunmg-<job>.<...>" segments. */
static int of_job(const char *entry, const char *job) {
  size_t p = strlen(BUNMG_SHM_PREFIX), j = strlen(job);
  return strncmp(entry, BUNMG_SHM_PREFIX, p) == 0 && strncmp(entry + p, job, j) == 0 &&
         (entry[p + j] == '\0' || entry[p + j] == '.');
}

int32_t bunmg_sweep(const char *job, int force) {
  int32_t count = 0;
  DIR *dir = opendir(BUNMG_SHM_DIR);
  if (!dir) return 0;
  struct dirent *e;
  while ((e = readdir(dir)) != NULL) {
    if (strncmp(e->d_name, BUNMG_SHM_PREFIX, strlen(BUNMG_SHM_PREFIX)) != 0) continue;
    if (job && !of_job(e->d_name, job)) continue;
    char name[BUNMG_SHM_NAME_MAX + 2];
    if (snprintf(name, sizeof name, "/%s", e->d_name) >= (int)sizeof name) continue;
    if (force ? shm_unlink(name) == 0 : unlink_if_orphaned(name)) count++;
  }
  closedir(dir);
  return count;
}

bunmg_status bunmg_shm_sweep(const char *job, int32_t force, int32_t *removed) {
  bunmg_clear_error();
  int all = !job || !job[0];
  if (!all && !bunmg_job_valid(job))
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "shm_sweep: job id must be 1..%d characters of [A-Za-z0-9_-]",
                      BUNMG_JOB_MAX);
  if (all && force) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "shm_sweep: a forced sweep needs a job id");
  int32_t count = bunmg_sweep(all ? NULL : job, force);
  if (removed) *removed = count;
  return BUNMG_OK;
}
