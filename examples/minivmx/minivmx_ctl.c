// minivmx-ctl --socket PATH QUERY: sends one query to a running minivmx and prints the answer
// line. (Debian's minimal install has no socat or nc -U.) Exit 0 on an answer, 1 on failure,
// 2 on usage errors.
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

static int usage(void) {
  fprintf(stderr, "usage: minivmx-ctl [--socket PATH] status|stats|quit\n");
  return 2;
}

int main(int argc, char** argv) {
  const char* path = "minivmx.sock";
  const char* query = NULL;
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc) {
      path = argv[++i];
    } else if (argv[i][0] == '-' || query != NULL) {
      return usage();
    } else {
      query = argv[i];
    }
  }
  if (query == NULL) return usage();

  struct sockaddr_un address = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof address.sun_path) {
    fprintf(stderr, "minivmx-ctl: socket path too long: %s\n", path);
    return 1;
  }
  strcpy(address.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, (struct sockaddr*)&address, sizeof address) != 0) {
    fprintf(stderr, "minivmx-ctl: cannot connect to %s: %s\n", path, strerror(errno));
    return 1;
  }
  // A minivmx stopped by a tracer does not answer; give up rather than hang a script.
  struct timeval timeout = {10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);

  char request[512];
  int length = snprintf(request, sizeof request, "%s\n", query);
  if (length < 0 || (size_t)length >= sizeof request ||
      send(fd, request, (size_t)length, MSG_NOSIGNAL) != length) {
    fprintf(stderr, "minivmx-ctl: cannot send query to %s\n", path);
    return 1;
  }
  char answer[8192];
  size_t received = 0;
  while (received < sizeof answer - 1) {
    ssize_t n = recv(fd, answer + received, sizeof answer - 1 - received, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      fprintf(stderr, "minivmx-ctl: no answer from %s: %s\n", path,
              n == 0 ? "connection closed" : strerror(errno));
      return 1;
    }
    received += (size_t)n;
    if (memchr(answer, '\n', received) != NULL) break;
  }
  answer[received] = '\0';
  char* newline = strchr(answer, '\n');
  if (newline != NULL) newline[1] = '\0';
  fputs(answer, stdout);
  close(fd);
  return strncmp(answer, "error", 5) == 0 ? 1 : 0;
}
