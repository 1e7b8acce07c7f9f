#include "bench_util.h"

#include "util/uuid.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdlib.h>  // mkdtemp
#include <system_error>

namespace triad::bench {
namespace {

constexpr const char* kMerchants[] = {
    "Corner Bakery",   "City Transit",  "Green Grocer", "Book Nook",      "Cloud Hosting",
    "Fuel Station 12", "Pharmacy Plus", "Music Stream", "Hardware Depot", "Coffee Roasters"};

void AppendField(std::string& out, std::string_view field) {
  const auto n = static_cast<uint32_t>(field.size());
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(n >> (8 * i)));
  out.append(field);
}

}  // namespace

void Die(std::string_view what) {
  std::fprintf(stderr, "triad_bench: %.*s\n", static_cast<int>(what.size()), what.data());
  // Die may run on a worker thread while others are mid-benchmark: skip static destructors
  // and atexit handlers (std::exit is not thread-safe) but keep the progress already printed.
  std::fflush(nullptr);
  std::_Exit(1);
}

std::string ErrnoText(int error) { return std::generic_category().message(error); }

void CheckOk(const Status& s, std::string_view what) {
  if (!s.ok()) Die(std::string(what) + ": " + s.ToString());
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

double Percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
  return values[std::clamp<size_t>(rank, 1, values.size()) - 1];
}

std::string EventFactory::NewUuidV7() {
  const auto millis = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                std::chrono::system_clock::now().time_since_epoch())
                                                .count());
  const uint64_t r1 = rng_();
  return internal::FormatUuidV7(millis, r1, rng_());
}

BenchEvent EventFactory::Make(uint64_t i) {
  BenchEvent e;
  e.id = NewUuidV7();
  e.type = std::string(kEventTypes[i % std::size(kEventTypes)]);
  const uint64_t r = rng_();
  char data[320];
  // A card payment as a bank's ledger would record it: about 200 bytes, every value varying.
  const int n = std::snprintf(
      data, sizeof data,
      R"({"account_id":"acc-%06)" PRIu64 R"(","amount":{"units":%)" PRIu64
      R"(,"currency":"EUR"},"reference":"INV-2026-%08)" PRIu64
      R"(","merchant":"%s","channel":"card","note":"monthly statement item","balance_after":%)" PRIu64
      "}",
      r % 1000000, (r >> 20) % 100000, i, kMerchants[(r >> 40) % std::size(kMerchants)],
      (r >> 24) % 10000000);
  e.data.assign(data, static_cast<size_t>(std::clamp(n, 0, static_cast<int>(sizeof data) - 1)));
  e.correlation_id = NewUuidV7();
  e.metadata = R"({"correlation_id":")" + e.correlation_id + R"(","user":"user-)" +
               std::to_string(r % 500) + R"("})";
  return e;
}

std::vector<BenchEvent> EventFactory::MakeMany(uint64_t first, size_t n) {
  std::vector<BenchEvent> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) out.push_back(Make(first + i));
  return out;
}

NewEvent ToNewEvent(const BenchEvent& e) {
  return NewEvent{.id = "", .type = e.type, .data = e.data, .metadata = e.metadata};
}

std::string ToLogRecord(std::string_view stream, int64_t version, const BenchEvent& e) {
  std::string out;
  out.reserve(64 + stream.size() + e.id.size() + e.type.size() + e.data.size() + e.metadata.size());
  AppendField(out, e.id);
  AppendField(out, stream);
  AppendField(out, std::to_string(version));
  AppendField(out, e.type);
  AppendField(out, e.data);
  AppendField(out, e.metadata);
  return out;
}

ScratchDir::ScratchDir(const std::string& parent, bool keep) : keep_(keep) {
  std::error_code ec;
  const std::filesystem::path base =
      parent.empty() ? std::filesystem::temp_directory_path(ec) : std::filesystem::path(parent);
  if (ec) Die("no temp directory: " + ec.message());
  std::string pattern = (base / "triad_bench.XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) Die("cannot create a directory under " + base.string());
  path_ = pattern;
}

ScratchDir::~ScratchDir() {
  if (keep_) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string ScratchDir::File(std::string_view name) const {
  return path_ + "/" + std::string(name);
}

void ScratchDir::RemoveDb(std::string_view name) const {
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    std::filesystem::remove(File(name) + suffix, ec);
  }
}

std::string WithCommas(double value) {
  const auto v = static_cast<int64_t>(std::llround(value));
  std::string digits = std::to_string(v < 0 ? -v : v);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return v < 0 ? "-" + out : out;
}

}  // namespace triad::bench
