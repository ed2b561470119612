// Threads parked in system calls that must survive being stopped and resumed:
//  - "reader" blocks in read() on a pipe inside a noinline function and prints "got <data>" when
//    the main thread writes "message-42" on SIGUSR1;
//  - "sleeper" loops over nanosleep(), whose restart after an interruption must keep counting the
//    remaining time; an early wakeup prints "error nanosleep ...".
// Prints "ready reader=<tid> sleeper=<tid>".
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int pipe_fds[2];
static volatile pid_t reader_tid, sleeper_tid;

__attribute__((noinline)) ssize_t wait_for_message(int fd, char* buffer, size_t size) {
  return read(fd, buffer, size);
}

__attribute__((noinline)) int park_in_nanosleep(void) {
  struct timespec nap = {0, 20 * 1000 * 1000};
  return nanosleep(&nap, NULL);
}

static void* reader(void* arg) {
  (void)arg;
  reader_tid = gettid();
  char buffer[64];
  ssize_t n = wait_for_message(pipe_fds[0], buffer, sizeof buffer - 1);
  if (n < 0) {
    printf("error read %s\n", strerror(errno));
  } else {
    buffer[n] = 0;
    printf("got %s\n", buffer);
  }
  fflush(stdout);
  return NULL;
}

static void* sleeper(void* arg) {
  (void)arg;
  sleeper_tid = gettid();
  for (;;) {
    if (park_in_nanosleep() != 0) {
      printf("error nanosleep %s\n", strerror(errno));
      fflush(stdout);
    }
  }
  return NULL;
}

int main(void) {
  if (pipe(pipe_fds) != 0) return 1;
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &usr1, NULL);
  pthread_t thread;
  pthread_create(&thread, NULL, reader, NULL);
  pthread_setname_np(thread, "reader");
  pthread_create(&thread, NULL, sleeper, NULL);
  pthread_setname_np(thread, "sleeper");
  while (!reader_tid || !sleeper_tid) usleep(1000);
  usleep(20000);  // let the reader reach read()
  printf("ready reader=%d sleeper=%d\n", reader_tid, sleeper_tid);
  fflush(stdout);
  int signal;
  sigwait(&usr1, &signal);
  const char message[] = "message-42";
  if (write(pipe_fds[1], message, strlen(message)) < 0) return 1;
  for (;;) pause();
}
