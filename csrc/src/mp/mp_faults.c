/* Fault injection into an mp rank, for tests: the fault bunmg_mp_debug_inject armed fires at the
 * n-th event of its kind. */
#include <signal.h>
#include <unistd.h>

#include "mp/mp_world.h"

int bunmg_mp_fault_fires(bunmg_mp *mp, int32_t kind) {
  mp->fault_events[kind]++;
  if (mp->fault_kind != kind || mp->fault_left < 0) return 0;
  if (mp->fault_left-- > 0) return 0;
  mp->fault_kind = BUNMG_MP_FAULT_NONE;
  return 1;
}

/* As a killed process: nothing of this rank runs after it. */
static void die(void) {
  kill(getpid(), SIGKILL);
  for (;;) pause();
}

void bunmg_mp_fault_comm(bunmg_mp *mp) {
  if (bunmg_mp_fault_fires(mp, BUNMG_MP_FAULT_DIE)) die();
}

void bunmg_mp_fault_engine(bunmg_mp *mp) {
  if (bunmg_mp_fault_fires(mp, BUNMG_MP_FAULT_DIE_ENGINE)) die();
}
