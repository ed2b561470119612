// The control thread: answers line-based queries on a Unix stream socket, one answer line per
// query line, so tests and the demo read the VM's state deterministically (no log scraping).
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

struct machine;

#define CONTROL_MAX_CLIENTS 8
#define CONTROL_MAX_LINE 256

struct control_client {
  int fd;  // -1: free slot
  char input[CONTROL_MAX_LINE];
  size_t input_length;
};

struct control_socket {
  struct machine* machine;
  pthread_t thread;
  int listen_fd;
  const char* path;
  struct control_client clients[CONTROL_MAX_CLIENTS];
};

// Binds and listens at `path` (replacing a stale socket file); false with errno set on failure.
bool control_socket_open(struct control_socket* control, struct machine* machine, const char* path);
void* control_socket_thread_main(void* control);
// Closes every connection and removes the socket file.
void control_socket_close(struct control_socket* control);

// The answer to one query line, without newline. Sets *quit for "quit".
void control_answer(struct machine* machine, const char* query, char* answer, size_t answer_size,
                    bool* quit);
