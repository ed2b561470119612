// A thread parked three noinline frames deep (thread_start -> f1 -> f2 -> f3 -> read), and a
// thread calling breakpoint_target() in a loop, for a test to stop at that function's entry.
//
// With argument "corrupt-zero" or "corrupt-garbage", f3 first overwrites its own saved return
// address (with 0, or an address no module maps) and then blocks: a stack that cannot be walked.
//
// Prints "ready deep_tid=T entry_tid=T f1=A f2=A f3=A breakpoint_target=A entry_caller=A".
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int block_pipe[2];
static int corrupt_mode;  // 0 none, 1 zero, 2 garbage
static volatile int sink;

__attribute__((noinline)) void f3(void) {
  if (corrupt_mode != 0) {
    // -fno-omit-frame-pointer: the return address is right above the saved rbp (psABI §3.2.2).
    void* volatile* return_address = (void* volatile*)__builtin_frame_address(0) + 1;
    *return_address = corrupt_mode == 1 ? (void*)0 : (void*)(uintptr_t)0x10;
  }
  char byte;
  // Never returns: nobody writes to the pipe. The read keeps the thread blocked in the kernel.
  while (read(block_pipe[0], &byte, 1) != 1) {
  }
  sink++;  // keeps the call above from being a tail call
}

__attribute__((noinline)) void f2(void) {
  f3();
  sink++;
}

__attribute__((noinline)) void f1(void) {
  f2();
  sink++;
}

static void* deep_thread(void* arg) {
  (void)arg;
  f1();
  return NULL;
}

__attribute__((noinline)) void breakpoint_target(void) {
  sink++;
}

__attribute__((noinline)) void entry_caller(void) {
  for (;;) {
    breakpoint_target();
    struct timespec pause_time = {0, 1000000};
    nanosleep(&pause_time, NULL);
  }
}

static pid_t deep_tid, entry_tid;

static void* entry_thread(void* arg) {
  (void)arg;
  entry_tid = gettid();
  entry_caller();
  return NULL;
}

static void* deep_thread_start(void* arg) {
  deep_tid = gettid();
  return deep_thread(arg);
}

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "corrupt-zero") == 0) corrupt_mode = 1;
  if (argc > 1 && strcmp(argv[1], "corrupt-garbage") == 0) corrupt_mode = 2;
  if (pipe(block_pipe) != 0) return 1;
  pthread_t deep, entry;
  pthread_create(&deep, NULL, deep_thread_start, NULL);
  pthread_create(&entry, NULL, entry_thread, NULL);
  while (__atomic_load_n(&deep_tid, __ATOMIC_SEQ_CST) == 0 ||
         __atomic_load_n(&entry_tid, __ATOMIC_SEQ_CST) == 0)
    usleep(1000);
  // Give the deep thread time to reach its read; the test also retries until it sees f3.
  usleep(10000);
  printf("ready deep_tid=%d entry_tid=%d f1=%p f2=%p f3=%p breakpoint_target=%p entry_caller=%p\n",
         deep_tid, entry_tid, (void*)f1, (void*)f2, (void*)f3, (void*)breakpoint_target,
         (void*)entry_caller);
  fflush(stdout);
  pthread_join(deep, NULL);
  return 0;
}
