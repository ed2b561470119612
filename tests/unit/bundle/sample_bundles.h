// Bundles the bundle tests build, write, read and corrupt.
#pragma once

#include <elf.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "base/error.h"
#include "bundle/bundle.h"
#include "bundle/checksum.h"
#include "bundle/on_disk_records.h"
#include "bundle/section_table.h"

namespace hotpatch::bundle::test {

// The message of the Error(kBadBundle) that `action` throws; fails the test on anything else.
template <typename Action>
std::string BadBundleMessage(Action action) {
  try {
    action();
  } catch (const Error& error) {
    CHECK(error.code() == ErrorCode::kBadBundle);
    return error.what();
  }
  FAIL("accepted");
  return "";
}

inline std::vector<uint8_t> Bytes(std::initializer_list<uint8_t> bytes) {
  return bytes;
}

inline BundleSymbol Symbol(std::string name, SymbolKind kind, uint8_t type, uint8_t binding,
                           uint32_t section, uint64_t value, uint64_t size) {
  BundleSymbol symbol;
  symbol.name = std::move(name);
  symbol.kind = kind;
  symbol.type = type;
  symbol.binding = binding;
  symbol.section = section;
  symbol.value = value;
  symbol.size = size;
  symbol.thread_local_symbol = type == STT_TLS;
  return symbol;
}

inline BundleSection Section(std::string name, uint64_t flags, uint64_t alignment,
                             std::vector<uint8_t> bytes) {
  BundleSection section;
  section.name = std::move(name);
  section.type = SHT_PROGBITS;
  section.flags = flags;
  section.alignment = alignment;
  section.bytes = std::move(bytes);
  return section;
}

// Symbol indices of RichBundle().
enum RichSymbol : uint32_t {
  kRodataSection,
  kProbeCount,
  kTargetCounter,
  kFixedFunction,
  kNewHelper,
  kPuts,
  kTlsState,
  kFunctionTable,
};

// Several sections (code, read-only data, data, NOBITS), relocations, every symbol kind, a TLS
// symbol, a replaced and a new function: the code is real x86-64, so objdump shows it.
inline Bundle RichBundle() {
  Bundle bundle;
  bundle.patch_id = "fix-counter.1";
  bundle.description = "Fix the counter overflow in fixed_function\nand add a probe.";
  bundle.target_module = "minivmx";
  bundle.target_build_id = {0x8f, 0x1e, 0x22, 0x03, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99,
                            0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00, 0x11, 0x22, 0x33};
  bundle.preferred_placement = Placement::kReserved;
  bundle.created_unix = 1700000000;

  bundle.sections.push_back(Section(".text.fixed_function", SHF_ALLOC | SHF_EXECINSTR, 16,
                                    Bytes({
                                        0xf3, 0x0f, 0x1e, 0xfa,              // endbr64
                                        0x55,                                // push %rbp
                                        0x48, 0x89, 0xe5,                    // mov %rsp,%rbp
                                        0x48, 0x8d, 0x3d, 0,    0, 0, 0,     // lea (%rip),%rdi
                                        0xe8, 0,    0,    0,    0,           // call puts
                                        0x8b, 0x05, 0,    0,    0, 0,        // mov counter,%eax
                                        0x64, 0x8b, 0x04, 0x25, 0, 0, 0, 0,  // mov %fs:tls,%eax
                                        0xe8, 0,    0,    0,    0,           // call new_helper
                                        0x5d,                                // pop %rbp
                                        0xc3,                                // ret
                                    })));
  bundle.sections[0].relocations = {
      {0x0b, R_X86_64_PC32, kRodataSection, -4}, {0x10, R_X86_64_PLT32, kPuts, -4},
      {0x16, R_X86_64_PC32, kTargetCounter, -4}, {0x1e, R_X86_64_TPOFF32, kTlsState, 0},
      {0x23, R_X86_64_PLT32, kNewHelper, -4},
  };
  bundle.sections.push_back(Section(".text.new_helper", SHF_ALLOC | SHF_EXECINSTR, 16,
                                    Bytes({0xf3, 0x0f, 0x1e, 0xfa, 0x31, 0xc0, 0xc3})));
  bundle.sections.push_back(
      Section(".rodata.str", SHF_ALLOC, 1, Bytes({'p', 'a', 't', 'c', 'h', 'e', 'd', 0})));
  bundle.sections.push_back(
      Section(".data.function_table", SHF_ALLOC | SHF_WRITE, 8, std::vector<uint8_t>(8)));
  bundle.sections[3].relocations = {{0, R_X86_64_64, kNewHelper, 0}};
  BundleSection bss;
  bss.name = ".bss.probe_count";
  bss.type = SHT_NOBITS;
  bss.flags = SHF_ALLOC | SHF_WRITE;
  bss.alignment = 8;
  bss.nobits_size = 64;
  bundle.sections.push_back(bss);

  bundle.symbols = {
      Symbol("", SymbolKind::kDefined, STT_SECTION, STB_LOCAL, 2, 0, 0),
      Symbol("probe_count", SymbolKind::kDefined, STT_OBJECT, STB_LOCAL, 4, 0, 8),
      Symbol("counter", SymbolKind::kTarget, STT_OBJECT, STB_LOCAL, 0, 0x4010, 4),
      Symbol("fixed_function", SymbolKind::kDefined, STT_FUNC, STB_GLOBAL, 0, 0, 41),
      Symbol("new_helper", SymbolKind::kDefined, STT_FUNC, STB_GLOBAL, 1, 0, 7),
      Symbol("puts", SymbolKind::kExternal, STT_FUNC, STB_GLOBAL, 0, 0, 0),
      Symbol("tls_state", SymbolKind::kTarget, STT_TLS, STB_GLOBAL, 0, 0x10, 4),
      Symbol("function_table", SymbolKind::kDefined, STT_OBJECT, STB_GLOBAL, 3, 0, 8),
  };

  ReplacedFunction replaced;
  replaced.name = "fixed_function";
  replaced.source_file = "src/counter.c";
  replaced.target_offset = 0x1139;
  replaced.target_size = 0x30;
  for (size_t i = 0; i < replaced.expected_sha256.size(); ++i) {
    replaced.expected_sha256[i] = static_cast<uint8_t>(i * 7 + 1);
  }
  replaced.replacement_symbol = kFixedFunction;
  bundle.replaced.push_back(replaced);
  bundle.new_functions = {kNewHelper};
  return bundle;
}

// The smallest useful bundle: one function replaced by `xor %eax,%eax; ret`.
inline Bundle SmallBundle() {
  Bundle bundle;
  bundle.patch_id = "small";
  bundle.description = "d";
  bundle.target_module = "t";
  bundle.target_build_id = {1, 2, 3, 4};
  bundle.sections.push_back(
      Section(".text.f", SHF_ALLOC | SHF_EXECINSTR, 1, Bytes({0x31, 0xc0, 0xc3})));
  bundle.symbols = {Symbol("f", SymbolKind::kDefined, STT_FUNC, STB_GLOBAL, 0, 0, 3)};
  ReplacedFunction replaced;
  replaced.name = "f";
  replaced.target_offset = 0x1000;
  replaced.target_size = 16;
  replaced.replacement_symbol = 0;
  bundle.replaced.push_back(replaced);
  return bundle;
}

// File offset of section `name`'s contents.
inline uint64_t SectionOffset(std::span<const uint8_t> file, std::string_view name) {
  return SectionTable(file).Get(name).header.sh_offset;
}

// Stores the right checksum again after a test edited the file, so that the reader gets past the
// checksum and must find the edited field itself.
inline void Reseal(std::vector<uint8_t>& file) {
  const Checksum sum = BundleChecksum(file);
  std::memcpy(file.data() + SectionOffset(file, kChecksumSection), sum.data(), sum.size());
}

template <typename T>
void Poke(std::vector<uint8_t>& file, uint64_t offset, T value) {
  if (offset + sizeof(T) > file.size()) throw std::out_of_range("Poke beyond the file");
  std::memcpy(file.data() + offset, &value, sizeof value);
}

}  // namespace hotpatch::bundle::test
