/* Executor of grid plans, one rank's part. Rounds run in order; every rank walks the same moves
 * in the same order, so sends and receives between two ranks match in order.
 *
 * Failures. SPLIT is local: a rank stops at its first failed copy and the ranks agree once, at
 * the end of the phase. EXCHANGE agrees after every round. When a rank failed in round t, every
 * rank undoes the rounds before t, newest first, each move copied back from its destination to
 * its source, and then the phases before: round t itself needs no undoing, since each of its
 * moves writes only a region whose content an earlier round already copied elsewhere (or a free
 * one). A transport that agrees only once per phase learns of an exchange failure after later
 * rounds copied from the region the failed move did not fill: LAYOUT_LOST. A broken transport
 * (TIMEOUT, PEER_LOST) ends the run at once: in the exchange the matrix is lost; in the split,
 * which is local, each rank undoes its own (the way to the grid) or has finished it (the way back). */
#include <stdio.h>
#include <string.h>

#include "mp/grid_exec.h"

typedef struct run {
  const bunmg_grid_plan *plan;
  const bunmg_grid_transport *t;
  int32_t rank;
  char *buffer, *staging;
  size_t esize;
  bunmg_status failed;  /* this rank's first failure in the current step */
  char cause[512];      /* its message */
} run;

static int broken(bunmg_status st) { return st == BUNMG_TIMEOUT || st == BUNMG_PEER_LOST; }

static const char *status_name(bunmg_status st) {
  static const char *const names[] = {"OK", "INVALID_ARGUMENT", "OUT_OF_MEMORY", "LIBRARY_NOT_FOUND", "NO_DEVICE",
                                      "DEVICE_ERROR", "SOLVER_ERROR", "NOT_POSITIVE_DEFINITE", "NO_CONVERGENCE",
                                      "SINGULAR", "LAYOUT_LOST", "UNSUPPORTED", "TIMEOUT", "PEER_LOST"};
  return st >= 0 && st <= BUNMG_PEER_LOST ? names[st] : "unknown status";
}

static const char *phase_name(int32_t phase) { return phase == BUNMG_GRID_PHASE_SPLIT ? "split" : "exchange"; }

/* Records this rank's first failure of the step (st != OK and not a broken transport). */
static void note_failure(run *r, bunmg_status st) {
  if (r->failed != BUNMG_OK) return;
  r->failed = st;
  snprintf(r->cause, sizeof r->cause, "%s", bunmg_last_error());
}

static char *region(const run *r, int staging, int64_t offset, int64_t elements, bunmg_status *st) {
  int64_t limit = staging ? r->plan->summary.staging : r->plan->summary.capacity;
  if (offset < 0 || elements < 1 || offset > limit - elements) {
    *st = bunmg_fail(BUNMG_UNSUPPORTED, "grid plan: internal error, %lld elements at %lld exceed the %s of %lld",
                     (long long)elements, (long long)offset, staging ? "staging" : "buffer", (long long)limit);
    return NULL;
  }
  return (staging ? r->staging : r->buffer) + (size_t)offset * r->esize;
}

/* Issues this rank's side of one move; backward = from its destination to its source. */
static bunmg_status issue(run *r, const bunmg_grid_move *m, int backward) {
  int32_t from = backward ? m->dst_rank : m->src_rank, to = backward ? m->src_rank : m->dst_rank;
  if (from != r->rank && to != r->rank) return BUNMG_OK;
  int from_staging = backward ? m->dst_staging : m->src_staging, to_staging = backward ? m->src_staging : m->dst_staging;
  int64_t from_offset = backward ? m->dst_offset : m->src_offset, to_offset = backward ? m->src_offset : m->dst_offset;
  size_t bytes = (size_t)m->elements * r->esize;
  bunmg_status st = BUNMG_OK;
  char *src = from == r->rank ? region(r, from_staging, from_offset, m->elements, &st) : NULL;
  char *dst = to == r->rank && st == BUNMG_OK ? region(r, to_staging, to_offset, m->elements, &st) : NULL;
  if (st != BUNMG_OK) return st;
  void *ctx = r->t->context;
  if (src && dst) return r->t->copy(ctx, dst, src, bytes);
  if (src) return r->t->send(ctx, to, src, bytes);
  return r->t->recv(ctx, from, dst, bytes);
}

/* Issues the moves of one round (for SPLIT, this rank's move of that round) and completes them.
 * Non-fatal failures are noted and the rest of the round still goes out, so peers complete. */
static bunmg_status run_round(run *r, int32_t phase, int64_t round, int backward) {
  const bunmg_grid_plan *plan = r->plan;
  bunmg_status st = BUNMG_OK;
  if (phase == BUNMG_GRID_PHASE_SPLIT) {
    bunmg_grid_move m;
    if (bunmg_grid_split_move(plan, r->rank, round, &m)) st = issue(r, &m, backward);
    if (st != BUNMG_OK && !broken(st)) note_failure(r, st);
  } else {
    for (int64_t i = plan->round_start[round]; i < plan->round_start[round + 1]; i++) {
      st = issue(r, &plan->moves[i], backward);
      if (broken(st)) return st;
      if (st != BUNMG_OK) note_failure(r, st);
    }
  }
  if (broken(st)) return st;
  st = r->t->complete(r->t->context);
  if (st != BUNMG_OK && !broken(st)) note_failure(r, st);
  return broken(st) ? st : BUNMG_OK;
}

static int64_t rounds_of(const bunmg_grid_plan *plan, int32_t phase) {
  return phase == BUNMG_GRID_PHASE_SPLIT ? plan->split_rounds : plan->summary.exchange_rounds;
}

/* Step k of a phase run in direction `backward` is round k going forward, round R-1-k back. */
static int64_t round_at(const bunmg_grid_plan *plan, int32_t phase, int backward, int64_t k) {
  return backward ? rounds_of(plan, phase) - 1 - k : k;
}

typedef struct outcome {
  int32_t first;           /* the lowest failed rank, -1 when none */
  bunmg_status status;     /* its status */
  int64_t steps;           /* steps of the phase done everywhere before the failure (SPLIT: by this rank) */
  int lost;                /* the failure came to light too late to roll back */
} outcome;

static bunmg_status agree(run *r, outcome *o) { return r->t->agree(r->t->context, r->failed, &o->first, &o->status); }

/* Runs steps [0, steps) of a phase; stops at the first agreed failure. */
static bunmg_status run_phase(run *r, int32_t phase, int backward, int64_t steps, outcome *o) {
  *o = (outcome){-1, BUNMG_OK, 0, 0};
  r->failed = BUNMG_OK;
  for (int64_t k = 0; k < steps; k++) {
    bunmg_status st = run_round(r, phase, round_at(r->plan, phase, backward, k), backward);
    if (st != BUNMG_OK) return st;
    if (phase == BUNMG_GRID_PHASE_EXCHANGE && r->t->agree_every_round) {
      st = agree(r, o);
      if (st != BUNMG_OK) return st;
      if (o->first >= 0) return BUNMG_OK;
    } else if (phase == BUNMG_GRID_PHASE_SPLIT && r->failed != BUNMG_OK) {
      break;
    }
    o->steps = k + 1;
  }
  if (phase == BUNMG_GRID_PHASE_SPLIT || !r->t->agree_every_round) {
    bunmg_status st = agree(r, o);
    if (st == BUNMG_OK && o->first >= 0 && phase == BUNMG_GRID_PHASE_EXCHANGE) o->lost = 1;
    return st;
  }
  return BUNMG_OK;
}

/* Undoes steps [0, steps) of a phase that ran in direction `backward`, newest first. */
static bunmg_status undo_phase(run *r, int32_t phase, int backward, int64_t steps, int *clean) {
  r->failed = BUNMG_OK;
  outcome o;
  for (int64_t k = steps - 1; k >= 0; k--) {
    bunmg_status st = run_round(r, phase, round_at(r->plan, phase, backward, k), !backward);
    if (st != BUNMG_OK) return st;
    if (phase == BUNMG_GRID_PHASE_EXCHANGE && r->t->agree_every_round) {
      st = agree(r, &o);
      if (st != BUNMG_OK) return st;
      if (o.first >= 0) *clean = 0;
    }
  }
  if (phase == BUNMG_GRID_PHASE_SPLIT || !r->t->agree_every_round) {
    bunmg_status st = agree(r, &o);
    if (st != BUNMG_OK) return st;
    if (o.first >= 0) *clean = 0;
  }
  return BUNMG_OK;
}

static const char *layout_name(int reverse) { return reverse ? "grid" : "row"; }

/* The transport broke after `steps` steps of `phase`. The split is local: on the way to the grid
 * nothing has crossed between ranks yet, so this rank undoes its own split; on the way back the
 * exchange is over and the split finished, so its rows are complete. Otherwise the matrix is lost. */
static bunmg_status broke(run *r, int32_t phase, int reverse, int64_t steps, bunmg_status st) {
  char cause[1024];
  int64_t index;
  int32_t device;
  snprintf(cause, sizeof cause, "%s", bunmg_last_error());
  bunmg_last_error_detail(&index, &device);
  const char *state = "the matrix is lost";
  if (phase == BUNMG_GRID_PHASE_SPLIT && !reverse) {
    r->failed = BUNMG_OK;
    for (int64_t k = steps - 1; k >= 0 && r->failed == BUNMG_OK; k--)
      if (run_round(r, phase, round_at(r->plan, phase, 0, k), 1) != BUNMG_OK) r->failed = BUNMG_PEER_LOST;
    if (r->failed == BUNMG_OK) state = "nothing had crossed between ranks, and this rank's buffer is back in its row layout";
  } else if (phase == BUNMG_GRID_PHASE_SPLIT && r->failed == BUNMG_OK) {
    state = "this rank's buffer already holds its rows in row layout";
  }
  return bunmg_fail_at(st, index, device, "redistribution to the %s layout broke in its %s phase; %s: %s",
                       layout_name(!reverse), phase_name(phase), state, cause);
}

bunmg_status bunmg_grid_execute(const bunmg_grid_plan *plan, const bunmg_grid_transport *transport, int32_t rank,
                                void *buffer, void *staging, size_t element_bytes, int reverse) {
  run r = {plan, transport, rank, buffer, staging, element_bytes, BUNMG_OK, ""};
  const int32_t order[2] = {reverse ? BUNMG_GRID_PHASE_EXCHANGE : BUNMG_GRID_PHASE_SPLIT,
                            reverse ? BUNMG_GRID_PHASE_SPLIT : BUNMG_GRID_PHASE_EXCHANGE};
  int64_t done[2] = {0, 0};
  for (int p = 0; p < 2; p++) {
    int32_t phase = order[p];
    outcome o;
    bunmg_status st = run_phase(&r, phase, reverse, rounds_of(plan, phase), &o);
    if (st != BUNMG_OK) return broke(&r, phase, reverse, o.steps, st);
    done[p] = o.steps;
    if (o.first < 0) continue;
    /* a rank failed: take its cause, roll everything back */
    char cause[600];
    if (o.first == rank) snprintf(cause, sizeof cause, "%s", r.cause);
    else snprintf(cause, sizeof cause, "%s there", status_name(o.status));
    if (o.lost)
      return bunmg_fail_at(BUNMG_LAYOUT_LOST, -1, o.first,
                           "redistribution to the %s layout failed on rank %d in its exchange phase (%s), which "
                           "agrees only at its end: the layout is lost",
                           layout_name(!reverse), o.first, cause);
    int64_t failed_round = phase == BUNMG_GRID_PHASE_EXCHANGE ? round_at(plan, phase, reverse, o.steps) : -1;
    int clean = 1;
    for (int q = p; q >= 0 && st == BUNMG_OK; q--) st = undo_phase(&r, order[q], reverse, done[q], &clean);
    if (st != BUNMG_OK) {
      bunmg_error_prefix("redistribution failed on rank %d (%s) and broke while rolling back; the matrix is lost: ",
                         o.first, cause);
      return st;
    }
    char where[64] = "";
    if (failed_round >= 0) snprintf(where, sizeof where, " at round %lld", (long long)failed_round);
    if (!clean)
      return bunmg_fail_at(BUNMG_LAYOUT_LOST, -1, o.first,
                           "redistribution to the %s layout failed on rank %d in its %s phase%s (%s), and rolling "
                           "back failed too: the layout is lost",
                           layout_name(!reverse), o.first, phase_name(phase), where, cause);
    return bunmg_fail_at(o.status, -1, o.first,
                         "redistribution to the %s layout failed on rank %d in its %s phase%s (%s); the matrix was "
                         "restored to its %s layout",
                         layout_name(!reverse), o.first, phase_name(phase), where, cause, layout_name(reverse));
  }
  return BUNMG_OK;
}
