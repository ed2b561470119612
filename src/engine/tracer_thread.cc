#include "engine/tracer_thread.h"

#include <sys/prctl.h>

namespace hotpatch {

void UseFineTimerSlack() {
  // 1 ns: the kernel's minimum. Failure only costs precision, so it is ignored.
  ::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
}

}  // namespace hotpatch
