// libFuzzer harness: ELF files the engine and hotpatch-gen parse come from outside our control
// (patch objects users compile, modules mapped in a target, the vDSO read from target memory).
// Parses the input as a whole file (ElfFile::FromBytes) and as a mapped module's identity
// (ReadElfIdentity, through a memfd like a /proc/PID/map_files descriptor), then exercises every
// accessor. A parsed patch object is also turned into a bundle against a fixed target (what
// `hotpatch-gen pack` does), when it names one in HOTPATCH_FUZZ_TARGET_ELF. Only Error may come
// out; any other exception, crash or sanitizer report is a finding.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "bundle/bundle.h"
#include "bundle/from_object.h"
#include "elf/elf_file.h"
#include "elf/elf_identity.h"

using hotpatch::Error;
using hotpatch::elf::ElfFile;

namespace {

// BytesAtAddress throws Error when the segment's file part lies outside the file: allowed.
void TryBytesAtAddress(const ElfFile& file, uint64_t vaddr, size_t size) {
  try {
    (void)file.BytesAtAddress(vaddr, size);
  } catch (const Error&) {
  }
}

void ExerciseAccessors(const ElfFile& file) {
  for (const auto& section : file.sections()) {
    auto data = file.SectionData(section);
    volatile uint8_t sink = data.empty() ? 0 : data.back();
    (void)sink;
    if (section.type == 4 /* SHT_RELA */ || section.type == 9 /* SHT_REL */) {
      try {
        auto relocations = file.Relocations(section);
        (void)relocations;
      } catch (const Error&) {
      }
    }
  }
  (void)file.FindSection(".text");
  (void)file.tls_segment();
  (void)file.text_range();
  (void)file.build_id_hex();
  uint64_t base = file.first_load_vaddr();
  TryBytesAtAddress(file, base, 16);
  size_t looked_up = 0;
  for (const auto& symbol : file.symbols()) {
    if (++looked_up > 64) break;  // keep an execution cheap; names repeat anyway
    (void)file.FindSymbols(symbol.name);
    (void)file.FunctionContaining(symbol.value);
    TryBytesAtAddress(file, symbol.value, symbol.size < 64 ? symbol.size : 64);
  }
  for (const auto& symbol : file.dynamic_symbols()) (void)file.FunctionContaining(symbol.value);
}

void ReadIdentityThroughDescriptor(const uint8_t* data, size_t size) {
  hotpatch::UniqueFd fd(memfd_create("fuzz-elf", MFD_CLOEXEC));
  if (fd.get() < 0) return;
  if (size > 0 && write(fd.get(), data, size) != static_cast<ssize_t>(size)) return;
  try {
    auto identity = hotpatch::elf::ReadElfIdentity(fd.get(), "fuzz-input");
    (void)identity.build_id_hex();
    (void)identity.first_load_vaddr();
  } catch (const Error&) {
  }
}

// The target a fuzzed patch object is packed against, read once.
const ElfFile* PackTarget() {
  static std::unique_ptr<ElfFile> target = []() -> std::unique_ptr<ElfFile> {
    const char* path = std::getenv("HOTPATCH_FUZZ_TARGET_ELF");
    if (path == nullptr) return nullptr;
    return std::make_unique<ElfFile>(ElfFile::Open(path));
  }();
  return target.get();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ReadIdentityThroughDescriptor(data, size);
  std::unique_ptr<ElfFile> file;
  try {
    file = std::make_unique<ElfFile>(
        ElfFile::FromBytes(std::vector<uint8_t>(data, data + size), "fuzz-input"));
  } catch (const Error&) {
    return 0;
  }
  ExerciseAccessors(*file);
  if (const ElfFile* target = PackTarget(); target != nullptr && file->type() == 1 /* ET_REL */) {
    try {
      hotpatch::bundle::FromObjectOptions options;
      options.patch_id = "fuzz";
      auto bundle = hotpatch::bundle::BundleFromObject(*file, *target, options);
      // What pack writes must read back: the generator never emits a bundle the engine refuses.
      if (!(hotpatch::bundle::ReadBundle(hotpatch::bundle::WriteBundle(bundle)) == bundle))
        __builtin_trap();
    } catch (const Error&) {
    }
  }
  return 0;
}
