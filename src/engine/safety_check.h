// The safety check (design §2 step 3, §6 "Reliable stacks"): with every thread stopped, no thread
// may be executing, or be about to return into, code that the flip changes. A stack that cannot
// be walked to its end is unreliable and counts as busy — never as safe.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/remote_ptr.h"

namespace hotpatch {

class ProcessAttachment;
class StackWalker;
struct Stack;

// Code that no thread may be in: a function being replaced (with its .cold part), or patch code
// being removed.
struct GuardedCode {
  RemoteRange range;
  std::string function;
  bool never_returns = false;  // no ret and no tail jump out: a thread's main loop
};

struct BusyThread {
  pid_t tid = 0;
  std::string thread_name;
  std::string function;     // the guarded function it is in (empty when unreliable)
  bool unreliable = false;  // the stack could not be walked to its end
  std::string reason;       // why unreliable
  bool never_returns = false;
  std::vector<RemotePtr> stack;  // pcs, innermost first
};

struct SafetyVerdict {
  std::vector<BusyThread> busy;
  bool safe() const { return busy.empty(); }
  // "thread 1234 (vcpu0) is in handle_io (frame 2, pc 0x55..); stack: 0x.. 0x.. ..." per thread,
  // with the advice for functions that never return.
  std::string Describe() const;
};

// Walks every stopped thread's stack and checks each frame against `guarded`. A return address
// is looked up as pc - 1 (Frame::LookupPc): a call that is the last instruction of a function
// returns just past its end, into whatever function follows — checking pc itself would call the
// next function busy forever. The pc of the innermost frame, and of a frame a signal
// interrupted, is exact and checked as is.
// The guarded code `pc` lies in, or null.
const GuardedCode* FindGuardedCode(const std::vector<GuardedCode>& guarded, RemotePtr pc);

SafetyVerdict CheckThreads(const ProcessAttachment& process, StackWalker& walker,
                           const std::vector<GuardedCode>& guarded);

// The guarded code any frame of `stack` is in (return addresses as pc - 1), or null.
const GuardedCode* FindGuardedFrame(const Stack& stack, const std::vector<GuardedCode>& guarded);

}  // namespace hotpatch
