#include "process/signal_requeue.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace hotpatch {

int RequeueSignal(pid_t pid, pid_t tid, const siginfo_t& info) {
  long r;
  if (info.si_code < 0 && info.si_code != SI_TKILL) {
    r = ::syscall(SYS_rt_tgsigqueueinfo, pid, tid, info.si_signo, &info);
  } else {
    r = ::syscall(SYS_tgkill, pid, tid, info.si_signo);
  }
  return r == 0 ? 0 : errno;
}

}  // namespace hotpatch
