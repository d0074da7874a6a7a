#include "rlforge/feedback/server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "rlforge/core/error.h"
#include "rlforge/feedback/web.h"

namespace rlforge::feedback {
namespace {

using nlohmann::json;

std::string RandomToken() {
  std::ifstream urandom("/dev/urandom", std::ios::binary);
  unsigned char bytes[16];
  urandom.read(reinterpret_cast<char*>(bytes), sizeof bytes);
  if (!urandom) throw Error("feedback: cannot read /dev/urandom for a token");
  std::ostringstream hex;
  for (unsigned char b : bytes) hex << "0123456789abcdef"[b >> 4] << "0123456789abcdef"[b & 15];
  return hex.str();
}

void Reply(httplib::Response& res, int status, const json& body) {
  res.status = status;
  // bytes that are not UTF-8 (a request's path or id echoed back) become U+FFFD, not a throw
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void Fail(httplib::Response& res, int status, const std::string& message) {
  Reply(res, status, json{{"error", message}});
}

// The reason phrase of an HTTP status httplib answers by itself.
const char* StatusText(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 413:
      return "Payload Too Large";
    case 414:
      return "URI Too Long";
    case 416:
      return "Range Not Satisfiable";
    default:
      return "error";
  }
}

// A clip file name: letters, digits, '.', '_', '-', and no "..": nothing that leaves clips/.
bool SafeName(const std::string& name) {
  static const std::regex allowed("[A-Za-z0-9._-]+");
  return std::regex_match(name, allowed) && name.find("..") == std::string::npos;
}

}  // namespace

bool IsLoopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

namespace {

// httplib's server with its request processing reachable for an in-memory stream.
class InProcessServer : public httplib::Server {
 public:
  using httplib::Server::process_request;
};

// A request's bytes in, the response's bytes out.
class MemoryStream : public httplib::Stream {
 public:
  explicit MemoryStream(std::string_view in) : in_(in) {}
  bool is_readable() const override { return true; }
  bool is_writable() const override { return true; }
  ssize_t read(char* ptr, size_t size) override {
    const size_t n = std::min(size, in_.size() - pos_);
    std::copy_n(in_.data() + pos_, n, ptr);
    pos_ += n;
    return static_cast<ssize_t>(n);
  }
  ssize_t write(const char* ptr, size_t size) override {
    out.append(ptr, size);
    return static_cast<ssize_t>(size);
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = "127.0.0.1", port = 0;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = "127.0.0.1", port = 0;
  }
  socket_t socket() const override { return INVALID_SOCKET; }
  std::string out;  // the response

 private:
  std::string_view in_;
  size_t pos_ = 0;
};

}  // namespace

FeedbackServer::FeedbackServer(FeedbackStore& store, ServerConfig config)
    : store_(store), config_(std::move(config)), server_(std::make_unique<InProcessServer>()) {
  if (!IsLoopback(config_.host) && config_.token.empty()) config_.token = RandomToken();
  Routes();
}

FeedbackServer::~FeedbackServer() { Stop(); }

bool FeedbackServer::Authorized(const std::string& header, const std::string& query_token) const {
  if (config_.token.empty()) return true;
  return header == "Bearer " + config_.token || query_token == config_.token;
}

void FeedbackServer::Routes() {
  httplib::Server& s = *server_;
  // SO_REUSEADDR only: httplib's default SO_REUSEPORT lets a second server bind the same port
  // and take half the requests (of another run)
  s.set_socket_options([this](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    listen_socket_ = sock;  // the last one offered is the one bound
  });
  s.set_payload_max_length(1 << 20);  // answers are a few bytes; a bigger body is a 413
  // every error answers JSON, also those httplib makes itself (400 without a body, 413, 404)
  s.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty())
      Fail(res, res.status, std::to_string(res.status) + " " + StatusText(res.status));
  });
  s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    Fail(res, 500, "internal error");
  });
  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (Authorized(req.get_header_value("Authorization"), req.get_param_value("token")))
      return httplib::Server::HandlerResponse::Unhandled;
    Fail(res, 401, "missing or wrong token: send \"Authorization: Bearer TOKEN\" or ?token=TOKEN");
    return httplib::Server::HandlerResponse::Handled;
  });
  const auto asset = [&s](const std::string& path, const std::string& name, const char* type) {
    s.Get(path, [name, type](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(*WebAsset(name)), type);
    });
  };
  // the page's script and style links carry the token too, since every request needs it
  s.Get("/", [this](const httplib::Request&, httplib::Response& res) {
    std::string page(*WebAsset("index.html"));
    if (!config_.token.empty()) {
      for (const std::string file : {"app.js", "app.css"}) {
        const std::string link = "\"" + file + "\"";
        const size_t at = page.find(link);
        if (at != std::string::npos)
          page.replace(at, link.size(), "\"" + file + "?token=" + config_.token + "\"");
      }
    }
    res.set_content(page, "text/html; charset=utf-8");
  });
  asset("/app.js", "app.js", "text/javascript; charset=utf-8");
  asset("/app.css", "app.css", "text/css; charset=utf-8");

  s.Get("/api/pairs", [this](const httplib::Request&, httplib::Response& res) {
    json pending = json::array();
    for (const Query& q : store_.Pending()) {
      pending.push_back({{"id", q.id},
                         {"session", q.session},
                         {"clip0", "/clips/" + q.clip0},
                         {"clip1", "/clips/" + q.clip1}});
    }
    Reply(res, 200, json{{"pending", pending}, {"answered", store_.answered()}});
  });

  s.Get(R"(/clips/(.*))", [this](const httplib::Request& req, httplib::Response& res) {
    const std::string name = req.matches[1];
    if (!SafeName(name)) return Fail(res, 400, "bad clip name \"" + name + "\"");
    const std::filesystem::path path = std::filesystem::path(store_.clip_dir()) / name;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec))
      return Fail(res, 404, "no clip \"" + name + "\"");
    std::ifstream in(path, std::ios::binary);
    if (!in) return Fail(res, 404, "no clip \"" + name + "\"");
    const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const bool webm = name.size() > 5 && name.compare(name.size() - 5, 5, ".webm") == 0;
    res.set_content(data, webm ? "video/webm" : "video/mp4");
  });

  s.Post("/api/label", [this](const httplib::Request& req, httplib::Response& res) {
    const json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded()) return Fail(res, 400, "malformed JSON");
    if (!body.is_object() || !body.contains("id") || !body["id"].is_string() ||
        !body.contains("label") || !body["label"].is_string())
      return Fail(res, 400, "expected {\"id\": string, \"label\": string}");
    const std::string id = body["id"], label = body["label"];
    const std::optional<Answer> answer = ParseAnswer(label);
    if (!answer)
      return Fail(res, 400, "label must be left, right, equal or skip, got \"" + label + "\"");
    switch (store_.Submit(id, *answer)) {
      case FeedbackStore::Result::kUnknown:
        return Fail(res, 404, "unknown pair id \"" + id + "\"");
      case FeedbackStore::Result::kConflict:
        return Fail(res, 409,
                    "pair \"" + id + "\" was already answered " + ToString(*store_.AnswerOf(id)));
      case FeedbackStore::Result::kDuplicate:
        return Reply(res, 200, json{{"ok", true}, {"id", id}, {"duplicate", true}});
      case FeedbackStore::Result::kOk:
        return Reply(res, 200, json{{"ok", true}, {"id", id}});
    }
  });

  s.Get("/api/status", [this](const httplib::Request&, httplib::Response& res) {
    std::lock_guard lock(status_mutex_);
    const RunStatus& st = status_;
    Reply(res, 200,
          json{{"state", st.state},
               {"step", st.step},
               {"total_steps", st.total_steps},
               {"sps", st.sps},
               {"queries_asked", st.queries_asked},
               {"max_feedback", st.max_feedback},
               {"answered", store_.answered()},
               {"pending", store_.Pending().size()},
               {"returns", st.returns},
               {"model_returns", st.model_returns}});
  });
}

void FeedbackServer::Start() {
  httplib::Server& s = *server_;
  if (config_.port == 0) {
    port_ = s.bind_to_any_port(config_.host);
  } else {
    port_ = s.bind_to_port(config_.host, config_.port) ? config_.port : -1;
  }
  if (port_ <= 0)
    throw Error("feedback: cannot listen on " + config_.host + ":" + std::to_string(config_.port) +
                ": port " + std::to_string(config_.port) +
                " is in use (another labeling app?) or not allowed; choose another --port or 0");
  // httplib listens with a backlog of 5: 32 labelers connecting at once overflow it and get
  // their connections reset; listening again on the bound socket only raises the backlog
  ::listen(listen_socket_, SOMAXCONN);
  thread_ = std::thread([&s] { s.listen_after_bind(); });
  // httplib's stop() does nothing until the loop runs: a Stop() right after Start() would hang
  while (!s.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

void FeedbackServer::Stop() {
  if (!thread_.joinable()) return;
  server_->stop();
  thread_.join();
}

std::string FeedbackServer::Respond(std::string_view raw_request) {
  MemoryStream stream(raw_request);
  bool closed = false;
  static_cast<InProcessServer&>(*server_).process_request(stream, true, closed,
                                                          [](httplib::Request&) {});
  return std::move(stream.out);
}

std::string FeedbackServer::url() const {
  return "http://" + config_.host + ":" + std::to_string(port_) + "/" +
         (config_.token.empty() ? "" : "?token=" + config_.token);
}

void FeedbackServer::SetStatus(RunStatus status) {
  std::lock_guard lock(status_mutex_);
  status_ = std::move(status);
}

}  // namespace rlforge::feedback
