/* Shared-memory segments with an owner, what else may sit under their names, and the sweep. */
#include "group/shm.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define SEG_MAGIC 0x2d474d4e55420a01ULL
#define SEG_VERSION 2
#define PATH_MAX_LEN (sizeof BUNMG_SHM_DIR + BUNMG_SHM_NAME_MAX)
#define PUBLISH_ATTEMPTS 3

/* What sits under a name. */
typedef enum {
  ENTRY_NONE,    /* nothing */
  ENTRY_OTHER,   /* something this user may not use or remove: another user's, a directory */
  ENTRY_GARBAGE, /* this user's, but not a complete segment: a FIFO, a link, an empty file, ... */
  ENTRY_DEAD,    /* a segment whose owner is gone */
  ENTRY_LIVE     /* a segment whose owner is alive */
} entry_kind;

typedef struct entry {
  entry_kind kind;
  struct stat st;      /* of the entry itself, not followed */
  bunmg_seg_head head; /* DEAD, LIVE */
  char what[96];       /* OTHER, GARBAGE: what it is, for messages */
} entry;

static void shm_path(const char *name, char *out) { snprintf(out, PATH_MAX_LEN, BUNMG_SHM_DIR "%s", name); }

static const char *type_name(mode_t mode) {
  if (S_ISREG(mode)) return "file";
  if (S_ISDIR(mode)) return "directory";
  if (S_ISFIFO(mode)) return "FIFO";
  if (S_ISLNK(mode)) return "symbolic link";
  if (S_ISSOCK(mode)) return "socket";
  return "device";
}

/* Classifies e->st; 1 when it may be a segment (a regular file of this user, mode 0600, room
 * for a head). */
static int judge_stat(entry *e) {
  const struct stat *st = &e->st;
  e->kind = ENTRY_GARBAGE;
  if (st->st_uid != geteuid()) {
    e->kind = ENTRY_OTHER;
    snprintf(e->what, sizeof e->what, "a %s of uid %u", type_name(st->st_mode), (unsigned)st->st_uid);
  } else if (S_ISDIR(st->st_mode)) {
    e->kind = ENTRY_OTHER;
    snprintf(e->what, sizeof e->what, "a directory");
  } else if (!S_ISREG(st->st_mode)) {
    snprintf(e->what, sizeof e->what, "a %s", type_name(st->st_mode));
  } else if ((st->st_mode & 07777) != 0600) {
    snprintf(e->what, sizeof e->what, "a file of mode %04o", (unsigned)(st->st_mode & 07777));
  } else if (st->st_size < (off_t)sizeof(bunmg_seg_head)) {
    snprintf(e->what, sizeof e->what, "a file of %lld bytes", (long long)st->st_size);
  } else {
    return 1;
  }
  return 0;
}

/* Looks at /dev/shm<name> without following a link or blocking on a FIFO. With fd, a live
 * segment stays open read-write in *fd (else -1), checked by fstat: what is mapped is what was
 * judged. */
static void examine(const char *name, entry *e, int *fd) {
  char path[PATH_MAX_LEN];
  shm_path(name, path);
  memset(e, 0, sizeof *e);
  if (fd) *fd = -1;
  if (lstat(path, &e->st) != 0) {
    e->kind = errno == ENOENT ? ENTRY_NONE : ENTRY_OTHER;
    snprintf(e->what, sizeof e->what, "unreadable (%s)", strerror(errno));
    return;
  }
  if (!judge_stat(e)) return;
  int f = open(path, (fd ? O_RDWR : O_RDONLY) | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (f < 0) {
    e->kind = errno == ENOENT ? ENTRY_NONE : ENTRY_GARBAGE;
    snprintf(e->what, sizeof e->what, "a file that cannot be opened (%s)", strerror(errno));
    return;
  }
  if (fstat(f, &e->st) != 0) snprintf(e->what, sizeof e->what, "a file that cannot be examined (%s)", strerror(errno));
  if (e->what[0] || !judge_stat(e)) { /* replaced since lstat */
    close(f);
    return;
  }
  if (pread(f, &e->head, sizeof e->head, 0) != (ssize_t)sizeof e->head || e->head.magic != SEG_MAGIC) {
    snprintf(e->what, sizeof e->what, "a file without a bunmg segment head");
  } else if (e->head.bytes != (uint64_t)e->st.st_size) {
    snprintf(e->what, sizeof e->what, "a truncated segment (%lld of %llu bytes)", (long long)e->st.st_size,
             (unsigned long long)e->head.bytes);
  } else {
    e->kind = bunmg_process_alive(e->head.owner_pid, e->head.owner_start) ? ENTRY_LIVE : ENTRY_DEAD;
  }
  if (fd && e->kind == ENTRY_LIVE) *fd = f;
  else close(f);
}

/* Unlinks name if it is still the entry `seen` (not one made since); 1 when removed. */
static int remove_entry(const char *name, const struct stat *seen) {
  char path[PATH_MAX_LEN];
  struct stat now;
  shm_path(name, path);
  return lstat(path, &now) == 0 && now.st_dev == seen->st_dev && now.st_ino == seen->st_ino && unlink(path) == 0;
}

static bunmg_status refuse(const char *name, const entry *e) {
  return bunmg_fail(BUNMG_INVALID_ARGUMENT,
                    BUNMG_SHM_DIR "%s is %s, not a bunmg segment of this user: remove it or use another job id", name,
                    e->what);
}

static bunmg_status shm_error(const char *call, const char *what, int err) {
  if (err == ENOMEM || err == ENOSPC || err == EFBIG)
    return bunmg_fail(BUNMG_OUT_OF_MEMORY, "%s %s: %s (is /dev/shm full?)", call, what, strerror(err));
  return bunmg_fail(BUNMG_DEVICE_ERROR, "%s %s: %s", call, what, strerror(err));
}

bunmg_status bunmg_seg_create(bunmg_seg *seg, uint32_t kind, size_t bytes, uint64_t launch) {
  memset(seg, 0, sizeof *seg);
  int fd = open(BUNMG_SHM_DIR, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) return shm_error("open(O_TMPFILE)", BUNMG_SHM_DIR, errno);
  struct stat st;
  const char *failed = NULL;
  int err = 0;
  if (fchmod(fd, 0600) != 0) failed = "fchmod"; /* exactly 0600, whatever the umask */
  else if (ftruncate(fd, (off_t)bytes) != 0) failed = "ftruncate";
  /* The pages reserved now: a full /dev/shm fails here, not as a SIGBUS on first touch. */
  else if ((err = posix_fallocate(fd, 0, (off_t)bytes)) != 0 && err != EOPNOTSUPP && err != ENOSYS) {
    errno = err;
    failed = "posix_fallocate";
  }
  else if (fstat(fd, &st) != 0) failed = "fstat";
  void *base = failed ? MAP_FAILED : mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) {
    int err = errno;
    close(fd);
    return shm_error(failed ? failed : "mmap", "a new segment in " BUNMG_SHM_DIR, err);
  }
  *seg = (bunmg_seg){.base = base, .bytes = bytes, .pending = 1, .fd = fd, .dev = st.st_dev, .ino = st.st_ino};
  bunmg_seg_head *head = (bunmg_seg_head *)base;
  head->version = SEG_VERSION;
  head->kind = kind;
  head->owner_pid = (int32_t)getpid();
  head->owner_start = bunmg_process_start(head->owner_pid);
  head->bytes = bytes;
  head->launch = launch;
  atomic_store_explicit(&head->magic, SEG_MAGIC, memory_order_release);
  return BUNMG_OK;
}

bunmg_status bunmg_seg_publish(bunmg_seg *seg, const char *name, bunmg_seg_head *holder) {
  char path[PATH_MAX_LEN], self[32];
  shm_path(name, path);
  snprintf(self, sizeof self, "/proc/self/fd/%d", seg->fd);
  entry e = {.kind = ENTRY_NONE};
  for (int attempt = 0; attempt < PUBLISH_ATTEMPTS; attempt++) {
    if (linkat(AT_FDCWD, self, AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0) {
      snprintf(seg->name, sizeof seg->name, "%s", name);
      close(seg->fd);
      seg->pending = 0;
      return BUNMG_OK;
    }
    if (errno != EEXIST) return shm_error("linkat", path, errno);
    examine(name, &e, NULL);
    if (e.kind == ENTRY_LIVE) {
      if (holder) *holder = e.head;
      return BUNMG_TIMEOUT;
    }
    if (e.kind == ENTRY_OTHER) return refuse(name, &e);
    if (e.kind != ENTRY_NONE) remove_entry(name, &e.st);
  }
  return bunmg_fail(BUNMG_INVALID_ARGUMENT, "%s holds %s that could not be removed", path, e.what);
}

bunmg_status bunmg_seg_open(bunmg_seg *seg, const char *name, uint32_t kind) {
  memset(seg, 0, sizeof *seg);
  entry e;
  int fd;
  examine(name, &e, &fd);
  if (e.kind == ENTRY_OTHER) return refuse(name, &e);
  if (e.kind == ENTRY_GARBAGE || e.kind == ENTRY_DEAD) remove_entry(name, &e.st);
  if (e.kind != ENTRY_LIVE) return BUNMG_TIMEOUT;
  if (e.head.version != SEG_VERSION || e.head.kind != kind) {
    close(fd);
    return bunmg_fail(BUNMG_INVALID_ARGUMENT,
                      "shared memory segment %s has version %u, kind %u: not what this libbunmg expects (version "
                      "%u, kind %u; another bunmg version in the job?)",
                      name, e.head.version, e.head.kind, SEG_VERSION, kind);
  }
  size_t bytes = (size_t)e.st.st_size;
  void *base = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  int err = errno;
  close(fd);
  if (base == MAP_FAILED) return shm_error("mmap", name, err);
  *seg = (bunmg_seg){.base = base, .bytes = bytes, .dev = e.st.st_dev, .ino = e.st.st_ino};
  snprintf(seg->name, sizeof seg->name, "%s", name);
  return BUNMG_OK;
}

void bunmg_seg_unmap(bunmg_seg *seg) {
  if (seg->base) munmap(seg->base, seg->bytes);
  if (seg->pending) close(seg->fd);
  seg->base = NULL;
  seg->bytes = 0;
  seg->pending = 0;
}

void bunmg_seg_unlink(const bunmg_seg *seg) {
  struct stat st = {.st_dev = seg->dev, .st_ino = seg->ino};
  if (seg->name[0]) remove_entry(seg->name, &st);
}

/* "bunmg-<job>" itself or one of its "bunmg-<job>.<...>" segments. */
static int of_job(const char *entry, const char *job) {
  size_t p = strlen(BUNMG_SHM_PREFIX), j = strlen(job);
  return strncmp(entry, BUNMG_SHM_PREFIX, p) == 0 && strncmp(entry + p, job, j) == 0 &&
         (entry[p + j] == '\0' || entry[p + j] == '.');
}

int32_t bunmg_sweep(const char *job, uint64_t launch, int force) {
  int32_t count = 0;
  DIR *dir = opendir(BUNMG_SHM_DIR);
  if (!dir) return 0;
  struct dirent *d;
  while ((d = readdir(dir)) != NULL) {
    if (strncmp(d->d_name, BUNMG_SHM_PREFIX, strlen(BUNMG_SHM_PREFIX)) != 0) continue;
    if (job && !of_job(d->d_name, job)) continue;
    char name[BUNMG_SHM_NAME_MAX];
    if (snprintf(name, sizeof name, "/%s", d->d_name) >= (int)sizeof name) continue;
    entry e;
    examine(name, &e, NULL);
    int of_launch = e.kind == ENTRY_LIVE && (!launch || e.head.launch == launch);
    if ((e.kind == ENTRY_GARBAGE || e.kind == ENTRY_DEAD || (force && of_launch)) && remove_entry(name, &e.st)) count++;
  }
  closedir(dir);
  return count;
}

bunmg_status bunmg_shm_sweep(const char *job, const char *secret, int32_t force, int32_t *removed) {
  bunmg_clear_error();
  int all = !job || !job[0];
  if (!all && !bunmg_job_valid(job))
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "shm_sweep: job id must be 1..%d characters of [A-Za-z0-9_-]",
                      BUNMG_JOB_MAX);
  if (!bunmg_secret_valid(secret))
    return bunmg_fail(BUNMG_INVALID_ARGUMENT, "shm_sweep: a launch secret must be 1..%d characters of [A-Za-z0-9_-]",
                      BUNMG_SECRET_MAX);
  if (all && force) return bunmg_fail(BUNMG_INVALID_ARGUMENT, "shm_sweep: a forced sweep needs a job id");
  int32_t count = bunmg_sweep(all ? NULL : job, bunmg_launch_of(secret), force);
  if (removed) *removed = count;
  return BUNMG_OK;
}
