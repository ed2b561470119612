#define _GNU_SOURCE
#include "control_socket.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "machine.h"

bool control_socket_open(struct control_socket* control, struct machine* machine,
                         const char* path) {
  control->machine = machine;
  control->path = path;
  for (int i = 0; i < CONTROL_MAX_CLIENTS; ++i) control->clients[i].fd = -1;

  struct sockaddr_un address = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof address.sun_path) {
    errno = ENAMETOOLONG;
    return false;
  }
  strcpy(address.sun_path, path);
  control->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (control->listen_fd < 0) return false;
  // A socket file left by a killed instance makes bind fail with EADDRINUSE.
  unlink(path);
  if (bind(control->listen_fd, (struct sockaddr*)&address, sizeof address) != 0) return false;
  return listen(control->listen_fd, 16) == 0;
}

void control_socket_close(struct control_socket* control) {
  for (int i = 0; i < CONTROL_MAX_CLIENTS; ++i) {
    if (control->clients[i].fd >= 0) close(control->clients[i].fd);
  }
  close(control->listen_fd);
  unlink(control->path);
}

static void control_accept(struct control_socket* control) {
  int fd = accept4(control->listen_fd, NULL, NULL, SOCK_CLOEXEC);
  if (fd < 0) return;
  for (int i = 0; i < CONTROL_MAX_CLIENTS; ++i) {
    if (control->clients[i].fd < 0) {
      control->clients[i].fd = fd;
      control->clients[i].input_length = 0;
      return;
    }
  }
  static const char kBusy[] = "error too many control connections\n";
  (void)!send(fd, kBusy, sizeof kBusy - 1, MSG_NOSIGNAL);
  close(fd);
}

static void control_disconnect(struct control_client* client) {
  close(client->fd);
  client->fd = -1;
}

static void control_reply(struct control_client* client, const char* answer) {
  size_t length = strlen(answer);
  // MSG_NOSIGNAL: a client that hung up must not kill the VM with SIGPIPE.
  if (send(client->fd, answer, length, MSG_NOSIGNAL) != (ssize_t)length ||
      send(client->fd, "\n", 1, MSG_NOSIGNAL) != 1) {
    control_disconnect(client);
  }
}

// Reads what the client sent and answers every complete line.
static void control_serve(struct control_socket* control, struct control_client* client) {
  ssize_t n = recv(client->fd, client->input + client->input_length,
                   sizeof client->input - client->input_length, 0);
  if (n <= 0) {
    if (n == 0 || errno != EINTR) control_disconnect(client);
    return;
  }
  client->input_length += (size_t)n;
  char* newline;
  while (client->fd >= 0 && (newline = memchr(client->input, '\n', client->input_length))) {
    *newline = '\0';
    if (newline > client->input && newline[-1] == '\r') newline[-1] = '\0';
    char answer[4096];
    bool quit = false;
    control_answer(control->machine, client->input, answer, sizeof answer, &quit);
    control_reply(client, answer);
    size_t consumed = (size_t)(newline + 1 - client->input);
    memmove(client->input, newline + 1, client->input_length - consumed);
    client->input_length -= consumed;
    // The main thread waits for SIGTERM in sigwait(); a process-directed kill reaches it even
    // though every thread blocks the signal.
    if (quit) kill(getpid(), SIGTERM);
  }
  if (client->fd >= 0 && client->input_length == sizeof client->input) {
    control_reply(client, "error query line too long");
    if (client->fd >= 0) control_disconnect(client);
  }
}

void* control_socket_thread_main(void* opaque) {
  struct control_socket* control = opaque;
  struct machine* machine = control->machine;
  machine_thread_started(machine);
  while (!machine_stopping(machine)) {
    struct pollfd fds[2 + CONTROL_MAX_CLIENTS];
    struct control_client* owners[2 + CONTROL_MAX_CLIENTS];
    nfds_t count = 0;
    fds[count++] = (struct pollfd){machine->stop_fd, POLLIN, 0};
    fds[count++] = (struct pollfd){control->listen_fd, POLLIN, 0};
    for (int i = 0; i < CONTROL_MAX_CLIENTS; ++i) {
      if (control->clients[i].fd < 0) continue;
      owners[count] = &control->clients[i];
      fds[count++] = (struct pollfd){control->clients[i].fd, POLLIN, 0};
    }
    if (poll(fds, count, -1) < 0) {
      if (errno == EINTR) continue;  // a signal or a tracer's PTRACE_INTERRUPT
      perror("minivmx: control socket poll");
      break;
    }
    if (fds[1].revents & POLLIN) control_accept(control);
    for (nfds_t i = 2; i < count; ++i) {
      if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) control_serve(control, owners[i]);
    }
  }
  return NULL;
}
