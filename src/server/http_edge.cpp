#include "server/http_edge.h"

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <exception>
#include <map>
#include <mutex>
#include <unordered_map>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "common/text.h"
#include "server/json_log.h"
#include "server/worker_pool.h"
#include "storage/percent_encoding.h"

namespace spectrum::server {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kBodyChunkBytes = std::size_t{64} * 1024;
constexpr std::size_t kDiscardChunkBytes = std::size_t{16} * 1024;
constexpr std::size_t kLingerBytes = 1 << 20;  // unread body discarded after an early answer, at most
constexpr std::chrono::seconds kLingerTime{1};
constexpr int kReservedDescriptors = 64;  // files, pipes and outgoing sockets besides client connections
constexpr int kBusyRetryAfterS = 2;
constexpr std::size_t kMaxPendingStreamBytes = std::size_t{4} << 20;

std::string to_std(beast::string_view text) {
  return {text.data(), text.size()};
}

// "/files/a%20b?expires=1&signature=x" -> path "/files/a b", query {expires: 1, signature: x}.
bool split_target(std::string_view target, HttpRequest& request) {
  const auto question = target.find('?');
  auto path = storage::percent_decode(target.substr(0, question));
  if (!path || path->empty() || path->front() != '/') return false;
  request.path = std::move(*path);
  if (question == std::string_view::npos) return true;
  std::string_view rest = target.substr(question + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    const auto eq = pair.find('=');
    auto key = storage::percent_decode(pair.substr(0, eq));
    auto value = storage::percent_decode(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
    if (!key || !value) return false;
    request.query.emplace(std::move(*key), std::move(*value));
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return true;
}

// The most connections the process can hold open, leaving room for everything else it opens.
int descriptor_budget() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return 1 << 20;
  return std::max(16, static_cast<int>(limit.rlim_cur) - kReservedDescriptors);
}

}  // namespace

class HttpEdge::Impl {
 public:
  class Connection;

  Impl(EdgeLimits limits, std::vector<Route> routes, EdgeHooks hooks)
      : limits_(limits),
        routes_(std::move(routes)),
        hooks_(std::move(hooks)),
        max_connections_(std::min(limits_.max_connections, descriptor_budget())),
        workers_(static_cast<std::size_t>(std::max(1, limits_.worker_threads)),
                 static_cast<std::size_t>(std::max(0, limits_.worker_queue))) {}

  Expected<int> bind(const std::string& host, int port) {
    beast::error_code ec;
    tcp::resolver resolver(io_);
    const auto endpoints = resolver.resolve(host, std::to_string(port), tcp::resolver::passive, ec);
    if (ec || endpoints.empty()) return cannot_listen(host, port);
    const tcp::endpoint endpoint = endpoints.begin()->endpoint();
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) return cannot_listen(host, port);
    return static_cast<int>(acceptor_.local_endpoint().port());
  }

  void run() {
    accept();
    io_.run();
  }

  void stop_accepting();
  void stop();

  [[nodiscard]] int open_connections() const { return open_.load(); }
  [[nodiscard]] int max_connections() const { return max_connections_; }

 private:
  static Error cannot_listen(const std::string& host, int port) {
    return make_error(ErrorCode::kUnavailable, "cannot listen on " + host + ":" + std::to_string(port) +
                                                   " (address in use, or not an address of this machine?)");
  }

  void accept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
      if (ec) {
        // Out of descriptors or a transient error: pause instead of spinning on it.
        log_json(Severity::kWarning, "accept failed", {{"detail", ec.message()}});
        retry_timer_.expires_after(std::chrono::milliseconds(50));
        retry_timer_.async_wait([this](beast::error_code) { accept(); });
        return;
      }
      admit(std::move(socket));
      accept();
    });
  }

  void admit(tcp::socket socket);

  void release(Connection* connection, const std::string& address) {
    const std::lock_guard lock(mutex_);
    registry_.erase(connection);
    if (auto it = per_address_.find(address); it != per_address_.end() && --it->second <= 0) per_address_.erase(it);
    --open_;
  }

  std::vector<std::shared_ptr<Connection>> snapshot();

  [[nodiscard]] const Route* match(const HttpRequest& request, bool& path_known) const {
    path_known = false;
    for (const auto& route : routes_) {
      const bool path_matches = route.prefix ? request.path.rfind(route.path, 0) == 0 : request.path == route.path;
      if (!path_matches) continue;
      path_known = true;
      if (route.method == request.method) return &route;
    }
    return nullptr;
  }

  // Declared so that destruction runs workers first (their last answers are posted to the loop), then the
  // loop (whose pending handlers hold the last connections), then the bookkeeping the connections update.
  const EdgeLimits limits_;
  const std::vector<Route> routes_;
  const EdgeHooks hooks_;
  const int max_connections_;
  std::atomic<bool> draining_{false};
  std::atomic<int> open_{0};
  std::mutex mutex_;  // the maps below: a connection may end on a worker thread
  std::unordered_map<std::string, int> per_address_;
  std::unordered_map<Connection*, std::weak_ptr<Connection>> registry_;
  net::io_context io_{1};
  tcp::acceptor acceptor_{io_};
  net::steady_timer retry_timer_{io_};
  WorkerPool workers_;
};

// One client connection. Every step runs on the event loop except blocking handlers, whose answers are
// posted back to it.
class HttpEdge::Impl::Connection : public std::enable_shared_from_this<Connection>, public StreamWriter {
 public:
  Connection(Impl& edge, tcp::socket socket, std::string address)
      : edge_(edge),
        limits_(edge.limits_),
        stream_(std::move(socket)),
        buffer_(limits_.max_header_bytes + 4096),
        address_(std::move(address)) {}

  ~Connection() override { edge_.release(this, address_); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void start() {
    header_deadline_ = Clock::now() + limits_.header_timeout;
    wait_for_request();
  }

  // Shutting down: a connection between requests (or still sending headers) is closed; one whose request
  // was accepted finishes it.
  void drain() {
    if (state_ == State::kIdle || state_ == State::kHeader) close();
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    gone_ = true;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

 private:
  enum class State { kIdle, kHeader, kBody, kHandling, kWriting };

  void wait_for_request() {
    state_ = State::kIdle;
    if (edge_.draining_ && served_ > 0) return close();
    if (buffer_.size() > 0) return read_header();
    if (served_ > 0)
      stream_.expires_after(limits_.idle_timeout);
    else
      stream_.expires_at(header_deadline_);
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = shared_from_this()](beast::error_code ec, std::size_t bytes) {
                              if (ec) return self->close();  // idle timeout, or the client went away
                              self->buffer_.commit(bytes);
                              self->read_header();
                            });
  }

  void read_header() {
    state_ = State::kHeader;
    if (served_ > 0) header_deadline_ = Clock::now() + limits_.header_timeout;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(limits_.max_header_bytes));
    parser_->body_limit(boost::none);  // routes and sinks enforce their own limits
    stream_.expires_at(header_deadline_);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    started_ = Clock::now();
    request_ = HttpRequest{};
    request_.remote_addr = address_;
    if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
      return answer(error_response(431, "request headers are over the limit of " +
                                            std::to_string(limits_.max_header_bytes) + " bytes"),
                    true);
    }
    // A client that is too slow, silent or gone is owed no answer.
    if (ec == beast::error::timeout || ec == http::error::end_of_stream || ec == net::error::eof ||
        ec == net::error::operation_aborted || ec == net::error::connection_reset) {
      return close();
    }
    if (ec) return answer(error_response(400, "malformed HTTP request"), true);

    const auto& header = parser_->get();
    request_.method = to_std(header.method_string());
    const std::string target = to_std(header.target());
    std::size_t fields = 0;
    for (const auto& field : header) {
      if (++fields > limits_.max_header_fields) {
        return answer(error_response(431, "more than " + std::to_string(limits_.max_header_fields) + " header fields"),
                      true);
      }
      request_.headers.emplace_back(to_std(field.name_string()), to_std(field.value()));
    }
    if (target.size() > limits_.max_target_bytes) {
      return answer(error_response(414, "request target is over the limit of " +
                                            std::to_string(limits_.max_target_bytes) + " bytes"),
                    true);
    }
    if (!split_target(target, request_)) return answer(error_response(400, "malformed request target"), true);
    beast::error_code local_ec;
    const auto local = stream_.socket().local_endpoint(local_ec);
    if (!local_ec) {
      request_.local_addr = local.address().to_string();
      request_.local_port = local.port();
    }

    const bool body_pending = !parser_->is_done();
    if (edge_.hooks_.screen) {
      if (auto early = edge_.hooks_.screen(request_)) return answer(std::move(*early), body_pending);
    }
    bool path_known = false;
    route_ = edge_.match(request_, path_known);
    if (route_ == nullptr) {
      return answer(path_known ? error_response(405, "method not allowed") : error_response(404, "not found"),
                    body_pending);
    }
    if (route_->open_body) {
      BodyOpening opening = route_->open_body(request_);
      if (auto* early = std::get_if<HttpResponse>(&opening)) return answer(std::move(*early), body_pending);
      sink_ = std::move(std::get<std::unique_ptr<BodySink>>(opening));
    } else if (body_pending) {
      const auto length = parser_->content_length();
      if (length && *length > route_->max_body_bytes) return answer(too_large(route_->max_body_bytes), true);
    }
    if (!body_pending) return dispatch();
    if (iequals(request_.header("Expect"), "100-continue")) return send_continue();
    read_body();
  }

  static HttpResponse too_large(std::uint64_t limit) {
    return error_response(413, "request body is over the limit of " + std::to_string(limit) + " bytes");
  }

  void send_continue() {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    stream_.expires_after(limits_.write_timeout);
    net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       if (ec) return self->close();
                       self->read_body();
                     });
  }

  void read_body() {
    state_ = State::kBody;
    if (!chunk_) chunk_ = std::make_unique<char[]>(kBodyChunkBytes);
    auto& body = parser_->get().body();
    body.data = chunk_.get();
    body.size = kBodyChunkBytes;
    // The stream's own timeout would close the socket, leaving no way to answer 408; this timer cancels the
    // read instead. The generation ties a firing to the read it was set for.
    stream_.expires_never();
    const unsigned generation = ++body_read_generation_;
    body_timer_.expires_after(limits_.body_timeout);
    body_timer_.async_wait([weak = weak_from_this(), generation](beast::error_code ec) {
      auto self = weak.lock();
      if (ec || !self || self->body_read_generation_ != generation) return;
      self->body_stalled_ = true;
      beast::error_code ignored;
      self->stream_.socket().cancel(ignored);
    });
    http::async_read_some(stream_, buffer_, *parser_,
                          [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_body(ec); });
  }

  void on_body(beast::error_code ec) {
    body_timer_.cancel();
    if (ec == http::error::need_buffer) ec = {};
    if (body_stalled_) {
      sink_.reset();  // nothing of a stalled body is kept
      return answer(error_response(408, "the request body stopped arriving"), true);
    }
    if (ec) {  // cut short, or malformed chunking: nothing is stored and nobody is listening
      sink_.reset();
      return close();
    }
    const std::size_t got = kBodyChunkBytes - parser_->get().body().size;
    if (got > 0) {
      const std::string_view bytes(chunk_.get(), got);
      if (sink_) {
        if (auto early = sink_->write(bytes)) {
          sink_.reset();
          return answer(std::move(*early), true);
        }
      } else {
        if (request_.body.size() + got > route_->max_body_bytes) return answer(too_large(route_->max_body_bytes), true);
        request_.body.append(bytes);
      }
    }
    if (!parser_->is_done()) return read_body();
    dispatch();
  }

  // Runs the route: inline when it never waits, otherwise on a worker with the answer posted back here.
  void dispatch() {
    state_ = State::kHandling;
    std::function<HttpResponse()> work;
    if (sink_) {
      work = [sink = std::shared_ptr<BodySink>(std::move(sink_))] { return sink->finish(); };
    } else {
      work = [route = route_, request = &request_] { return route->handle(*request); };
    }
    if (!route_->blocking) return answer(guarded(work), false);
    auto guard = net::make_work_guard(edge_.io_);  // the loop must not end while a handler runs
    const bool posted = edge_.workers_.try_post(
        [self = shared_from_this(), work = std::move(work), guard = std::move(guard)]() mutable {
          HttpResponse response = guarded(work);
          std::function<void(StreamWriter&)> producer = std::move(response.stream);
          response.stream = nullptr;
          auto executor = self->stream_.get_executor();
          net::post(executor, [self, response = std::move(response), streaming = bool(producer)]() mutable {
            if (streaming) return self->answer_streaming(std::move(response));
            self->answer(std::move(response), false);
          });
          if (!producer) return;
          // The body is produced here, on this worker, while the loop sends what it writes.
          try {
            producer(*self);
          } catch (const std::exception& e) {
            log_json(Severity::kError, "a response stream failed", {{"detail", e.what()}});
          }
          self->end_stream();
        });
    if (!posted) {
      HttpResponse busy = error_response(503, "the server is busy; retry shortly");
      busy.set_header("Retry-After", std::to_string(kBusyRetryAfterS));
      answer(std::move(busy), false);
    }
  }

  // ---- streamed bodies (HttpResponse::stream) ----

  bool write(std::string_view bytes) override {
    if (gone_) return false;
    {
      const std::lock_guard lock(stream_mutex_);
      if (pending_bytes_ + bytes.size() > kMaxPendingStreamBytes) return false;  // a reader this slow is dropped
      pending_bytes_ += bytes.size();
      pending_.emplace_back(bytes);
    }
    net::post(stream_.get_executor(), [self = shared_from_this()] { self->pump(); });
    return true;
  }

  void end_stream() {
    {
      const std::lock_guard lock(stream_mutex_);
      stream_done_ = true;
    }
    net::post(stream_.get_executor(), [self = shared_from_this()] { self->pump(); });
  }

  void answer_streaming(HttpResponse response) {
    if (!begin_answer(response, false)) return;
    heartbeat_ = std::move(response.heartbeat);
    heartbeat_interval_ = response.heartbeat_interval;
    auto message = message_head<http::empty_body>(response);
    message->chunked(true);
    auto serializer = std::make_shared<http::response_serializer<http::empty_body>>(*message);
    stream_.expires_after(limits_.write_timeout);
    http::async_write_header(stream_, *serializer,
                             [self = shared_from_this(), message, serializer](beast::error_code ec, std::size_t) {
                               if (ec) return self->close();
                               self->headers_sent_ = true;
                               self->pump();
                             });
  }

  // Sends what the producer wrote, one chunk at a time; when it has finished, the last chunk; while it is
  // quiet, a heartbeat after each interval.
  void pump() {
    if (closed_ || writing_ || !headers_sent_ || stream_finished_) return;
    auto chunk = std::make_shared<std::string>();
    bool done = false;
    {
      const std::lock_guard lock(stream_mutex_);
      if (!pending_.empty()) {
        *chunk = std::move(pending_.front());
        pending_.pop_front();
        pending_bytes_ -= chunk->size();
      } else {
        done = stream_done_;
      }
    }
    heartbeat_timer_.cancel();
    if (!chunk->empty()) {
      writing_ = true;
      stream_.expires_after(limits_.write_timeout);
      net::async_write(stream_, http::make_chunk(net::buffer(*chunk)),
                       [self = shared_from_this(), chunk](beast::error_code ec, std::size_t) {
                         self->writing_ = false;
                         if (ec) return self->close();
                         self->pump();
                       });
      return;
    }
    if (done) {
      stream_finished_ = true;
      stream_.expires_after(limits_.write_timeout);
      net::async_write(stream_, http::make_chunk_last(),
                       [self = shared_from_this()](beast::error_code ec, std::size_t) {
                         if (ec) return self->close();
                         self->finish_exchange();
                       });
      return;
    }
    if (heartbeat_.empty()) return;
    heartbeat_timer_.expires_after(heartbeat_interval_);
    heartbeat_timer_.async_wait([weak = weak_from_this()](beast::error_code ec) {
      auto self = weak.lock();
      if (ec || !self) return;
      self->write(self->heartbeat_);
    });
  }

  // Handlers do not throw; this is the last safety net, a JSON 500 with no internal detail.
  static HttpResponse guarded(const std::function<HttpResponse()>& work) {
    try {
      return work();
    } catch (const std::exception& e) {
      log_json(Severity::kError, "unhandled exception in a handler", {{"detail", e.what()}});
    } catch (...) {
      log_json(Severity::kError, "unhandled exception in a handler");
    }
    return error_response(500, "internal error");
  }

  // What every answer does first: decide whether the connection stays open, and pass the answer through the
  // finish hook. False when the connection is already gone.
  bool begin_answer(HttpResponse& response, bool close_after) {
    if (closed_) return false;
    state_ = State::kWriting;
    const bool keep_alive = parser_ && parser_->is_header_done() && parser_->get().keep_alive();
    close_after_ = response.close || close_after || !keep_alive || edge_.draining_ ||
                   served_ + 1 >= limits_.max_requests_per_connection;
    response.close = close_after_;
    if (edge_.hooks_.finish) edge_.hooks_.finish(request_, response, Clock::now() - started_);
    return true;
  }

  // The status line and headers of `response`, as a message of the given body type.
  template <class Body>
  std::shared_ptr<http::response<Body>> message_head(const HttpResponse& response) const {
    auto message = std::make_shared<http::response<Body>>();
    message->result(static_cast<unsigned>(response.status));
    message->version(11);
    for (const auto& [name, value] : response.headers) message->insert(name, value);
    message->keep_alive(!close_after_);
    return message;
  }

  void answer(HttpResponse response, bool close_after) {
    if (!begin_answer(response, close_after)) return;
    if (!response.file.empty()) {
      http::file_body::value_type file;
      beast::error_code ec;
      file.open(response.file.c_str(), beast::file_mode::scan, ec);
      if (!ec) return write(build<http::file_body>(response, std::move(file)));
      log_json(Severity::kError, "cannot open a file to send", {{"detail", ec.message()}});
      response = error_response(502, "storage failure");
    }
    std::string body = std::move(response.body);
    write(build<http::string_body>(response, std::move(body)));
  }

  template <class Body>
  std::shared_ptr<http::response<Body>> build(const HttpResponse& response, typename Body::value_type body) {
    auto message = message_head<Body>(response);
    message->body() = std::move(body);
    message->prepare_payload();
    return message;
  }

  // Writes piece by piece, so the write timeout bounds a stalled reader rather than a large download.
  template <class Body>
  void write(std::shared_ptr<http::response<Body>> message) {
    auto serializer = std::make_shared<http::response_serializer<Body>>(*message);
    write_some(std::move(message), std::move(serializer));
  }

  template <class Body>
  void write_some(std::shared_ptr<http::response<Body>> message,
                  std::shared_ptr<http::response_serializer<Body>> serializer) {
    stream_.expires_after(limits_.write_timeout);
    http::async_write_some(stream_, *serializer,
                           [self = shared_from_this(), message, serializer](beast::error_code ec, std::size_t) {
                             if (ec) return self->close();
                             if (!serializer->is_done()) return self->write_some(message, serializer);
                             self->finish_exchange();
                           });
  }

  // One request answered in full: next request, or close.
  void finish_exchange() {
    ++served_;
    if (close_after_) return linger();
    parser_.reset();
    reset_stream();
    wait_for_request();
  }

  void reset_stream() {
    const std::lock_guard lock(stream_mutex_);
    pending_.clear();
    pending_bytes_ = 0;
    stream_done_ = false;
    headers_sent_ = false;
    stream_finished_ = false;
  }

  // After an answer that leaves a body unread: stop sending, then read and drop what the client is still
  // sending for a moment, so the answer is not lost to a reset.
  void linger() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return close();
    lingered_ = 0;
    linger_deadline_ = Clock::now() + kLingerTime;
    discard();
  }

  void discard() {
    buffer_.clear();
    stream_.expires_at(linger_deadline_);
    stream_.async_read_some(buffer_.prepare(kDiscardChunkBytes),
                            [self = shared_from_this()](beast::error_code ec, std::size_t bytes) {
                              self->lingered_ += bytes;
                              if (ec || self->lingered_ > kLingerBytes) return self->close();
                              self->discard();
                            });
  }

  Impl& edge_;
  const EdgeLimits& limits_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::buffer_body>> parser_;
  std::unique_ptr<char[]> chunk_;
  std::unique_ptr<BodySink> sink_;
  HttpRequest request_;
  const Route* route_ = nullptr;
  std::string address_;
  State state_ = State::kIdle;
  Clock::time_point header_deadline_{};
  Clock::time_point started_{};
  Clock::time_point linger_deadline_{};
  net::steady_timer body_timer_{stream_.get_executor()};
  net::steady_timer heartbeat_timer_{stream_.get_executor()};
  std::mutex stream_mutex_;  // pending_, pending_bytes_ and stream_done_: the producer runs on a worker
  std::deque<std::string> pending_;
  std::size_t pending_bytes_ = 0;
  bool stream_done_ = false;
  bool headers_sent_ = false;
  bool stream_finished_ = false;
  bool writing_ = false;
  std::string heartbeat_;
  std::chrono::milliseconds heartbeat_interval_{10'000};
  std::atomic<bool> gone_{false};
  unsigned body_read_generation_ = 0;
  bool body_stalled_ = false;
  std::size_t lingered_ = 0;
  int served_ = 0;
  bool close_after_ = false;
  bool closed_ = false;
};

void HttpEdge::Impl::stop_accepting() {
  net::post(io_, [this] {
    draining_ = true;
    beast::error_code ec;
    acceptor_.close(ec);
    for (const auto& connection : snapshot()) connection->drain();
  });
}

void HttpEdge::Impl::stop() {
  net::post(io_, [this] {
    draining_ = true;
    beast::error_code ec;
    acceptor_.close(ec);
    for (const auto& connection : snapshot()) connection->close();
    io_.stop();
  });
}

void HttpEdge::Impl::admit(tcp::socket socket) {
  beast::error_code ec;
  const std::string address = socket.remote_endpoint(ec).address().to_string();
  if (ec) return;
  {
    const std::lock_guard lock(mutex_);
    int& from_address = per_address_[address];
    if (open_.load() >= max_connections_ || from_address >= limits_.max_connections_per_address) {
      if (from_address == 0) per_address_.erase(address);
      socket.close(ec);  // closing at once costs the client nothing but a reconnect, and us nothing at all
      return;
    }
    ++from_address;
    ++open_;
  }
  socket.set_option(tcp::no_delay(true), ec);  // small JSON answers must not wait for delayed ACKs
  auto connection = std::make_shared<Connection>(*this, std::move(socket), address);
  {
    const std::lock_guard lock(mutex_);
    registry_[connection.get()] = connection;
  }
  connection->start();
}

std::vector<std::shared_ptr<HttpEdge::Impl::Connection>> HttpEdge::Impl::snapshot() {
  const std::lock_guard lock(mutex_);
  std::vector<std::shared_ptr<Connection>> live;
  for (const auto& [key, weak] : registry_) {
    if (auto connection = weak.lock()) live.push_back(std::move(connection));
  }
  return live;
}

HttpEdge::HttpEdge(EdgeLimits limits, std::vector<Route> routes, EdgeHooks hooks)
    : impl_(std::make_unique<Impl>(limits, std::move(routes), std::move(hooks))) {}

HttpEdge::~HttpEdge() = default;

Expected<int> HttpEdge::bind(const std::string& host, int port) {
  return impl_->bind(host, port);
}

void HttpEdge::run() {
  impl_->run();
}

void HttpEdge::stop_accepting() {
  impl_->stop_accepting();
}

void HttpEdge::stop() {
  impl_->stop();
}

int HttpEdge::open_connections() const {
  return impl_->open_connections();
}

int HttpEdge::effective_max_connections() const {
  return impl_->max_connections();
}

}  // namespace spectrum::server
