// The patch code's own CFI in the target (design §"Reliable stacks": a thread inside patch code
// placed by an earlier bundle must unwind too, and patch code built without frame pointers has no
// rule that could stand in for its CFI).
//
// A bundle carries its functions' FDEs in a section named .eh_frame (bundle/carried_eh_frame.h),
// which the engine places and relocates like any read-only data. A stack walker finds CFI through
// an .eh_frame_hdr binary-search table (unwind/eh_frame_hdr.h), and the bundle cannot carry one:
// the table holds the functions' addresses relative to the table itself, sorted, and both depend on
// the layout the engine chooses. So the engine writes it, right after the patch image, and records
// where it is; every later engine call finds the patch code's CFI in the target alone.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "base/remote_ptr.h"
#include "engine/patch_record.h"

namespace hotpatch {

class StackWalker;

// Bytes of the .eh_frame_hdr for `fde_count` FDEs: known before the placement is chosen.
uint64_t EhFrameHdrSize(size_t fde_count);
inline constexpr uint64_t kEhFrameHdrAlignment = 4;

struct PatchCfi {
  std::vector<uint8_t> eh_frame_hdr;  // to be written at the `eh_frame_hdr` address given
  std::vector<RemoteRange> covered;   // the code the FDEs describe, sorted
};

// The .eh_frame_hdr for a carried .eh_frame once linked: `linked_eh_frame` are its bytes after
// relocation, placed at `eh_frame`; the table goes to `eh_frame_hdr`. Throws Error(kBadBundle) for
// an .eh_frame outside the carried subset, and when two FDEs cover overlapping code.
PatchCfi BuildPatchCfi(std::span<const uint8_t> linked_eh_frame, RemotePtr eh_frame,
                       RemotePtr eh_frame_hdr);

// How a stack walk unwinds each part of an applied patch's code area (record.code):
//  - by its CFI where its FDEs cover it;
//  - call stubs (`jmp *slot(%rip)`, reached by a `call`) and each gate's compare and branch
//    (reached by the entry's jump; a thread is in a gate only after a killed engine's partial
//    flip) by the return address at [rsp], as at any function's first instruction: they touch
//    no stack;
//  - everything else by the frame-pointer rule: a gate's displaced instructions (which may push;
//    the rule knows `push %rbp; mov %rsp,%rbp`), code whose FDEs the producer could not carry, and
//    the whole area of a patch recorded without CFI (older engines, bundles without .eh_frame).
// Ranges the registry gives outside the code area, or overlapping, are ignored (and that part
// falls back to the frame-pointer rule).
struct PatchCodeUnwinding {
  RemotePtr eh_frame_hdr;
  std::vector<RemoteRange> by_cfi;
  std::vector<RemoteRange> return_address_at_sp;
  std::vector<RemoteRange> by_frame_pointer;
};
PatchCodeUnwinding PlanPatchCodeUnwinding(const PatchRecord& record);

// Tells `walker` the plan above; Remove undoes exactly what Add did (after a revert).
void AddPatchCodeToWalker(StackWalker& walker, const PatchRecord& record);
void RemovePatchCodeFromWalker(StackWalker& walker, const PatchRecord& record);

}  // namespace hotpatch
