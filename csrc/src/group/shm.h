/* POSIX shared-memory segments of the groups (group.c). Every segment starts with a
 * bunmg_seg_head naming its owner process, so that segments left behind by a process that died
 * can be recognized and removed (bunmg_shm_sweep). Names, all under /dev/shm:
 *   /bunmg-<job>               a group's meeting point; unlinked once every rank has joined
 *   /bunmg-<job>.o<gen>        the small results of collective operation <gen> (X, eigenvalues)
 *   /bunmg-<job>.r<rank>.<n>   a host-backend shard of a rank in process mode
 * Job ids are [A-Za-z0-9_-]{1,64}, so "." separates a job's own segments from other jobs'. */
#ifndef BUNMG_SHM_H
#define BUNMG_SHM_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "core/internal.h"

#define BUNMG_JOB_MAX 64
#define BUNMG_SHM_NAME_MAX 128
#define BUNMG_SHM_DIR "/dev/shm"
#define BUNMG_SHM_PREFIX "bunmg-"

enum { BUNMG_SEG_MAIN = 1, BUNMG_SEG_DATA = 2, BUNMG_SEG_SHARD = 3 };

/* At offset 0 of every segment; 64 bytes. */
typedef struct bunmg_seg_head {
  _Atomic uint64_t magic; /* stored last (release) once the creator has initialized the segment */
  uint32_t version;
  uint32_t kind;          /* BUNMG_SEG_* */
  int32_t owner_pid;
  int32_t reserved;
  uint64_t owner_start;   /* the owner's start time (/proc/<pid>/stat): tells a reused pid */
  uint64_t bytes;         /* whole segment */
  uint8_t pad[24];
} bunmg_seg_head;

/* A segment mapped by this process. */
typedef struct bunmg_seg {
  char *base; /* NULL when not mapped */
  size_t bytes;
  char name[BUNMG_SHM_NAME_MAX]; /* "/bunmg-..." */
} bunmg_seg;

/* 1 when job is a valid job id. */
int bunmg_job_valid(const char *job);

/* Creates and maps name (O_EXCL) with `bytes` of zeros, the head filled in but not published
 * (bunmg_seg_publish). A leftover of a dead owner under the same name is removed first; a live
 * one is INVALID_ARGUMENT. */
bunmg_status bunmg_seg_create(bunmg_seg *seg, const char *name, uint32_t kind, size_t bytes);
/* Marks the segment initialized: openers wait for this. */
void bunmg_seg_publish(bunmg_seg *seg);
/* Maps an existing, published segment of `kind`. BUNMG_TIMEOUT, with no error set, when it is
 * absent or not yet published (try again); another status, with the error set, on failure. */
bunmg_status bunmg_seg_open(bunmg_seg *seg, const char *name, uint32_t kind);
void bunmg_seg_unmap(bunmg_seg *seg);
/* shm_unlink, ignoring a name that is already gone. */
void bunmg_seg_unlink(const char *name);

/* Unlinks the segments of `job` (NULL: of every job) whose owner is gone, or all of the job's
 * with `force`; returns how many. Leaves the current error alone. */
int32_t bunmg_sweep(const char *job, int force);

/* This process's start time in clock ticks after boot (0 when unknown). */
uint64_t bunmg_process_start(int32_t pid);
/* 0 when process pid is gone, a zombie, or a different process than the one started at `start`
 * (start 0: not checked). */
int bunmg_process_alive(int32_t pid, uint64_t start);

/* Monotonic milliseconds. */
int64_t bunmg_now_ms(void);

#endif
