#include "hotpatchd/connection_server.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>

#include <cstring>
#include <thread>

#include "hotpatchd/caller_credentials.h"
#include "proto/line_socket.h"
#include "proto/messages.h"

namespace hotpatch::daemon {
namespace {

// Writing a response may block only as long as a client takes to read a few KiB.
constexpr std::chrono::seconds kResponseSendTimeout{10};

uint64_t MicrosecondsSince(std::chrono::steady_clock::time_point start) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::steady_clock::now() - start)
                                   .count());
}

std::string OutcomeOf(const proto::Response& response) {
  if (auto* error = std::get_if<proto::ErrorReply>(&response.body)) return error->error;
  return "ok";
}

void TrySend(int connection, const proto::Response& response) {
  try {
    proto::SendLine(connection, proto::SerializeResponse(response),
                    std::chrono::steady_clock::now() + kResponseSendTimeout);
  } catch (const Error&) {
    // The client is gone; the outcome is logged all the same.
  }
}

}  // namespace

ConnectionServer::ConnectionServer(const ListenSocket& listener, const DaemonOptions& options,
                                   RequestLog& log, DaemonStats& stats, RequestHandler& handler)
    : listener_(listener),
      options_(options),
      log_(log),
      stats_(stats),
      handler_(handler),
      shutdown_event_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (!shutdown_event_.valid()) throw ErrnoError("eventfd");
}

void ConnectionServer::Run(int stop_fd) {
  for (;;) {
    pollfd fds[2] = {{listener_.fd(), POLLIN, 0}, {stop_fd, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      throw ErrnoError("poll on the listening socket");
    }
    if (fds[1].revents & POLLIN) break;
    if (fds[0].revents & POLLIN) AcceptOne();
  }
  uint64_t one = 1;
  // Stays readable: every reader polling it, now or later, sees the shutdown.
  (void)!write(shutdown_event_.get(), &one, sizeof one);
  std::unique_lock lock(mutex_);
  if (open_connections_ > 0)
    log_.Note("stopping: waiting for " + std::to_string(open_connections_) + " connection(s)");
  connection_ended_.wait(lock, [&] { return open_connections_ == 0; });
}

void ConnectionServer::AcceptOne() {
  UniqueFd connection(accept4(listener_.fd(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
  if (!connection.valid()) {
    // EAGAIN: another wakeup took it; ECONNABORTED: the client left. EMFILE & co: logged; the
    // listener stays up for the clients after.
    if (errno != EAGAIN && errno != ECONNABORTED && errno != EINTR)
      log_.Note(std::string("accept: ") + strerror(errno), true);
    return;
  }
  {
    std::lock_guard lock(mutex_);
    if (open_connections_ >= options_.max_connections) {
      RefuseOverCapacity(std::move(connection));
      return;
    }
    ++open_connections_;
  }
  std::thread([this, c = std::move(connection)]() mutable {
    Serve(std::move(c));
    std::lock_guard lock(mutex_);
    --open_connections_;
    connection_ended_.notify_all();
  }).detach();
}

void ConnectionServer::RefuseOverCapacity(UniqueFd connection) {
  // A fresh connection's send buffer is empty: this small line never blocks the accept loop.
  proto::ErrorReply reply{"busy", "hotpatchd serves " + std::to_string(options_.max_connections) +
                                      " connections already; try again"};
  TrySend(connection.get(), proto::Response{proto::kProtocolVersion, reply});
  log_.Note("refused a connection: " + reply.message, true);
}

void ConnectionServer::Serve(UniqueFd connection) {
  auto started = std::chrono::steady_clock::now();
  RequestLogEntry entry;
  entry.command = "?";
  proto::Response response;
  try {
    CallerCredentials caller = ReadCallerCredentials(connection.get());
    entry.caller_uid = caller.uid;
    entry.caller_pid = caller.pid;
    std::optional<proto::ReceivedLine> received;
    try {
      received = proto::ReceiveLine(connection.get(), proto::kMaxRequestBytes,
                                    started + options_.request_timeout, shutdown_event_.get());
    } catch (const Error& e) {
      entry.outcome = e.code() == ErrorCode::kBadRequest ? "bad_request" : "abandoned";
      entry.detail = e.what();
      entry.duration_us = MicrosecondsSince(started);
      TrySend(
          connection.get(),
          proto::Response{proto::kProtocolVersion,
                          proto::ErrorReply{"bad_request", std::string("request: ") + e.what()}});
      log_.Record(entry);
      return;
    }
    if (!received) return;  // connected and left without a word (e.g. a liveness probe)
    try {
      proto::Request request = proto::ParseRequest(received->line);
      entry.command = proto::CommandName(request.body);
      ++stats_.in_flight;
      response = handler_.Handle(request, caller, std::move(received->fd), entry);
      --stats_.in_flight;
    } catch (const Error& e) {
      response = proto::Response{proto::kProtocolVersion, proto::MakeErrorReply(e)};
    }
  } catch (const Error& e) {
    response = proto::Response{proto::kProtocolVersion, proto::MakeErrorReply(e)};
  }
  ++stats_.requests_served;
  TrySend(connection.get(), response);
  entry.outcome = OutcomeOf(response);
  if (auto* error = std::get_if<proto::ErrorReply>(&response.body)) entry.detail = error->message;
  entry.duration_us = MicrosecondsSince(started);
  log_.Record(entry);
  sd_notifyf(0, "STATUS=%llu requests served, %llu in flight",
             static_cast<unsigned long long>(stats_.requests_served.load()),
             static_cast<unsigned long long>(stats_.in_flight.load()));
}

}  // namespace hotpatch::daemon
