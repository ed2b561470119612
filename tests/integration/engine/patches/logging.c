/* A debug patch: version() logs through libc into a file the test names, keeps its answer.
 * Every worker thread calls version(): the lock keeps them from opening the file twice or
 * numbering two lines alike (the test reads the first line). */
#include <pthread.h>
#include <stdio.h>

static FILE* log_file;
static long logged;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

int version(void) {
  pthread_mutex_lock(&log_lock);
  if (log_file == NULL) log_file = fopen(LOG_PATH, "a");
  if (log_file != NULL && logged < 5) {
    fprintf(log_file, "version() called, %ld\n", ++logged);
    fflush(log_file);
  }
  pthread_mutex_unlock(&log_lock);
  return 2;
}
