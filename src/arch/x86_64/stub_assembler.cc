#include "arch/x86_64/stub_assembler.h"

#include <string>

#include "base/error.h"

namespace hotpatch::x86_64 {
namespace {

// asmjit's calls are noexcept, so an exception thrown from its error handler would terminate
// the daemon; keep the first error and throw after control is back in our code.
class FirstErrorRecorder : public asmjit::ErrorHandler {
 public:
  void handleError(asmjit::Error err, const char* message, asmjit::BaseEmitter*) override {
    if (error_ == asmjit::kErrorOk) {
      error_ = err;
      message_ = message;
    }
  }
  asmjit::Error error() const { return error_; }
  const std::string& message() const { return message_; }

 private:
  asmjit::Error error_ = asmjit::kErrorOk;
  std::string message_;
};

void Check(asmjit::Error err, const char* step, RemotePtr base) {
  if (err == asmjit::kErrorOk) return;
  ErrorCode code =
      err == asmjit::kErrorRelocOffsetOutOfRange || err == asmjit::kErrorInvalidDisplacement
          ? ErrorCode::kUnsupported
          : ErrorCode::kInternal;
  throw Error(code, std::string("assembling a stub for ") + base.ToString() + ": " + step +
                        " failed: " + asmjit::DebugUtils::errorAsString(err));
}

}  // namespace

std::vector<uint8_t> AssembleStub(RemotePtr base,
                                  const std::function<void(asmjit::x86::Assembler&)>& emit) {
  asmjit::CodeHolder code;
  Check(code.init(asmjit::Environment(asmjit::Arch::kX64), base.value()), "init", base);
  FirstErrorRecorder errors;
  code.setErrorHandler(&errors);
  {
    asmjit::x86::Assembler assembler(&code);
    emit(assembler);
  }
  if (errors.error() != asmjit::kErrorOk) {
    throw Error(ErrorCode::kInternal,
                "assembling a stub for " + base.ToString() + ": " + errors.message());
  }
  Check(code.flatten(), "flatten", base);
  Check(code.resolveUnresolvedLinks(), "resolving labels", base);
  if (code.hasUnresolvedLinks()) {
    // A branch to a label that was never bound: its displacement would stay garbage.
    throw Error(ErrorCode::kInternal, "assembling a stub for " + base.ToString() + ": " +
                                          std::to_string(code.unresolvedLinkCount()) +
                                          " branch(es) to unbound labels");
  }
  Check(code.relocateToBase(base.value()), "relocating", base);

  std::vector<uint8_t> bytes(code.codeSize());
  Check(code.copyFlattenedData(bytes.data(), bytes.size(),
                               asmjit::CopySectionFlags::kPadTargetBuffer),
        "copying", base);
  return bytes;
}

}  // namespace hotpatch::x86_64
