#include "cli/table.h"

#include <algorithm>
#include <ostream>
#include <utility>

namespace triad::cli {
namespace {

constexpr std::string_view kBold = "\033[1m";
constexpr std::string_view kReset = "\033[0m";
constexpr std::string_view kGap = "  ";

std::string Sanitize(std::string_view cell) {
  std::string out(cell);
  for (char& c : out) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = ' ';
  }
  return out;
}

// Terminal columns taken by `text`: UTF-8 code points (continuation bytes do not count). Wide
// characters are rare in stream names and types, the columns that are aligned.
size_t DisplayWidth(std::string_view text) {
  return static_cast<size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

}  // namespace

TableWriter::TableWriter(std::ostream& out, std::vector<Column> columns, bool bold_header)
    : out_(out), columns_(std::move(columns)), bold_header_(bold_header) {}

void TableWriter::Write(const std::vector<Row>& rows) {
  if (rows.empty()) return;
  std::vector<Row> clean;
  clean.reserve(rows.size());
  for (const Row& row : rows) {
    Row cells;
    cells.reserve(row.size());
    for (const std::string& cell : row) cells.push_back(Sanitize(cell));
    clean.push_back(std::move(cells));
  }
  if (widths_.empty()) {
    widths_.resize(columns_.size());
    for (size_t i = 0; i < columns_.size(); ++i) widths_[i] = DisplayWidth(columns_[i].header);
    for (const Row& row : clean) {
      for (size_t i = 0; i < row.size() && i < widths_.size(); ++i) {
        widths_[i] = std::max(widths_[i], DisplayWidth(row[i]));
      }
    }
    Row header;
    for (const Column& column : columns_) header.push_back(column.header);
    WriteRow(header, /*header=*/true);
  }
  for (const Row& row : clean) WriteRow(row, /*header=*/false);
}

void TableWriter::WriteRow(const Row& cells, bool header) {
  std::string line;
  for (size_t i = 0; i < columns_.size(); ++i) {
    const std::string_view cell = i < cells.size() ? std::string_view(cells[i]) : "";
    const bool last = i + 1 == columns_.size();
    const size_t width = DisplayWidth(cell);
    const std::string pad(width < widths_[i] ? widths_[i] - width : 0, ' ');
    if (i > 0) line += kGap;
    if (columns_[i].align_right) {
      line += pad;
      line += cell;
    } else {
      line += cell;
      if (!last) line += pad;
    }
  }
  if (header && bold_header_) {
    out_ << kBold << line << kReset << '\n';
  } else {
    out_ << line << '\n';
  }
}

}  // namespace triad::cli
