#include "arch/x86_64/entry_site.h"

#include <optional>
#include <string>

#include "arch/x86_64/disassembly.h"
#include "arch/x86_64/instruction.h"
#include "arch/x86_64/jump_encoding.h"
#include "base/error.h"

namespace hotpatch::x86_64 {
namespace {

// endbr64 is f3 0f 1e fa; the CPU only accepts it as an indirect branch target in that form.
constexpr size_t kEndbr64Length = 4;

std::string Describe(std::string_view function_name, RemotePtr function_address) {
  return "function '" + std::string(function_name) + "' at " + function_address.ToString();
}

std::vector<Instruction> DecodePart(std::string_view function_name, RemotePtr function_address,
                                    std::span<const uint8_t> bytes, RemotePtr address) {
  try {
    return DecodeFunction(bytes, address);
  } catch (const Error& e) {
    throw Error(e.code(), "cannot analyse the entry of " +
                              Describe(function_name, function_address) + ": " + e.what());
  }
}

// Both entry jumps share the rules; only the number of overwritten bytes differs.
EntrySite AnalyzeEntryForJump(std::string_view function_name,
                              std::span<const uint8_t> function_bytes, RemotePtr function_address,
                              const std::vector<FunctionPart>& other_parts, size_t jump_length) {
  EntrySite site{function_address, function_address, jump_length};
  std::optional<Instruction> first = TryDecodeInstruction(function_bytes, function_address);
  if (first && first->is_endbr64) site.jump_at = function_address + kEndbr64Length;

  size_t needed = size_t(site.jump_at - function_address) + jump_length;
  if (function_bytes.size() < needed) {
    throw Error(ErrorCode::kUnsupported,
                "cannot patch " + Describe(function_name, function_address) + ": it is " +
                    std::to_string(function_bytes.size()) + " bytes long, too short for a " +
                    std::to_string(jump_length) + "-byte jmp at " + site.jump_at.ToString() +
                    " (needs " + std::to_string(needed) + ")\n" +
                    Disassemble(function_bytes, function_address, 8));
  }

  std::vector<Instruction> body =
      DecodePart(function_name, function_address, function_bytes, function_address);
  // A target equal to jump_at is fine (it runs the new jmp); one strictly inside is not.
  RemoteRange overwritten_interior{site.jump_at + 1, site.jump_at + int64_t(jump_length)};
  auto refuse_branches_into_entry = [&](const std::vector<Instruction>& instructions) {
    for (const Instruction& insn : instructions) {
      if (insn.branch_target && overwritten_interior.contains(*insn.branch_target)) {
        throw Error(ErrorCode::kUnsupported,
                    "cannot patch " + Describe(function_name, function_address) +
                        ": the branch at " + insn.address.ToString() + " targets " +
                        insn.branch_target->ToString() + ", inside the " +
                        std::to_string(jump_length) + " bytes at " + site.jump_at.ToString() +
                        " that the entry jump overwrites\n" +
                        Disassemble(function_bytes, function_address, 8));
      }
    }
  };
  refuse_branches_into_entry(body);
  for (const auto& [bytes, address] : other_parts) {
    refuse_branches_into_entry(DecodePart(function_name, function_address, bytes, address));
  }
  return site;
}

}  // namespace

EntrySite AnalyzeEntry(std::string_view function_name, std::span<const uint8_t> function_bytes,
                       RemotePtr function_address, const std::vector<FunctionPart>& other_parts) {
  return AnalyzeEntryForJump(function_name, function_bytes, function_address, other_parts,
                             kJmpRel32Length);
}

EntrySite AnalyzeShortEntry(std::string_view function_name, std::span<const uint8_t> function_bytes,
                            RemotePtr function_address,
                            const std::vector<FunctionPart>& other_parts) {
  return AnalyzeEntryForJump(function_name, function_bytes, function_address, other_parts,
                             kJmpRel8Length);
}

}  // namespace hotpatch::x86_64
