// Where a patch's code and data go (design §5), chosen before anything is stopped.
//
//   reserved — the .hotpatch.text / .hotpatch.data areas a target reserved with
//              HOTPATCH_DEFINE_AREAS: no new mapping, next to every call site.
//   dead     — code that can never run again: the target's .hotpatch.run_once functions once it
//              declared init done, the bodies of functions an applied patch superseded
//              (reusable only while that patch stays), and runs of inter-function padding in
//              .text large enough for the whole patch. Data then goes to the reserved data area.
//   mapping  — a new named memfd mapping within rel32 reach of the module (made during the
//              apply's first stop, since it needs remote syscalls).
// Areas in use are derived from the registry (each record's code/data ranges), so nothing else
// must be kept in sync. `auto` takes the bundle's preference if it fits, else the first of
// reserved, dead, mapping that fits.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/remote_ptr.h"
#include "bundle/bundle.h"
#include "elf/elf_file.h"
#include "engine/patch_record.h"
#include "process/modules.h"

namespace hotpatch {

class RemoteMemory;

struct PlacementNeeds {
  uint64_t code_size = 0;
  uint64_t code_alignment = 16;
  uint64_t data_size = 0;
  uint64_t data_alignment = 16;
};

struct PlacementChoice {
  bundle::Placement kind = bundle::Placement::kMapping;
  RemoteRange code;       // empty when a mapping must still be created
  RemoteRange data;       // empty when there is no data or a mapping must still be created
  bool map_code = false;  // create a code mapping in the first stop
  bool map_data = false;  // create a data mapping in the first stop
};

// Throws Error(kUnsupported) when `wanted` is explicit and does not fit, saying why.
PlacementChoice ChoosePlacement(bundle::Placement wanted, const PlacementNeeds& needs,
                                const Module& module, const elf::ElfFile& module_elf,
                                const RemoteMemory& memory,
                                const std::vector<PatchRecord>& applied);

}  // namespace hotpatch
