#include "triad/expected_version.h"

#include <charconv>

namespace triad {

Result<ExpectedVersion> ExpectedVersion::Parse(std::string_view text) {
  if (text == "any") return Any();
  if (text == "no_stream") return NoStream();
  if (text == "exists") return Exists();
  StreamVersion version = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), version);
  if (ec != std::errc() || end != text.data() + text.size() || version < -1) {
    return InvalidArgumentError("expected version '" + std::string(text) +
                                "' is not any, no_stream, exists or an integer >= -1");
  }
  return Exact(version);
}

bool ExpectedVersion::Matches(StreamVersion current) const {
  switch (kind_) {
    case Kind::kAny:
      return true;
    case Kind::kNoStream:
      return current == kNoStreamVersion;
    case Kind::kExists:
      return current != kNoStreamVersion;
    case Kind::kExact:
      return current == version_;
  }
  return false;
}

std::string ExpectedVersion::ToString() const {
  switch (kind_) {
    case Kind::kAny:
      return "any";
    case Kind::kNoStream:
      return "no_stream";
    case Kind::kExists:
      return "exists";
    case Kind::kExact:
      return std::to_string(version_);
  }
  return "?";
}

}  // namespace triad
