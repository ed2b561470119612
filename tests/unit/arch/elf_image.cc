#include "elf_image.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>

#include "base/unique_fd.h"

namespace hotpatch::x86_64::testing {

ElfImage::ElfImage(const std::string& path) {
  elf_version(EV_CURRENT);
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) throw std::runtime_error("open " + path);
  std::unique_ptr<Elf, decltype(&elf_end)> owned_elf(elf_begin(fd.get(), ELF_C_READ, nullptr),
                                                     &elf_end);
  Elf* elf = owned_elf.get();
  if (!elf) throw std::runtime_error("elf_begin " + path);
  size_t section_count = 0, names_index = 0;
  elf_getshdrnum(elf, &section_count);
  elf_getshdrstrndx(elf, &names_index);
  sections_.resize(section_count);
  for (Elf_Scn* scn = elf_nextscn(elf, nullptr); scn; scn = elf_nextscn(elf, scn)) {
    GElf_Shdr header;
    gelf_getshdr(scn, &header);
    LoadedSection& section = sections_[elf_ndxscn(scn)];
    section.name = elf_strptr(elf, names_index, header.sh_name);
    section.address = header.sh_addr;
    Elf_Data* data = elf_getdata(scn, nullptr);
    if (header.sh_type == SHT_PROGBITS && data && data->d_buf) {
      auto* begin = static_cast<const uint8_t*>(data->d_buf);
      section.bytes.assign(begin, begin + data->d_size);
    }
    if (header.sh_type == SHT_SYMTAB && data) {
      for (size_t i = 0; i < header.sh_size / header.sh_entsize; ++i) {
        GElf_Sym sym;
        gelf_getsym(data, int(i), &sym);
        if (GELF_ST_TYPE(sym.st_info) != STT_FUNC || sym.st_shndx == SHN_UNDEF ||
            sym.st_shndx >= SHN_LORESERVE) {
          continue;
        }
        FunctionSymbol symbol{elf_strptr(elf, header.sh_link, sym.st_name),
                              {RemotePtr(sym.st_value), RemotePtr(sym.st_value + sym.st_size)}};
        symbols_.push_back({symbol, sym.st_shndx});
        functions_.push_back(symbol);
      }
    }
  }
}

std::optional<CodeBytes> ElfImage::Section(const std::string& name) const {
  for (const LoadedSection& section : sections_) {
    if (section.name == name) return CodeBytes{section.bytes, RemotePtr(section.address)};
  }
  return std::nullopt;
}

CodeBytes ElfImage::Function(const std::string& name) const {
  for (const LoadedSymbol& loaded : symbols_) {
    if (loaded.symbol.name != name) continue;
    const LoadedSection& section = sections_.at(loaded.section_index);
    uint64_t offset = loaded.symbol.extent.begin.value() - section.address;
    auto begin = section.bytes.begin() + int64_t(offset);
    return {{begin, begin + int64_t(loaded.symbol.extent.size())}, loaded.symbol.extent.begin};
  }
  throw std::runtime_error("no function symbol " + name);
}

CompiledObject::CompiledObject(const std::string& c_source, const std::string& flags,
                               Output output) {
  char directory_template[] = "/tmp/hotpatch-arch-test-XXXXXX";
  if (!mkdtemp(directory_template)) throw std::runtime_error("mkdtemp");
  // ElfImage copies what it needs, so the files go as soon as it is loaded, error or not.
  struct RemoveOnExit {
    std::string path;
    ~RemoveOnExit() {
      std::error_code ignored;
      std::filesystem::remove_all(path, ignored);
    }
  } directory{directory_template};

  std::ofstream(directory.path + "/code.c") << c_source;
  std::string result = directory.path + (output == Output::kObject ? "/code.o" : "/libcode.so");
  std::string command = "cc " + flags + (output == Output::kObject ? " -c" : " -shared -fPIC") +
                        " -o " + result + " " + directory.path + "/code.c";
  if (std::system(command.c_str()) != 0) throw std::runtime_error("failed: " + command);
  image_.emplace(result);
}

}  // namespace hotpatch::x86_64::testing
