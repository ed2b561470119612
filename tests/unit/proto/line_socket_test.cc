// The framing over a real socketpair: lines, size limits, cut-off messages, deadlines and the
// descriptor that travels with a line.
#include "proto/line_socket.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "base/error.h"

namespace hotpatch::proto {
namespace {

struct SocketPair {
  UniqueFd a, b;
  SocketPair() {
    int fds[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
    a.reset(fds[0]);
    b.reset(fds[1]);
  }
};

Deadline In(std::chrono::milliseconds ms) {
  return std::chrono::steady_clock::now() + ms;
}

}  // namespace

TEST_CASE("a line and its descriptor arrive together") {
  SocketPair pair;
  UniqueFd file(open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  REQUIRE(file.valid());
  SendLine(pair.a.get(), R"({"x":1})", In(std::chrono::seconds(5)), file.get());
  auto received = ReceiveLine(pair.b.get(), 1024, In(std::chrono::seconds(5)));
  REQUIRE(received);
  CHECK(received->line == R"({"x":1})");
  REQUIRE(received->fd.valid());
  struct stat sent_stat {
  }, received_stat{};
  fstat(file.get(), &sent_stat);
  fstat(received->fd.get(), &received_stat);
  CHECK(sent_stat.st_ino == received_stat.st_ino);
  CHECK(sent_stat.st_dev == received_stat.st_dev);
  // MSG_CMSG_CLOEXEC: the received descriptor must not leak into programs the daemon runs.
  CHECK((fcntl(received->fd.get(), F_GETFD) & FD_CLOEXEC) != 0);
}

TEST_CASE("a line without a descriptor has none") {
  SocketPair pair;
  SendLine(pair.a.get(), "hello", In(std::chrono::seconds(5)));
  auto received = ReceiveLine(pair.b.get(), 1024, In(std::chrono::seconds(5)));
  REQUIRE(received);
  CHECK(received->line == "hello");
  CHECK_FALSE(received->fd.valid());
}

TEST_CASE("an oversized line is refused once the limit is passed") {
  SocketPair pair;
  std::string big(5000, 'x');
  SendLine(pair.a.get(), big, In(std::chrono::seconds(5)));
  try {
    ReceiveLine(pair.b.get(), 4096, In(std::chrono::seconds(5)));
    FAIL("oversized line accepted");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::kBadRequest);
    CHECK_THAT(e.what(), Catch::Contains("4096"));
  }
  // Exactly at the limit is fine.
  SocketPair exact;
  SendLine(exact.a.get(), std::string(4096, 'y'), In(std::chrono::seconds(5)));
  CHECK(ReceiveLine(exact.b.get(), 4096, In(std::chrono::seconds(5)))->line.size() == 4096);
}

TEST_CASE("end of file: before a byte is no message, in the middle is a bad request") {
  SocketPair silent;
  silent.a.reset();
  CHECK_FALSE(ReceiveLine(silent.b.get(), 1024, In(std::chrono::seconds(5))).has_value());

  SocketPair cut;
  REQUIRE(write(cut.a.get(), "{\"version\"", 10) == 10);
  cut.a.reset();
  try {
    ReceiveLine(cut.b.get(), 1024, In(std::chrono::seconds(5)));
    FAIL("half a line accepted");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::kBadRequest);
  }
}

TEST_CASE("a silent peer runs into the deadline, a cancel descriptor ends the wait early") {
  SocketPair pair;
  REQUIRE(write(pair.a.get(), "partial", 7) == 7);
  CHECK_THROWS_AS(ReceiveLine(pair.b.get(), 1024, In(std::chrono::milliseconds(50))), Error);

  int cancel[2];
  REQUIRE(pipe2(cancel, O_CLOEXEC) == 0);
  UniqueFd cancel_read(cancel[0]), cancel_write(cancel[1]);
  REQUIRE(write(cancel_write.get(), "x", 1) == 1);
  // Far deadline: only the cancel descriptor can end this wait.
  CHECK_THROWS_AS(ReceiveLine(pair.b.get(), 1024, In(std::chrono::hours(1)), cancel_read.get()),
                  Error);
}

}  // namespace hotpatch::proto
