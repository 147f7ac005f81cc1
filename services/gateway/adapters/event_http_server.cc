#include "gateway/adapters/event_http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gateway/adapters/http1_parser.h"
#include "gateway/core/error_mapping.h"

namespace rentmesh::gateway {

namespace {

// Who may touch a connection: its loop while it is armed in the loop's epoll
// set (reading, writing, closing), or the one thread finishing its request
// (busy). Every hand-over goes through Arm(), the last touch of the giver.
enum ConnState : int { kReading, kBusy, kWriting, kClosing };

int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }
int64_t Ms(absl::Duration d) { return absl::ToInt64Milliseconds(d); }

HttpResponse ErrorOf(int status, absl::Status s) {
  HttpResponse r;
  r.status = status;
  r.body = StatusJson(s);
  return r;
}

absl::Status StatusForHttp(int status, const std::string& message) {
  switch (status) {
    case 413:
    case 431:
    case 400:
      return absl::InvalidArgumentError(message);
    case 501:
    case 505:
      return absl::UnimplementedError(message);
    default:
      return absl::InvalidArgumentError(message);
  }
}

constexpr uint64_t kWakeTag = 1;
constexpr uint64_t kListenTag = 2;

}  // namespace

struct EventHttpServer::Conn {
  Conn(int fd, Loop* loop, std::string peer, Http1Parser::Limits limits)
      : fd(fd), loop(loop), peer(std::move(peer)), parser(limits) {}
  const int fd;
  Loop* const loop;
  const std::string peer;
  std::string in;
  Http1Parser parser;
  std::string out;
  size_t out_sent = 0;
  bool close_after_write = false;
  bool head_request = false;
  // The client half-closed: answer what it sent, then close.
  bool peer_closed = false;
  int requests = 0;
  std::atomic<int> state{kReading};
  std::atomic<int64_t> deadline_ms{0};
  // An open stream, so that Stop can cancel it.
  absl::Mutex stream_mu;
  ChunkSource* stream ABSL_GUARDED_BY(stream_mu) = nullptr;
};

struct EventHttpServer::Loop {
  int epfd = -1;
  int wakefd = -1;
  std::thread thread;
  // Touched by this loop's thread only.
  absl::flat_hash_map<Conn*, std::unique_ptr<Conn>> conns;
  int64_t next_sweep_ms = 0;
};

EventHttpServer::EventHttpServer(const Options& options, GatewayHandler& handler)
    : options_(options), handler_(handler) {}

absl::StatusOr<std::unique_ptr<EventHttpServer>> EventHttpServer::Start(const Options& options,
                                                                        GatewayHandler& handler) {
  std::unique_ptr<EventHttpServer> s(new EventHttpServer(options, handler));
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string port = absl::StrCat(options.port);
  if (getaddrinfo(options.host.c_str(), port.c_str(), &hints, &found) != 0 || found == nullptr) {
    return absl::UnavailableError(absl::StrCat("cannot resolve ", options.host));
  }
  int fd = socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int yes = 1;
  if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  const bool bound =
      fd >= 0 && bind(fd, found->ai_addr, found->ai_addrlen) == 0 && listen(fd, SOMAXCONN) == 0;
  freeaddrinfo(found);
  if (!bound) {
    const std::string why = strerror(errno);
    if (fd >= 0) close(fd);
    return absl::UnavailableError(
        absl::StrCat("cannot bind ", options.host, ":", options.port, ": ", why));
  }
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  s->port_ = addr.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port)
                                        : ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  s->listen_fd_ = fd;
  s->blocking_ = std::make_unique<WorkPool>(std::max(1, options.blocking_threads),
                                            static_cast<size_t>(4 * options.blocking_threads));
  int loops = options.loops;
  if (loops <= 0) loops = std::clamp(static_cast<int>(std::thread::hardware_concurrency()), 1, 4);
  for (int i = 0; i < loops; ++i) {
    auto loop = std::make_unique<Loop>();
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    loop->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (loop->epfd < 0 || loop->wakefd < 0) return absl::InternalError("epoll setup failed");
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kWakeTag;
    epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->wakefd, &ev);
    ev.events = EPOLLIN | EPOLLEXCLUSIVE;
    ev.data.u64 = kListenTag;
    epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev);
    s->loops_.push_back(std::move(loop));
  }
  for (auto& loop : s->loops_) {
    Loop* l = loop.get();
    EventHttpServer* self = s.get();
    l->thread = std::thread([self, l] { self->Run(*l); });
  }
  return s;
}

EventHttpServer::~EventHttpServer() { Stop(); }

void EventHttpServer::Stop() {
  if (stopped_.exchange(true)) return;
  stopping_ = true;
  for (auto& loop : loops_) epoll_ctl(loop->epfd, EPOLL_CTL_DEL, listen_fd_, nullptr);
  // Open streams end now; unary calls end by their deadlines at the latest.
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  while (in_flight_.load() > 0 && absl::Now() < give_up) {
    for (auto& loop : loops_) {
      uint64_t one = 1;
      (void)!write(loop->wakefd, &one, sizeof(one));
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  for (auto& loop : loops_) {
    uint64_t one = 1;
    (void)!write(loop->wakefd, &one, sizeof(one));
  }
  for (auto& loop : loops_) {
    if (loop->thread.joinable()) loop->thread.join();
  }
  blocking_.reset();
  for (auto& loop : loops_) {
    for (auto& [raw, conn] : loop->conns) close(conn->fd);
    loop->conns.clear();
    close(loop->epfd);
    close(loop->wakefd);
  }
  if (listen_fd_ >= 0) close(listen_fd_);
  listen_fd_ = -1;
}

void EventHttpServer::Run(Loop& loop) {
  epoll_event events[128];
  for (;;) {
    const int n = epoll_wait(loop.epfd, events, 128, 250);
    if (stopping_.load()) {
      // Streams are cancelled so that their threads come back.
      for (auto& [raw, conn] : loop.conns) {
        absl::MutexLock lock(&conn->stream_mu);
        if (conn->stream != nullptr) conn->stream->Cancel();
      }
      if (in_flight_.load() == 0) return;
    }
    for (int i = 0; i < n; ++i) {
      const uint64_t tag = events[i].data.u64;
      if (tag == kWakeTag) {
        uint64_t v;
        (void)!read(loop.wakefd, &v, sizeof(v));
      } else if (tag == kListenTag) {
        if (!stopping_.load()) Accept(loop);
      } else {
        OnEvent(loop, static_cast<Conn*>(events[i].data.ptr), events[i].events);
      }
    }
    const int64_t now = NowMs();
    if (now >= loop.next_sweep_ms) {
      loop.next_sweep_ms = now + 200;
      Sweep(loop);
    }
  }
}

void EventHttpServer::Accept(Loop& loop) {
  for (;;) {
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    const int fd =
        accept4(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN: another loop took it, or none left
    if (connections_.load() >= options_.max_connections) {
      close(fd);
      continue;
    }
    int yes = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
    char host[INET6_ADDRSTRLEN] = {0};
    if (addr.ss_family == AF_INET6) {
      inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&addr)->sin6_addr, host, sizeof(host));
    } else {
      inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&addr)->sin_addr, host, sizeof(host));
    }
    auto conn = std::make_unique<Conn>(
        fd, &loop, host, Http1Parser::Limits{options_.max_head_bytes, options_.max_body_bytes});
    Conn* c = conn.get();
    c->deadline_ms = NowMs() + Ms(options_.idle_timeout);
    loop.conns.emplace(c, std::move(conn));
    connections_.fetch_add(1);
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
    ev.data.ptr = c;
    if (epoll_ctl(loop.epfd, EPOLL_CTL_ADD, fd, &ev) != 0) Close(loop, c);
  }
}

void EventHttpServer::Arm(Conn* c, uint32_t events) {
  epoll_event ev{};
  ev.events = events | EPOLLRDHUP | EPOLLONESHOT;
  ev.data.ptr = c;
  epoll_ctl(c->loop->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

void EventHttpServer::Close(Loop& loop, Conn* c) {
  epoll_ctl(loop.epfd, EPOLL_CTL_DEL, c->fd, nullptr);
  close(c->fd);
  connections_.fetch_sub(1);
  loop.conns.erase(c);
}

void EventHttpServer::Sweep(Loop& loop) {
  const int64_t now = NowMs();
  std::vector<Conn*> expired;
  for (auto& [raw, conn] : loop.conns) {
    const int st = conn->state.load(std::memory_order_acquire);
    if (st == kBusy) continue;  // bounded by the backend call's deadline
    if (conn->deadline_ms.load() < now) expired.push_back(raw);
  }
  for (Conn* c : expired) Close(loop, c);
}

void EventHttpServer::OnEvent(Loop& loop, Conn* c, uint32_t events) {
  switch (c->state.load(std::memory_order_acquire)) {
    case kReading:
      ReadAndProcess(loop, c);
      return;
    case kWriting: {
      if (events & (EPOLLERR | EPOLLHUP)) {
        Close(loop, c);
        return;
      }
      switch (SendPending(*c)) {
        case Sent::kAll:
          AfterWrite(c);
          return;
        case Sent::kBlocked:
          Arm(c, EPOLLOUT);
          return;
        case Sent::kFailed:
          Close(loop, c);
          return;
      }
      return;
    }
    case kClosing: {
      // Lingering close: what the client still sends is read and dropped
      // until it closes too, so our last response is not reset away.
      char buf[16384];
      for (;;) {
        const ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n > 0) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
          Arm(c, EPOLLIN);
          return;
        }
        if (n < 0 && errno == EINTR) continue;
        Close(loop, c);
        return;
      }
    }
    default:
      return;  // busy: not armed, no event can come
  }
}

EventHttpServer::Sent EventHttpServer::SendPending(Conn& c) {
  while (c.out_sent < c.out.size()) {
    const ssize_t n = send(c.fd, c.out.data() + c.out_sent, c.out.size() - c.out_sent,
                           MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      c.out_sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return Sent::kBlocked;
    return Sent::kFailed;
  }
  return Sent::kAll;
}

void EventHttpServer::ReadAndProcess(Loop& loop, Conn* c) {
  // Enough for the largest request plus what pipelines behind it.
  const size_t cap = options_.max_head_bytes + options_.max_body_bytes + 65536;
  bool eof = false;
  char buf[65536];
  while (c->in.size() < cap) {
    const size_t want = std::min<size_t>(sizeof(buf), cap - c->in.size());
    const ssize_t n = recv(c->fd, buf, want, MSG_DONTWAIT);
    if (n > 0) {
      c->in.append(buf, static_cast<size_t>(n));
      if (static_cast<size_t>(n) < want) break;
      continue;
    }
    if (n == 0) {
      eof = true;
      break;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    Close(loop, c);
    return;
  }
  if (eof) c->peer_closed = true;
  Process(loop, c);
}

void EventHttpServer::Process(Loop& loop, Conn* c) {
  const Http1Parser::State st = c->parser.Parse(c->in);
  if (st == Http1Parser::State::kNeedMore && c->peer_closed) {
    // The client closed between requests or in the middle of one: nobody
    // to answer.
    Close(loop, c);
    return;
  }
  if (st == Http1Parser::State::kNeedMore) {
    if (c->parser.wants_continue()) {
      static constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
      (void)!send(c->fd, kContinue, sizeof(kContinue) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
      c->parser.clear_wants_continue();
    }
    if (c->in.size() >= options_.max_head_bytes + options_.max_body_bytes + 65536) {
      c->state.store(kBusy, std::memory_order_release);
      in_flight_.fetch_add(1);
      Complete(c, ErrorOf(400, absl::InvalidArgumentError("request too large")), false);
      return;
    }
    c->deadline_ms = NowMs() + Ms(c->in.empty() ? options_.idle_timeout : options_.read_timeout);
    Arm(c, EPOLLIN);
    return;
  }
  c->state.store(kBusy, std::memory_order_release);
  in_flight_.fetch_add(1);
  if (st == Http1Parser::State::kError) {
    Complete(c,
             ErrorOf(c->parser.error_status(),
                     StatusForHttp(c->parser.error_status(), c->parser.error_message())),
             false);
    return;
  }
  HttpRequest request = std::move(c->parser.request());
  const bool keep_alive = c->parser.keep_alive() && !stopping_.load() && !c->peer_closed &&
                          ++c->requests < options_.keep_alive_max_requests;
  c->in.erase(0, c->parser.consumed());
  c->parser.Reset();
  const bool head = request.method == "HEAD";
  Dispatch(c, std::move(request), keep_alive, head);
}

void EventHttpServer::Dispatch(Conn* c, HttpRequest request, bool keep_alive, bool head) {
  c->head_request = head;
  if (handler_.NeedsBlocking(request)) {
    auto req = std::make_shared<HttpRequest>(std::move(request));
    const bool queued = blocking_->TrySubmit([this, c, req, keep_alive] {
      HttpResponse r = handler_.Handle(*req, c->peer);
      if (r.stream != nullptr && !c->head_request) {
        StreamResponse(c, std::move(r));
      } else {
        r.stream.reset();
        Complete(c, r, keep_alive);
      }
    });
    if (!queued) {
      Complete(c, ErrorOf(503, absl::UnavailableError("the gateway is overloaded; retry shortly")),
               false);
    }
    return;
  }
  handler_.HandleAsync(request, c->peer, [this, c, keep_alive](HttpResponse r) {
    r.stream.reset();  // unary: never streamed
    Complete(c, r, keep_alive);
  });
}

void EventHttpServer::Complete(Conn* c, const HttpResponse& response, bool keep_alive) {
  if (stopping_.load()) keep_alive = false;
  c->out = SerializeResponse(response, keep_alive, c->head_request, /*chunked=*/false);
  c->out_sent = 0;
  c->close_after_write = !keep_alive;
  const Sent sent = SendPending(*c);
  if (sent == Sent::kBlocked) {
    c->deadline_ms = NowMs() + Ms(options_.write_timeout);
    c->state.store(kWriting, std::memory_order_release);
    Arm(c, EPOLLOUT);  // the last touch of `c` here
    in_flight_.fetch_sub(1);
    return;
  }
  // kFailed: the client is gone; the loop closes the connection.
  if (sent == Sent::kFailed) c->close_after_write = true;
  AfterWrite(c);  // the last touch of `c` here
  in_flight_.fetch_sub(1);
}

void EventHttpServer::AfterWrite(Conn* c) {
  c->out.clear();
  c->out_sent = 0;
  if (c->close_after_write) {
    shutdown(c->fd, SHUT_WR);
    c->deadline_ms = NowMs() + 2000;
    c->state.store(kClosing, std::memory_order_release);
    Arm(c, EPOLLIN);
    return;
  }
  const bool pending = !c->in.empty();
  c->deadline_ms = NowMs() + Ms(pending ? options_.read_timeout : options_.idle_timeout);
  c->state.store(kReading, std::memory_order_release);
  // Bytes already read (a pipelined request) wake the loop at once through
  // EPOLLOUT, which a connection's socket reports while it can be written.
  Arm(c, pending ? EPOLLIN | EPOLLOUT : EPOLLIN);
}

bool EventHttpServer::SendAllBlocking(Conn* c, const std::string& bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n =
        send(c->fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{c->fd, POLLOUT, 0};
      if (poll(&p, 1, static_cast<int>(Ms(options_.write_timeout))) <= 0) return false;
      if (p.revents & (POLLERR | POLLHUP)) return false;
      continue;
    }
    return false;
  }
  return true;
}

void EventHttpServer::StreamResponse(Conn* c, HttpResponse response) {
  std::unique_ptr<ChunkSource> source = std::move(response.stream);
  {
    absl::MutexLock lock(&c->stream_mu);
    c->stream = source.get();
  }
  bool ok = !stopping_.load() &&
            SendAllBlocking(c, SerializeResponse(response, /*keep_alive=*/false,
                                                 /*head_request=*/false, /*chunked=*/true));
  while (ok) {
    std::optional<std::string> chunk = source->NextChunk();
    if (!chunk.has_value()) {
      ok = SendAllBlocking(c, Chunk(""));
      break;
    }
    if (chunk->empty()) continue;
    ok = SendAllBlocking(c, Chunk(*chunk));
  }
  if (!ok) source->Cancel();
  {
    absl::MutexLock lock(&c->stream_mu);
    c->stream = nullptr;
  }
  source.reset();
  c->close_after_write = true;
  AfterWrite(c);  // the last touch of `c` here
  in_flight_.fetch_sub(1);
}

}  // namespace rentmesh::gateway
