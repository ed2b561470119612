// MatchTarget: the bundle will tell the engine to expect the target's bytes of each replaced
// function, but the diff was made from the original objects: unless those objects built the
// target, the patch fixes code the process does not run. Each replaced function's original
// bytes must equal the target's, relocation fields (and linker relaxations) aside. A mismatch
// means another compiler, other flags, or other sources.
#include <elf.h>

#include "base/error.h"
#include "base/hex.h"
#include "diff_passes.h"
#include "relocation_fields.h"

namespace hotpatch::patchgen {
namespace {

void CheckSameCode(const DiffSession& session, const ObjectFile& orig, const elf::Symbol& original,
                   const elf::Symbol& in_target) {
  const std::string& target = session.target->path();
  const std::string what = "function " + original.name + " (" + orig.name + ")";
  const std::string hint = ": " + orig.path + " did not build " + target +
                           " (another compiler, other flags or other sources?)";
  if (original.size != in_target.size) {
    throw Error(ErrorCode::kMismatch, what + " is " + std::to_string(original.size) +
                                          " bytes in the original object but " +
                                          std::to_string(in_target.size) + " in the target" + hint);
  }
  const auto target_bytes =
      session.target->binary().BytesAtAddress(in_target.value, in_target.size);
  if (!target_bytes) {
    throw Error(ErrorCode::kMismatch,
                what + " at " + Hex(in_target.value) + " has no bytes in " + target);
  }
  const elf::Section& section = orig.elf.sections()[original.section_index];
  const auto section_bytes = orig.elf.SectionData(section);
  if (original.value + original.size > section_bytes.size()) {
    throw Error(ErrorCode::kBadRequest, orig.path + ": " + what + " lies outside its section");
  }
  std::vector<elf::Relocation> relocations = SectionRelocations(orig.elf, section.index);
  const auto expected = MaskRelocatedBytes(section_bytes.subspan(original.value, original.size),
                                           relocations, original.value);
  const auto actual = MaskRelocatedBytes(*target_bytes, relocations, original.value);
  for (size_t i = 0; i < expected.size(); ++i) {
    if (expected[i] != actual[i]) {
      throw Error(ErrorCode::kMismatch, what + " differs from the target's at +" + Hex(i) + hint);
    }
  }
}

}  // namespace

void MatchTarget(DiffSession& session) {
  if (session.kept.empty()) {
    throw Error(ErrorCode::kBadRequest,
                "no function changed between the original and the patched objects: nothing to "
                "patch");
  }
  for (KeptFunction& function : session.kept) {
    if (!function.replaces_original) continue;
    const ObjectFile& orig = *function.pair->orig;
    const ObjectEntity& original = orig.entities.at(function.key);
    const bool local = original.symbol->binding == STB_LOCAL;
    const elf::Symbol* in_target =
        session.target->FindDefinition(original.symbol->name, local, orig.origin());
    if (in_target == nullptr) {
      session.notes.push_back(original.symbol->name +
                              ": not in the target (inlined everywhere or "
                              "dropped by the linker): added as new code");
      function.replaces_original = false;
      continue;
    }
    CheckSameCode(session, orig, *original.symbol, *in_target);
    function.target_symbol = in_target;
  }
}

}  // namespace hotpatch::patchgen
