// Aligned plain-text tables for people: `triad read`, `events`, `streams`.
//
// Output may be long (a whole log) or endless (`events --follow`), so rows are not buffered until
// the end: the first batch of rows fixes the column widths and prints the header, later batches
// reuse those widths (a longer cell pushes its row out rather than realigning what was printed).
#pragma once

#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

namespace triad::cli {

class TableWriter {
 public:
  struct Column {
    std::string header;
    // Numbers read best right-aligned.
    bool align_right = false;
  };
  using Row = std::vector<std::string>;

  // Writes to `out`, which must outlive the writer. `bold_header`: style the header with ANSI
  // bold (only when the output is a terminal).
  TableWriter(std::ostream& out, std::vector<Column> columns, bool bold_header);

  // Prints `rows` (each with one cell per column), preceded by the header on the first call with
  // rows. Control characters in cells become spaces, so a cell never breaks a line or sends
  // escape sequences to a terminal. The last column is not padded.
  void Write(const std::vector<Row>& rows);

  // True iff at least one row was written.
  bool wrote_rows() const { return !widths_.empty(); }

 private:
  void WriteRow(const Row& cells, bool header);

  std::ostream& out_;
  std::vector<Column> columns_;
  bool bold_header_;
  std::vector<size_t> widths_;  // fixed by the first Write() with rows
};

}  // namespace triad::cli
