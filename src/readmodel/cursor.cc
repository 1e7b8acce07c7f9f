#include "readmodel/cursor.h"

#include <bit>

namespace triad::internal::readmodel {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr uint8_t kFormat = 1;

int DecodeChar(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

std::string Base64(std::string_view bytes) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (const char c : bytes) {
    acc = (acc << 8) | static_cast<unsigned char>(c);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 0x3F]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 0x3F]);
  return out;
}

bool Unbase64(std::string_view text, std::string& out) {
  uint32_t acc = 0;
  int bits = 0;
  for (const char c : text) {
    const int v = DecodeChar(c);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return true;
}

void PutU64(std::string& out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

bool GetU64(std::string_view& in, uint64_t& v) {
  if (in.size() < 8) return false;
  v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(in[static_cast<size_t>(i)]);
  in.remove_prefix(8);
  return true;
}

}  // namespace

uint64_t Fingerprint(std::string_view bytes) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (const char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::string EncodeCursor(const Cursor& cursor) {
  std::string bytes;
  bytes.push_back(static_cast<char>(kFormat));
  PutU64(bytes, cursor.fingerprint);
  bytes.push_back(static_cast<char>(cursor.kind));
  switch (cursor.kind) {
    case Cursor::Kind::kString:
      PutU64(bytes, cursor.text.size());
      bytes += cursor.text;
      break;
    case Cursor::Kind::kNumber:
      PutU64(bytes, std::bit_cast<uint64_t>(cursor.number));
      break;
    case Cursor::Kind::kBool:
      bytes.push_back(cursor.boolean ? 1 : 0);
      break;
    case Cursor::Kind::kId:
    case Cursor::Kind::kNull:
      break;
  }
  bytes += cursor.id;
  return Base64(bytes);
}

Result<Cursor> DecodeCursor(std::string_view text) {
  const Status bad = InvalidArgumentError(
      "the cursor ('after') is malformed; pass the next_cursor of the previous page unchanged");
  std::string bytes;
  if (!Unbase64(text, bytes)) return bad;
  std::string_view in = bytes;
  Cursor cursor;
  if (in.size() < 10 || static_cast<uint8_t>(in[0]) != kFormat) return bad;
  in.remove_prefix(1);
  if (!GetU64(in, cursor.fingerprint)) return bad;
  const auto kind = static_cast<uint8_t>(in[0]);
  in.remove_prefix(1);
  if (kind > static_cast<uint8_t>(Cursor::Kind::kBool)) return bad;
  cursor.kind = static_cast<Cursor::Kind>(kind);
  switch (cursor.kind) {
    case Cursor::Kind::kString: {
      uint64_t size = 0;
      if (!GetU64(in, size) || size > in.size()) return bad;
      cursor.text.assign(in.substr(0, size));
      in.remove_prefix(size);
      break;
    }
    case Cursor::Kind::kNumber: {
      uint64_t bits = 0;
      if (!GetU64(in, bits)) return bad;
      cursor.number = std::bit_cast<double>(bits);
      break;
    }
    case Cursor::Kind::kBool:
      if (in.empty() || static_cast<uint8_t>(in[0]) > 1) return bad;
      cursor.boolean = in[0] == 1;
      in.remove_prefix(1);
      break;
    case Cursor::Kind::kId:
    case Cursor::Kind::kNull:
      break;
  }
  if (in.empty()) return bad;  // ids are never empty
  cursor.id.assign(in);
  return cursor;
}

}  // namespace triad::internal::readmodel
