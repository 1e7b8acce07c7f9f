// `triad groups [NAME] [--parked]`: consumer groups, one group's state, or its parked messages.
#include "cli/commands/command.h"
#include "cli/option_checks.h"
#include "cli/table.h"

#include "triad/event_json.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace triad::cli {
namespace {

using Json = nlohmann::ordered_json;

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ",") + item;
  return out.empty() ? "*" : out;
}

Json GroupJson(const GroupInfo& g) {
  Json members = Json::array();
  for (const GroupMemberInfo& m : g.members) {
    members.push_back({{"name", m.name},
                       {"last_seen", FormatTimestamp(m.last_seen_us)},
                       {"in_flight", m.in_flight},
                       {"streams", m.streams}});
  }
  return {{"name", g.name},
          {"settings",
           {{"event_types", g.settings.event_types},
            {"categories", g.settings.categories},
            {"start_position", g.settings.start_position},
            {"max_attempts", g.settings.max_attempts},
            {"ack_timeout_ms", g.settings.ack_timeout_us / 1000},
            {"member_lease_ms", g.settings.member_lease_us / 1000},
            {"retry_backoff_ms", g.settings.retry_backoff_us / 1000},
            {"max_retry_backoff_ms", g.settings.max_retry_backoff_us / 1000}}},
          {"checkpoint", g.checkpoint},
          {"head_position", g.head_position},
          {"in_flight", g.in_flight},
          {"retrying", g.retrying},
          {"parked", g.parked},
          {"members", members}};
}

std::string Dump(const Json& json) {
  return json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

class GroupsCommand final : public Command {
 public:
  CLI::App* Register(CLI::App& root) override {
    CLI::App* app = root.add_subcommand("groups", "List consumer groups, or show one");
    app->add_option("NAME", name_, "A group: show its state and members");
    CLI::Option* parked = app->add_flag("--parked", parked_, "List NAME's parked messages");
    app->add_option("--from", from_position_, "With --parked: the first position (default: 1)")
        ->check(NonNegativeInteger())
        ->option_text("P")
        ->needs(parked);
    app->add_option("--limit", limit_, "With --parked: at most N messages (default: 1000)")
        ->check(PositiveInteger())
        ->option_text("N")
        ->needs(parked);
    app->footer(VerbFooter(
        "Without NAME, print every consumer group with its checkpoint, head, messages in "
        "flight, retrying and parked, and members. With NAME, print that group's settings and "
        "members; with --parked, its parked messages (position, stream, type, attempts, last "
        "error). Exits 4 if there is no such group."));
    return app;
  }

  Status Execute(Context& ctx) override {
    if (parked_ && name_.empty()) return InvalidArgumentError("--parked needs a group NAME");
    auto client = ctx.client();
    if (!client.ok()) return client.status();
    if (parked_) return PrintParked(ctx, **client);
    if (!name_.empty()) return PrintGroup(ctx, **client);
    auto groups = (*client)->ListGroups();
    if (!groups.ok()) return groups.status();
    if (ctx.global.json) {
      for (const GroupInfo& g : *groups) ctx.io.out << Dump(GroupJson(g)) << '\n';
      return Status::OK();
    }
    if (groups->empty()) {
      ctx.io.out << "(no groups)\n";
      return Status::OK();
    }
    TableWriter table(ctx.io.out,
                      {{"GROUP"},
                       {"CHECKPOINT", true},
                       {"HEAD", true},
                       {"IN_FLIGHT", true},
                       {"RETRYING", true},
                       {"PARKED", true},
                       {"MEMBERS", true}},
                      ctx.color());
    std::vector<TableWriter::Row> rows;
    for (const GroupInfo& g : *groups) {
      rows.push_back({g.name, std::to_string(g.checkpoint), std::to_string(g.head_position),
                      std::to_string(g.in_flight), std::to_string(g.retrying),
                      std::to_string(g.parked), std::to_string(g.members.size())});
    }
    table.Write(rows);
    return Status::OK();
  }

 private:
  Status PrintGroup(Context& ctx, Client& client) const {
    auto group = client.GetGroup(name_);
    if (!group.ok()) return group.status();
    if (ctx.global.json) {
      ctx.io.out << Dump(GroupJson(*group)) << '\n';
      return Status::OK();
    }
    const GroupInfo& g = *group;
    ctx.io.out << "group        " << g.name << '\n'
               << "types        " << Join(g.settings.event_types) << '\n'
               << "categories   " << Join(g.settings.categories) << '\n'
               << "checkpoint   " << g.checkpoint << " of " << g.head_position << '\n'
               << "in_flight    " << g.in_flight << '\n'
               << "retrying     " << g.retrying << '\n'
               << "parked       " << g.parked << '\n'
               << "max_attempts " << g.settings.max_attempts << '\n';
    if (g.members.empty()) {
      ctx.io.out << "(no members)\n";
      return Status::OK();
    }
    TableWriter table(ctx.io.out, {{"MEMBER"}, {"LAST_SEEN"}, {"IN_FLIGHT", true}, {"STREAMS"}},
                      ctx.color());
    std::vector<TableWriter::Row> rows;
    for (const GroupMemberInfo& m : g.members) {
      rows.push_back(
          {m.name, FormatTimestamp(m.last_seen_us), std::to_string(m.in_flight), Join(m.streams)});
    }
    table.Write(rows);
    return Status::OK();
  }

  Status PrintParked(Context& ctx, Client& client) const {
    auto parked = client.ListParked(name_, from_position_, static_cast<size_t>(limit_));
    if (!parked.ok()) return parked.status();
    if (ctx.global.json) {
      for (const ParkedMessage& p : *parked) {
        ctx.io.out << Dump({{"position", p.position},
                            {"stream", p.stream},
                            {"type", p.type},
                            {"attempts", p.attempts},
                            {"last_error", p.last_error},
                            {"parked_at", FormatTimestamp(p.parked_at_us)}})
                   << '\n';
      }
      return Status::OK();
    }
    if (parked->empty()) {
      ctx.io.out << "(no parked messages)\n";
      return Status::OK();
    }
    TableWriter table(ctx.io.out,
                      {{"POSITION", true},
                       {"STREAM"},
                       {"TYPE"},
                       {"ATTEMPTS", true},
                       {"PARKED_AT"},
                       {"LAST_ERROR"}},
                      ctx.color());
    std::vector<TableWriter::Row> rows;
    for (const ParkedMessage& p : *parked) {
      rows.push_back({std::to_string(p.position), p.stream, p.type, std::to_string(p.attempts),
                      FormatTimestamp(p.parked_at_us), p.last_error});
    }
    table.Write(rows);
    return Status::OK();
  }

  std::string name_;
  bool parked_ = false;
  int64_t from_position_ = 1;
  int64_t limit_ = 1000;
};

}  // namespace

std::unique_ptr<Command> NewGroupsCommand() { return std::make_unique<GroupsCommand>(); }

}  // namespace triad::cli
