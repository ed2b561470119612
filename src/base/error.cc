#include "base/error.h"

#include <cstring>

namespace hotpatch {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInternal: return "internal";
    case ErrorCode::kBadRequest: return "bad_request";
    case ErrorCode::kBadBundle: return "bad_bundle";
    case ErrorCode::kMismatch: return "mismatch";
    case ErrorCode::kBusy: return "busy";
    case ErrorCode::kNoSuchProcess: return "no_such_process";
    case ErrorCode::kPermissionDenied: return "permission_denied";
    case ErrorCode::kUnsupported: return "unsupported";
    case ErrorCode::kNotFound: return "not_found";
  }
  return "internal";
}

Error ErrnoError(std::string_view what, int err) {
  ErrorCode code = ErrorCode::kInternal;
  if (err == ESRCH) code = ErrorCode::kNoSuchProcess;
  if (err == EPERM || err == EACCES) code = ErrorCode::kPermissionDenied;
  return Error(code, std::string(what) + ": " + std::strerror(err));
}

}  // namespace hotpatch
