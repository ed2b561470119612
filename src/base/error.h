// Errors that reach the user. Every failure carries a stable code (mapped to the protocol's error
// field and hotpatchctl's exit code) and a message with the context that explains it: pid, tid,
// symbol, address, file. Nothing in the engine returns a bare -1.
#pragma once

#include <cerrno>
#include <stdexcept>
#include <string>
#include <string_view>

namespace hotpatch {

enum class ErrorCode {
  kInternal,          // a bug or an unexpected system failure
  kBadRequest,        // malformed input from the caller (CLI usage, protocol request)
  kBadBundle,         // the bundle is corrupt, truncated, unsigned when it must be signed, ...
  kMismatch,          // the bundle does not fit the target (build-id, expected bytes, symbol)
  kBusy,              // the safety check did not pass before the deadline
  kNoSuchProcess,     // the pid or tid does not exist (any more)
  kPermissionDenied,  // the caller or we lack the right to do it
  kUnsupported,       // a valid request we refuse: relocation type, placement that does not fit
  kNotFound,          // a named thing (patch id, symbol, module) is not there
};

// The stable wire name of a code, e.g. "busy", "mismatch", "bad_bundle".
std::string_view ErrorCodeName(ErrorCode code);

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

// An Error for a failed system call: "<what>: <strerror(err)>", with the code derived from errno
// (ESRCH -> kNoSuchProcess, EPERM/EACCES -> kPermissionDenied, otherwise kInternal).
Error ErrnoError(std::string_view what, int err = errno);

}  // namespace hotpatch
