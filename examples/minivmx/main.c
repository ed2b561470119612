// minivmx: a miniature of a per-VM "VMX" process, the kind of program hotpatch is built for.
//   vCPU threads  interpret a guest program in tight loops and halt until the next timer tick
//   timer thread  ticks every millisecond (nanosleep) and wakes the halted vCPUs (futex)
//   serial thread drains the guest's serial output (poll on an eventfd) into a log file
//   control       answers "status", "stats" and "quit" on a Unix socket
// It carries one deliberate bug for the demo: see serial_ring_read.c.
#define _GNU_SOURCE
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hotpatch/patch_area.h"
#include "machine.h"

// Room for patches: 64 KiB of code next to our own text, 16 KiB of data.
HOTPATCH_DEFINE_AREAS(64 * 1024, 16 * 1024);

#define MAX_VCPUS 64

static void usage(FILE* out) {
  fprintf(out,
          "usage: minivmx [--vcpus N] [--socket PATH] [--serial-log PATH] [--spin]\n"
          "  --vcpus N          vCPU threads (1..%d, default 4)\n"
          "  --socket PATH      control socket (default ./minivmx.sock)\n"
          "  --serial-log PATH  where the guest's serial output goes (default "
          "./minivmx-serial.log)\n"
          "  --spin             vCPUs never halt: 100%% CPU each, and a fast-growing log\n"
          "Prints \"ready pid=PID\" on stdout once every thread runs. Exits 0 on \"quit\" "
          "or SIGTERM/SIGINT.\n",
          MAX_VCPUS);
}

static struct machine_config parse_arguments(int argc, char** argv) {
  struct machine_config config = {
      .vcpu_count = 4,
      .socket_path = "minivmx.sock",
      .serial_log_path = "minivmx-serial.log",
      .spin = false,
  };
  static const struct option options[] = {
      {"vcpus", required_argument, NULL, 'v'},
      {"socket", required_argument, NULL, 's'},
      {"serial-log", required_argument, NULL, 'l'},
      {"spin", no_argument, NULL, 'S'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  int option;
  while ((option = getopt_long(argc, argv, "", options, NULL)) != -1) {
    switch (option) {
      case 'v': {
        char* end;
        long count = strtol(optarg, &end, 10);
        if (*end != '\0' || count < 1 || count > MAX_VCPUS) {
          fprintf(stderr, "minivmx: --vcpus wants 1..%d, got '%s'\n", MAX_VCPUS, optarg);
          exit(2);
        }
        config.vcpu_count = (unsigned)count;
        break;
      }
      case 's':
        config.socket_path = optarg;
        break;
      case 'l':
        config.serial_log_path = optarg;
        break;
      case 'S':
        config.spin = true;
        break;
      case 'h':
        usage(stdout);
        exit(0);
      default:
        usage(stderr);
        exit(2);
    }
  }
  if (optind != argc) {
    usage(stderr);
    exit(2);
  }
  return config;
}

int main(int argc, char** argv) {
  struct machine_config config = parse_arguments(argc, argv);

  // Block the stop signals before any thread exists, so every thread inherits the mask and the
  // signal can only be taken by sigwait() below: shutdown then runs on the main thread, in
  // normal code, instead of in a handler interrupting some thread at an arbitrary point.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);

  static struct machine machine;
  machine_start(&machine, &config);
  // machine_start() and guest_program_build() are never called again.
  hotpatch_declare_init_done();

  printf("ready pid=%d\n", (int)getpid());
  fflush(stdout);

  int signal_number;
  while (sigwait(&stop_signals, &signal_number) != 0) {
  }
  machine_stop(&machine);
  return 0;
}
