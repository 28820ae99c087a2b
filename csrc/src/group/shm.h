/* POSIX shared-memory segments of the groups, as files in /dev/shm. Every segment starts with a
 * bunmg_seg_head naming its owner process and its launch, so that segments left behind by a
 * process that died, or by another launch of the same job id, can be told apart. Names:
 *   /bunmg-<job>                       a group's meeting point; unlinked once every rank has joined
 *   /bunmg-<job>.<id>.o<gen>           the small results of collective operation <gen>
 *   /bunmg-<job>.<id>.r<rank>.<n>      a host-backend shard of a rank in process mode
 *   /bunmg-<job>.<id>.g<gen>           the mailboxes and agreements of grid redistribution <gen>
 *                                      (mp/shm_transport.c); unlinked once every rank has joined
 * <id> is the meeting's random id (16 hex digits), so that two launches of one job id never
 * share a name. Job ids are [A-Za-z0-9_-]{1,64}, so "." separates a job's own segments.
 *
 * /dev/shm is hostile: anything may sit under a name. Only regular files of this user with
 * mode 0600 and a complete head are segments; they are opened without following links and
 * without blocking. A segment is built unnamed (O_TMPFILE) and linked under its name once
 * complete, so a named entry that is not a complete segment is garbage, never one being made. */
#ifndef BUNMG_SHM_H
#define BUNMG_SHM_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/internal.h"

#define BUNMG_JOB_MAX 64
#define BUNMG_SECRET_MAX 128
#define BUNMG_SHM_NAME_MAX 128
#define BUNMG_SHM_DIR "/dev/shm"
#define BUNMG_SHM_PREFIX "bunmg-"

enum { BUNMG_SEG_MAIN = 1, BUNMG_SEG_DATA = 2, BUNMG_SEG_SHARD = 3, BUNMG_SEG_GRID = 4 };

/* At offset 0 of every segment; 64 bytes. */
typedef struct bunmg_seg_head {
  _Atomic uint64_t magic;
  uint32_t version;
  uint32_t kind;          /* BUNMG_SEG_* */
  int32_t owner_pid;
  int32_t reserved;
  uint64_t owner_start;   /* the owner's start time (/proc/<pid>/stat): tells a reused pid */
  uint64_t bytes;         /* whole segment */
  uint64_t launch;        /* the creator's launch (bunmg_launch_of its secret; 0: none) */
  uint8_t pad[16];
} bunmg_seg_head;

/* A segment mapped by this process. */
typedef struct bunmg_seg {
  char *base; /* NULL when not mapped */
  size_t bytes;
  int pending;    /* made by bunmg_seg_create, not yet published: fd is its unnamed file */
  int fd;
  dev_t dev;      /* the file: unlinking by name removes this one only */
  ino_t ino;
  char name[BUNMG_SHM_NAME_MAX]; /* "/bunmg-...", once published or opened */
} bunmg_seg;

/* 1 when job is a valid job id; when secret is NULL, "" or 1..BUNMG_SECRET_MAX of the same
 * characters. */
int bunmg_job_valid(const char *job);
int bunmg_secret_valid(const char *secret);
/* A launch's fingerprint: a 64-bit hash of its secret, never 0; 0 for no secret. */
uint64_t bunmg_launch_of(const char *secret);
/* "launch 1a2b3c4d" (the fingerprint's top 32 bits, never the secret) or "no launch secret". */
void bunmg_launch_text(uint64_t launch, char *out, size_t len);

/* Makes an unnamed segment of `bytes` zeros with its head filled in, mapped; the caller fills
 * it and names it with bunmg_seg_publish. */
bunmg_status bunmg_seg_create(bunmg_seg *seg, uint32_t kind, size_t bytes, uint64_t launch);
/* Links the segment under name. Garbage or a dead owner's segment there is removed first.
 * BUNMG_TIMEOUT, with no error set, when a live segment holds the name (its head in *holder,
 * if not NULL): the caller decides whether to wait; INVALID_ARGUMENT when the name holds
 * something this user cannot remove (another user's entry, a directory). */
bunmg_status bunmg_seg_publish(bunmg_seg *seg, const char *name, bunmg_seg_head *holder);
/* Maps the live segment name of `kind`. BUNMG_TIMEOUT, with no error set, when there is none
 * (garbage and dead owners' segments there are removed): try again; another status, with the
 * error set, when the name holds what can never become a segment of this user. */
bunmg_status bunmg_seg_open(bunmg_seg *seg, const char *name, uint32_t kind);
/* Unmaps (and drops an unpublished segment). */
void bunmg_seg_unmap(bunmg_seg *seg);
/* Removes the segment's name, if it still names this segment. */
void bunmg_seg_unlink(const bunmg_seg *seg);

/* Removes this user's entries of `job` (NULL: of every job) that are garbage or whose owner is
 * gone, or with `force` every segment of `job` of `launch` (0: of any launch); returns how many.
 * Never opens what is not a regular file, never blocks. Leaves the current error alone. */
int32_t bunmg_sweep(const char *job, uint64_t launch, int force);

/* This process's start time in clock ticks after boot (0 when unknown). */
uint64_t bunmg_process_start(int32_t pid);
/* 0 when process pid is gone, a zombie, or a different process than the one started at `start`
 * (start 0: not checked). */
int bunmg_process_alive(int32_t pid, uint64_t start);

/* Monotonic milliseconds. */
int64_t bunmg_now_ms(void);
/* One pause of a polling wait, longer as `round` (counted here from 0) grows: yields, then sleeps
 * of 0.1 and 1 ms. */
void bunmg_backoff(int *round);

#endif
