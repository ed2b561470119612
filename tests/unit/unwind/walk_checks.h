// What the unwind tests assert about walked stacks.
#pragma once

#include <string>

#include "base/remote_ptr.h"
#include "seized_thread.h"
#include "support/target_process.h"
#include "unwind/stack_walker.h"

namespace hotpatch::test {

// A function of a target, from the address it printed and its size in the symbol table.
struct TargetFunction {
  std::string name;
  RemoteRange extent;
};

inline TargetFunction FindTargetFunction(const std::string& target, const std::string& line,
                                         const std::string& name) {
  RemotePtr start(LineField(line, name));
  return {name, {start, start + static_cast<int64_t>(FunctionSize(TargetPath(target), name))}};
}

// Index of the first frame the thread is in `function` (pc - 1 for return addresses), or -1.
inline int FrameIn(const Stack& stack, const TargetFunction& function) {
  for (size_t i = 0; i < stack.frames.size(); ++i)
    if (function.extent.contains(stack.frames[i].LookupPc())) return static_cast<int>(i);
  return -1;
}

inline std::string Describe(const Stack& stack) {
  std::string text = "tid " + std::to_string(stack.tid) +
                     (stack.reliable ? " reliable" : " unreliable: " + stack.unreliable_reason);
  for (const Frame& frame : stack.frames)
    text += "\n  pc " + frame.pc.ToString() + " sp " + frame.sp.ToString() +
            (frame.signal_frame ? " [signal frame]" : "") +
            (frame.pc_is_return_address ? "" : " [exact pc]");
  return text;
}

}  // namespace hotpatch::test
