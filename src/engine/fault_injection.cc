#include "engine/fault_injection.h"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>

namespace hotpatch {

void FaultInjectionPoint(std::string_view step) {
  const char* wanted = std::getenv("HOTPATCH_FAULT_INJECT");
  if (wanted == nullptr || step != wanted) return;
  // SIGKILL, not abort(): no handler, no unwinding, no destructor may tidy up — that is the point.
  ::kill(::getpid(), SIGKILL);
  for (;;) ::pause();
}

}  // namespace hotpatch
