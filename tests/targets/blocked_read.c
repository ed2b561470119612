// A "reader" thread blocked in read() on a pipe, inside a noinline function: the thread a remote
// system call borrows. On SIGUSR1 the main thread writes "payload-1234"; the reader prints
// "got <data>". Prints "ready reader=<tid>".
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int pipe_fds[2];
static volatile pid_t reader_tid;

__attribute__((noinline)) ssize_t read_message(int fd, char* buffer, size_t size) {
  return read(fd, buffer, size);
}

static void* reader(void* arg) {
  (void)arg;
  reader_tid = gettid();
  char buffer[64];
  ssize_t n = read_message(pipe_fds[0], buffer, sizeof buffer - 1);
  if (n < 0) {
    printf("error read %s\n", strerror(errno));
  } else {
    buffer[n] = 0;
    printf("got %s\n", buffer);
  }
  fflush(stdout);
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
  while (!reader_tid) usleep(1000);
  usleep(20000);  // let the reader reach read()
  printf("ready reader=%d\n", reader_tid);
  fflush(stdout);
  int signal;
  sigwait(&usr1, &signal);
  const char message[] = "payload-1234";
  if (write(pipe_fds[1], message, strlen(message)) < 0) return 1;
  for (;;) pause();
}
