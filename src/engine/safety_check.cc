#include "engine/safety_check.h"

#include "process/process_attachment.h"
#include "process/thread_status.h"
#include "unwind/stack_walker.h"

namespace hotpatch {

const GuardedCode* FindGuardedCode(const std::vector<GuardedCode>& guarded, RemotePtr pc) {
  for (const auto& g : guarded)
    if (g.range.contains(pc)) return &g;
  return nullptr;
}

const GuardedCode* FindGuardedFrame(const Stack& stack, const std::vector<GuardedCode>& guarded) {
  for (const auto& frame : stack.frames)
    if (const GuardedCode* hit = FindGuardedCode(guarded, frame.LookupPc())) return hit;
  return nullptr;
}

std::string SafetyVerdict::Describe() const {
  std::string text;
  for (const auto& b : busy) {
    if (!text.empty()) text += "; ";
    text += "thread " + std::to_string(b.tid) + " (" + b.thread_name + ")";
    if (b.unreliable)
      text += " has a stack that cannot be walked reliably (" + b.reason + ")";
    else
      text += " is in " + b.function;
    if (!b.stack.empty()) {
      text += ", stack:";
      for (size_t i = 0; i < b.stack.size() && i < 12; ++i) text += " " + b.stack[i].ToString();
      if (b.stack.size() > 12) text += " ...";
    }
    if (b.never_returns)
      text += " — " + b.function +
              " never returns (a loop with no exit), so no moment exists when no thread is in it;"
              " patch the functions it calls instead";
  }
  return text;
}

SafetyVerdict CheckThreads(const ProcessAttachment& process, StackWalker& walker,
                           const std::vector<GuardedCode>& guarded) {
  SafetyVerdict verdict;
  std::vector<Stack> stacks = walker.WalkAll(process.threads());
  for (size_t i = 0; i < stacks.size(); ++i) {
    const StoppedThread& thread = process.threads()[i];
    const Stack& stack = stacks[i];
    const GuardedCode* hit = FindGuardedFrame(stack, guarded);
    if (!hit && stack.reliable) continue;
    // Named only when busy: the message needs the name, the common case does not.
    BusyThread busy{thread.tid, ReadThreadName(process.pid(), thread.tid), "", false, "", false, {}};
    for (const auto& frame : stack.frames) busy.stack.push_back(frame.pc);
    if (hit) {
      busy.function = hit->function;
      busy.never_returns = hit->never_returns;
      verdict.busy.push_back(std::move(busy));
    } else if (!stack.reliable) {
      busy.unreliable = true;
      busy.reason = stack.unreliable_reason;
      verdict.busy.push_back(std::move(busy));
    }
  }
  return verdict;
}

}  // namespace hotpatch
