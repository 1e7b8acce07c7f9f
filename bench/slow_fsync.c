// slow_fsync.so: makes every fdatasync/fsync of a process take SLOW_FSYNC_US microseconds longer
// (default 1500), like a disk whose flush costs that much (a cloud volume), so that the
// PostgreSQL benchmarks can be run where commits are bound by flushes (docs/performance.md,
// "PostgreSQL"). Not part of the build:
//   cc -O2 -shared -fPIC -o /tmp/slow_fsync.so bench/slow_fsync.c -ldl
//   LD_PRELOAD=/tmp/slow_fsync.so SLOW_FSYNC_US=4000 scripts/pg-cluster.sh start /tmp/pg-slow 54339
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>

static void Delay(void) {
  const char* text = getenv("SLOW_FSYNC_US");
  const long us = text != NULL ? atol(text) : 1500;
  struct timespec wait = {us / 1000000, (us % 1000000) * 1000};
  nanosleep(&wait, NULL);
}

int fdatasync(int fd) {
  static int (*real)(int) = NULL;
  if (real == NULL) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
  Delay();
  return real(fd);
}

int fsync(int fd) {
  static int (*real)(int) = NULL;
  if (real == NULL) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
  Delay();
  return real(fd);
}
