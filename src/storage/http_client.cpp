#include "storage/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>

#include "common/text.h"

namespace spectrum::storage {
namespace {

struct CurlHandleDeleter {
  void operator()(CURL* handle) const noexcept { curl_easy_cleanup(handle); }
};
struct CurlListDeleter {
  void operator()(curl_slist* list) const noexcept { curl_slist_free_all(list); }
};

CURL* thread_handle() {
  static std::once_flag global_init;
  std::call_once(global_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  thread_local std::unique_ptr<CURL, CurlHandleDeleter> handle(curl_easy_init());
  if (handle) curl_easy_reset(handle.get());
  return handle.get();
}

struct Transfer {
  CURL* handle = nullptr;
  HttpResponse* response = nullptr;
  std::FILE* sink = nullptr;
  bool sink_write_failed = false;
  // Body source: a string or a file region.
  std::string_view body;
  std::FILE* body_file = nullptr;
  std::uint64_t remaining = 0;
};

std::size_t on_write(char* data, std::size_t size, std::size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const std::size_t bytes = size * count;
  long status = 0;
  curl_easy_getinfo(transfer->handle, CURLINFO_RESPONSE_CODE, &status);
  if (transfer->sink != nullptr && status >= 200 && status < 300) {
    if (std::fwrite(data, 1, bytes, transfer->sink) != bytes) {
      transfer->sink_write_failed = true;
      return 0;  // aborts the transfer
    }
    return bytes;
  }
  transfer->response->body.append(data, bytes);
  return bytes;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const std::size_t bytes = size * count;
  std::string_view line(data, bytes);
  if (line.starts_with("HTTP/")) {
    transfer->response->headers.clear();  // a new response (after 100 Continue or a redirect)
    return bytes;
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return bytes;
  std::string name = ascii_lower(line.substr(0, colon));
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
    value.remove_suffix(1);
  transfer->response->headers.emplace_back(std::move(name), std::string(value));
  return bytes;
}

std::size_t on_read(char* buffer, std::size_t size, std::size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const std::size_t wanted = static_cast<std::size_t>(std::min<std::uint64_t>(size * count, transfer->remaining));
  std::size_t given = 0;
  if (transfer->body_file != nullptr) {
    given = std::fread(buffer, 1, wanted, transfer->body_file);
    if (given < wanted && std::ferror(transfer->body_file) != 0) return CURL_READFUNC_ABORT;
  } else {
    const std::size_t offset = transfer->body.size() - static_cast<std::size_t>(transfer->remaining);
    std::copy_n(transfer->body.data() + offset, wanted, buffer);
    given = wanted;
  }
  transfer->remaining -= given;
  return given;
}

int seek_to_start_unsupported(void* /*user*/, curl_off_t /*offset*/, int /*origin*/) {
  return CURL_SEEKFUNC_CANTSEEK;
}

Error transport_error(CURLcode code, const HttpRequest& request) {
  const std::string what = request.method + " " + redact_url(request.url) + ": " + curl_easy_strerror(code);
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return make_error(ErrorCode::kTimeout, what);
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return make_error(ErrorCode::kInvalidArgument, what);
    default:
      return make_error(ErrorCode::kUnavailable, what);
  }
}

}  // namespace

std::string HttpResponse::header(std::string_view lower_case_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_case_name) return value;
  }
  return {};
}

std::string redact_url(std::string_view url) {
  if (const auto scheme = url.find("://"); scheme != std::string_view::npos) url.remove_prefix(scheme + 3);
  return std::string(url.substr(0, url.find_first_of("?#")));
}

ErrorCode error_code_for_http_status(long status) noexcept {
  if (status == 404 || status == 410) return ErrorCode::kNotFound;
  if (status == 401 || status == 403) return ErrorCode::kPermissionDenied;
  if (status == 408 || status == 504) return ErrorCode::kTimeout;
  if (status == 429 || status >= 500) return ErrorCode::kUnavailable;
  if (status == 412) return ErrorCode::kUnavailable;  // precondition: the object changed under us; re-observe
  if (status == 413) return ErrorCode::kTooLarge;
  return ErrorCode::kInvalidArgument;
}

Error http_status_error(long status, std::string_view what, std::string_view body) {
  std::string message = std::string(what) + ": HTTP " + std::to_string(status);
  // Google APIs answer {"error": {"message": ...}} or {"error": "...", "error_description": ...}.
  const nlohmann::json json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (json.is_object() && json.contains("error")) {
    const auto& error = json.at("error");
    if (error.is_object() && error.contains("message") && error.at("message").is_string()) {
      message += " (" + error.at("message").get<std::string>() + ")";
    } else if (error.is_string()) {
      message += " (" + error.get<std::string>() + ")";
    }
  }
  return make_error(error_code_for_http_status(status), std::move(message));
}

Expected<HttpResponse> http_send(const HttpRequest& request) {
  CURL* handle = thread_handle();
  if (handle == nullptr) return make_error(ErrorCode::kInternal, "libcurl could not create a handle");

  HttpResponse response;
  Transfer transfer;
  transfer.handle = handle;
  transfer.response = &response;
  transfer.sink = request.response_sink;

  std::unique_ptr<std::FILE, int (*)(std::FILE*)> body_file(nullptr, &std::fclose);
  const bool has_body =
      request.body_file.has_value() || !request.body.empty() || request.method == "POST" || request.method == "PUT";
  if (request.body_file) {
    body_file.reset(std::fopen(request.body_file->c_str(), "rb"));
    if (!body_file) return make_error(ErrorCode::kIoError, "cannot open " + request.body_file->string());
    if (fseeko(body_file.get(), static_cast<off_t>(request.body_offset), SEEK_SET) != 0) {
      return make_error(ErrorCode::kIoError, "cannot seek in " + request.body_file->string());
    }
    transfer.body_file = body_file.get();
    transfer.remaining = request.body_length;
  } else {
    transfer.body = request.body;
    transfer.remaining = request.body.size();
  }

  std::unique_ptr<curl_slist, CurlListDeleter> headers;
  for (const std::string& header : request.headers) headers.reset(curl_slist_append(headers.release(), header.c_str()));
  headers.reset(curl_slist_append(headers.release(), "Expect:"));  // no 100-continue round trip

  curl_easy_setopt(handle, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.connect_timeout.count()));
  curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  curl_easy_setopt(handle, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(handle, CURLOPT_LOW_SPEED_TIME, static_cast<long>(request.stall_timeout.count()));
  curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, &on_write);
  curl_easy_setopt(handle, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, &on_header);
  curl_easy_setopt(handle, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(handle, CURLOPT_ACCEPT_ENCODING, "");  // a gzip-served object arrives decoded, as stored
  if (has_body) {
    curl_easy_setopt(handle, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(handle, CURLOPT_READFUNCTION, &on_read);
    curl_easy_setopt(handle, CURLOPT_READDATA, &transfer);
    curl_easy_setopt(handle, CURLOPT_SEEKFUNCTION, &seek_to_start_unsupported);
    curl_easy_setopt(handle, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(transfer.remaining));
  }
  if (request.method == "HEAD") {
    curl_easy_setopt(handle, CURLOPT_NOBODY, 1L);
  } else if (request.method != "GET" || has_body) {
    curl_easy_setopt(handle, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }

  const CURLcode code = curl_easy_perform(handle);
  // The thread's handle outlives this call; never leave it pointing at this call's locals.
  curl_easy_setopt(handle, CURLOPT_HTTPHEADER, nullptr);
  if (transfer.sink_write_failed) {
    return make_error(ErrorCode::kIoError,
                      "cannot write the body of " + request.method + " " + redact_url(request.url));
  }
  if (code != CURLE_OK) return transport_error(code, request);
  curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

}  // namespace spectrum::storage
