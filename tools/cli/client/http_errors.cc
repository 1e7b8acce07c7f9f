#include "cli/client/http_errors.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <utility>

#include "server/http_client.h"

namespace triad::cli {

Status StatusOfErrorResponse(int http_status, std::string_view body) {
  Status status = server::ErrorOfResponse(server::ClientResponse{
      .status = http_status, .content_type = {}, .body = std::string(body), .headers = {}});
  if (http_status != 401 && http_status != 403) return status;
  const nlohmann::json json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  std::string name = http_status == 401 ? "unauthorized" : "forbidden";
  if (json.is_object() && json.contains("error") && json["error"].is_object() &&
      json["error"].value("code", nlohmann::json()).is_string()) {
    name = json["error"]["code"].get<std::string>();
  }
  return Status(status.code(), status.message() + " (HTTP " + std::to_string(http_status) + " " +
                                   name + "; pass a token with --token or $TRIAD_TOKEN)");
}

}  // namespace triad::cli
