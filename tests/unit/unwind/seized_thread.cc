#include "seized_thread.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace hotpatch::test {

namespace {

std::runtime_error PtraceFailure(const char* what, pid_t tid) {
  return std::runtime_error(std::string(what) + " tid " + std::to_string(tid) + ": " +
                            std::strerror(errno));
}

}  // namespace

SeizedThread::SeizedThread(pid_t tid) : tid_(tid) {
  if (ptrace(PTRACE_SEIZE, tid, nullptr, nullptr) != 0) throw PtraceFailure("PTRACE_SEIZE", tid);
}

SeizedThread::~SeizedThread() {
  if (!stopped_) {
    if (ptrace(PTRACE_INTERRUPT, tid_, nullptr, nullptr) != 0) return;  // gone
    int status;
    if (waitpid(tid_, &status, __WALL) != tid_) return;
  }
  ptrace(PTRACE_DETACH, tid_, nullptr, nullptr);
}

void SeizedThread::Interrupt() {
  if (ptrace(PTRACE_INTERRUPT, tid_, nullptr, nullptr) != 0)
    throw PtraceFailure("PTRACE_INTERRUPT", tid_);
  WaitForStop();
}

int SeizedThread::WaitForStop() {
  int status = 0;
  for (;;) {
    pid_t got = waitpid(tid_, &status, __WALL);
    if (got == tid_) break;
    if (got < 0 && errno == EINTR) continue;
    throw PtraceFailure("waitpid", tid_);
  }
  if (!WIFSTOPPED(status))
    throw std::runtime_error("tid " + std::to_string(tid_) + " exited while being stopped");
  stopped_ = true;
  return status;
}

void SeizedThread::Continue() {
  if (ptrace(PTRACE_CONT, tid_, nullptr, nullptr) != 0) throw PtraceFailure("PTRACE_CONT", tid_);
  stopped_ = false;
}

user_regs_struct SeizedThread::Registers() const {
  user_regs_struct regs;
  if (ptrace(PTRACE_GETREGS, tid_, nullptr, &regs) != 0)
    throw PtraceFailure("PTRACE_GETREGS", tid_);
  return regs;
}

void SeizedThread::SetRegisters(const user_regs_struct& regs) {
  if (ptrace(PTRACE_SETREGS, tid_, nullptr, &regs) != 0)
    throw PtraceFailure("PTRACE_SETREGS", tid_);
}

uint64_t LineField(std::string_view line, std::string_view name) {
  std::string key = " " + std::string(name) + "=";
  auto at = line.find(key);
  if (at == std::string_view::npos)
    throw std::runtime_error("no field " + std::string(name) + " in line: " + std::string(line));
  return std::strtoull(std::string(line.substr(at + key.size())).c_str(), nullptr, 0);
}

uint64_t FunctionSize(const std::string& path, std::string_view name) {
  elf_version(EV_CURRENT);
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("open " + path);
  Elf* elf = elf_begin(fd, ELF_C_READ, nullptr);
  uint64_t size = 0;
  bool found = false;
  for (Elf_Scn* section = nullptr; !found && (section = elf_nextscn(elf, section)) != nullptr;) {
    GElf_Shdr header;
    if (gelf_getshdr(section, &header) == nullptr || header.sh_type != SHT_SYMTAB) continue;
    Elf_Data* data = elf_getdata(section, nullptr);
    for (size_t i = 0; data != nullptr && i < header.sh_size / header.sh_entsize; ++i) {
      GElf_Sym symbol;
      gelf_getsym(data, static_cast<int>(i), &symbol);
      const char* symbol_name = elf_strptr(elf, header.sh_link, symbol.st_name);
      if (symbol_name != nullptr && name == symbol_name &&
          GELF_ST_TYPE(symbol.st_info) == STT_FUNC) {
        size = symbol.st_size;
        found = true;
        break;
      }
    }
  }
  elf_end(elf);
  close(fd);
  if (!found) throw std::runtime_error("no function " + std::string(name) + " in " + path);
  return size;
}

}  // namespace hotpatch::test
