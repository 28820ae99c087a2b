/* Job ids, launch secrets and the fingerprints that name a launch in messages. */
#include "group/shm.h"

#include <stdio.h>
#include <string.h>

static int id_chars(const char *text, size_t max) {
  size_t n = strlen(text);
  if (n < 1 || n > max) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = text[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
      return 0;
  }
  return 1;
}

int bunmg_job_valid(const char *job) { return job && id_chars(job, BUNMG_JOB_MAX); }

int bunmg_secret_valid(const char *secret) { return !secret || !secret[0] || id_chars(secret, BUNMG_SECRET_MAX); }

/* FNV-1a, then a 64-bit finalizer: tells launches apart (accidents, leftovers), not a MAC. */
uint64_t bunmg_launch_of(const char *secret) {
  if (!secret || !secret[0]) return 0;
  uint64_t h = 0xcbf29ce484222325ULL;
  for (const unsigned char *p = (const unsigned char *)secret; *p; p++) h = (h ^ *p) * 0x100000001b3ULL;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h ? h : 1;
}

void bunmg_launch_text(uint64_t launch, char *out, size_t len) {
  if (launch) snprintf(out, len, "launch %08x", (unsigned)(launch >> 32));
  else snprintf(out, len, "no launch secret");
}
