/* Whether a process is still the one that made a segment or joined a group, and the clock of
 * every wait. */
#include "group/shm.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int64_t bunmg_now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

void bunmg_backoff(int *round) {
  if (*round < 50) sched_yield();
  else {
    struct timespec t = {0, *round < 200 ? 100000 : 1000000};
    nanosleep(&t, NULL);
  }
  (*round)++;
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
  p += 3; /* the space that ends field 3 */
  for (int field = 3; field < 22 && p; field++) {
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
