// The default, human-readable rendering of responses (--json prints the response itself).
#pragma once

#include <cstdio>

#include "proto/messages.h"

namespace hotpatch::ctl {

// Results go to `out`; an ErrorReply goes to `err` as "hotpatchctl: <error>: <message>".
void PrintReadable(const proto::Response& response, FILE* out, FILE* err);

}  // namespace hotpatch::ctl
