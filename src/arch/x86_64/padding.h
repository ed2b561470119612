// Inter-function padding: the int3/nop fill that linkers and assemblers put between functions
// to align the next one. No control flow reaches it, so it is the smallest "dead code"
// placement (design §5.2).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "base/remote_ptr.h"

namespace hotpatch::x86_64 {

struct PaddingRun {
  RemoteRange range;
};

// The gaps of `code` (at tracee `address`) not covered by any of `function_extents` that are
// entirely int3/nop instructions and at least `min_size` bytes long. A gap that holds anything
// else is skipped whole: bytes outside every symbol that are not fill may be code without a
// symbol (hand-written assembly, crt objects). So is the gap after a zero-size function symbol,
// whose end is unknown. This stays safe with a stripped module (only .dynsym, so static
// functions have no extent): real code always holds some instruction other than nop/int3 (it must
// end in ret, jmp or a call), so a gap that hides a function is never all fill.
// Extents may be unsorted and reach beyond `code`.
std::vector<PaddingRun> FindPadding(std::span<const uint8_t> code, RemotePtr address,
                                    const std::vector<RemoteRange>& function_extents,
                                    size_t min_size);

}  // namespace hotpatch::x86_64
