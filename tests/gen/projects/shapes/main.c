/* The main program of every corpus case: the case's sources define behaviour(), whose answer
 * the test reads before the patch, after it, and after the revert. SIGUSR1 asks for it; the
 * answer is a line "value <text>". The main thread sleeps between questions, so it is almost
 * never inside the functions being replaced when the engine stops it. */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

const char* behaviour(void);

static volatile sig_atomic_t asked;

static void OnQuestion(int signal_number) {
  (void)signal_number;
  asked = 1;
}

int main(void) {
  signal(SIGUSR1, OnQuestion);
  printf("ready\n");
  fflush(stdout);
  for (;;) {
    if (asked) {
      asked = 0;
      printf("value %s\n", behaviour());
      fflush(stdout);
    }
    usleep(2000);
  }
}
