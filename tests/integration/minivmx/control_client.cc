#include "control_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "base/error.h"

namespace hotpatch::test {

ControlClient::ControlClient(const std::string& path) : path_(path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path)
    throw Error(ErrorCode::kBadRequest, "control socket path too long: " + path);
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  fd_.reset(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd_.valid()) throw ErrnoError("socket for " + path);
  if (connect(fd_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
    throw ErrnoError("connect to control socket " + path);
}

std::string ControlClient::Ask(std::string_view query, std::chrono::milliseconds timeout) {
  std::string request = std::string(query) + "\n";
  if (send(fd_.get(), request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size()))
    throw ErrnoError("send '" + std::string(query) + "' to " + path_);

  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto newline = buffered_.find('\n');
    if (newline != std::string::npos) {
      std::string line = buffered_.substr(0, newline);
      buffered_.erase(0, newline + 1);
      return line;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      throw Error(ErrorCode::kInternal,
                  "no answer to '" + std::string(query) + "' from " + path_ + " in time");
    pollfd pfd{fd_.get(), POLLIN, 0};
    if (poll(&pfd, 1, static_cast<int>(left.count())) <= 0) continue;
    char chunk[4096];
    ssize_t n = recv(fd_.get(), chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw ErrnoError("recv from " + path_);
    if (n == 0)
      throw Error(ErrorCode::kInternal,
                  path_ + " closed the connection before answering '" + std::string(query) + "'");
    buffered_.append(chunk, static_cast<size_t>(n));
  }
}

std::map<std::string, std::string> ParseKeyValues(std::string_view line) {
  std::map<std::string, std::string> values;
  std::istringstream words{std::string(line)};
  std::string word;
  while (words >> word) {
    auto equals = word.find('=');
    if (equals == std::string::npos) continue;
    values[word.substr(0, equals)] = word.substr(equals + 1);
  }
  return values;
}

uint64_t KeyAsNumber(const std::map<std::string, std::string>& values, const std::string& key) {
  auto it = values.find(key);
  if (it == values.end()) throw Error(ErrorCode::kNotFound, "no key '" + key + "' in answer");
  size_t used = 0;
  uint64_t number = std::stoull(it->second, &used);
  if (used != it->second.size())
    throw Error(ErrorCode::kInternal, "key '" + key + "' is not a number: " + it->second);
  return number;
}

}  // namespace hotpatch::test
