// What the engine remembers about one applied patch. This is the registry's content (design §6
// "the target holds the truth"): enough to list, verify and revert the patch from the target alone.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/remote_ptr.h"

namespace hotpatch {

// Lifecycle of a registry entry. The commit flag in the patch code (entry_gate.h) is the single
// byte that decides "applied" vs "not applied"; the state says what the engine was doing, so a
// fresh engine can finish or undo it after a crash.
enum class PatchState {
  kPrepared,   // code written, entries may point at gates; commit flag still 0 => behaves unpatched
  kApplied,    // commit flag 1, entries jump straight to the replacements
  kReverting,  // entries being pointed back at gates; commit flag decides
};
const char* PatchStateName(PatchState state);

struct PatchedFunction {
  std::string name;
  RemotePtr entry;                      // the original function's first byte
  uint64_t size = 0;                    // its st_size
  std::vector<RemoteRange> cold_parts;  // GCC's NAME.cold split-off blocks: they belong to it
  RemotePtr jump_at;                    // where the 5-byte jump goes (after endbr64 if present)
  std::vector<uint8_t> previous_bytes;  // the 5 bytes at jump_at before this patch
  RemotePtr gate;                       // this function's commit-flag gate in the patch code
  RemotePtr replacement;                // the new function in the patch code
};

struct SavedBytes {
  RemotePtr address;
  std::vector<uint8_t> bytes;
};

struct PatchRecord {
  std::string patch_id;
  std::string description;
  std::string checksum_hex;
  std::string module_path;
  std::string build_id_hex;
  RemotePtr load_bias;
  std::string placement;  // "reserved" | "dead" | "mapping"
  PatchState state = PatchState::kPrepared;
  uint64_t applied_at_unix_us = 0;
  RemotePtr commit_flag;
  RemoteRange code;                       // the linked image's code (gates, functions, GOT, rodata)
  RemoteRange data;                       // writable data of the patch (may be empty)
  std::vector<RemoteRange> own_mappings;  // mappings created for this patch; unmapped on revert
  std::vector<SavedBytes> saved_areas;    // bytes this patch overwrote in reserved or dead areas
  std::vector<PatchedFunction> functions;
  // How stack walks unwind `code` (engine/patch_cfi.h): the .eh_frame_hdr the engine wrote for
  // the bundle's .eh_frame and the code its FDEs cover (null and empty for a bundle without CFI),
  // and the call stubs. All absent in registries written before they were recorded.
  RemotePtr eh_frame_hdr;
  std::vector<RemoteRange> cfi_ranges;
  RemoteRange call_stubs;
};

}  // namespace hotpatch
