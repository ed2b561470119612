/* A debug patch: version() logs through libc into a file the test names, keeps its answer. */
#include <stdio.h>

static FILE* log_file;
static long logged;

int version(void) {
  if (log_file == NULL) log_file = fopen(LOG_PATH, "a");
  if (log_file != NULL && logged < 5) {
    fprintf(log_file, "version() called, %ld\n", ++logged);
    fflush(log_file);
  }
  return 2;
}
