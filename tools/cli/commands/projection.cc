// `triad projection ACTION NAME`: operator actions on a projection (pause, resume, reset, skip,
// trigger, deploy, promote), optionally waiting with a progress bar until it has caught up.
#include "cli/client/wire_json.h"
#include "cli/commands/command.h"
#include "cli/option_checks.h"
#include "cli/progress.h"

#include "triad/clock.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>

namespace triad::cli {
namespace {

// How often --wait looks at the projection's progress.
constexpr int64_t kPollMicros = 200'000;

const std::map<std::string, ProjectionActionKind>& Actions() {
  static const auto* actions = new std::map<std::string, ProjectionActionKind>{
      {"pause", ProjectionActionKind::kPause},     {"resume", ProjectionActionKind::kResume},
      {"reset", ProjectionActionKind::kReset},     {"skip", ProjectionActionKind::kSkip},
      {"trigger", ProjectionActionKind::kTrigger}, {"deploy", ProjectionActionKind::kDeploy},
      {"promote", ProjectionActionKind::kPromote},
  };
  return *actions;
}

std::string Describe(const ProjectionStatus& s) {
  std::string text = s.name + "@" + std::to_string(s.version) + ": " +
                     std::string(ProjectionStateName(s.state)) + ", checkpoint " +
                     std::to_string(s.checkpoint) + " of " + std::to_string(s.head_position) +
                     (s.serving ? ", serving" : ", not serving");
  if (!s.last_error.empty()) text += ", last error: " + s.last_error;
  return text;
}

class ProjectionCommand final : public Command {
 public:
  CLI::App* Register(CLI::App& root) override {
    CLI::App* app = root.add_subcommand("projection",
                                        "Pause, resume, reset, skip, trigger, deploy or "
                                        "promote a projection");
    app->add_option("ACTION", action_, "pause, resume, reset, skip, trigger, deploy or promote")
        ->required()
        ->check(
            CLI::IsMember({"pause", "resume", "reset", "skip", "trigger", "deploy", "promote"}));
    app->add_option("NAME", name_, "The projection's name")->required();
    app->add_option("--version", version_,
                    "The version to act on (default: the serving one; promote: the newest; "
                    "deploy: the next)")
        ->check(PositiveInteger())
        ->option_text("N");
    app->add_option("--up-to", up_to_, "trigger: run up to position P, then pause")
        ->check(PositiveInteger())
        ->option_text("P");
    app->add_option("--file", file_, "deploy: the Lua script")
        ->check(CLI::ExistingFile)
        ->option_text("SCRIPT.lua");
    app->add_flag("--wait", wait_,
                  "reset, trigger, deploy: wait until the projection has caught up (to the head "
                  "when the wait starts, or to --up-to if lower), with a progress bar on a "
                  "terminal; ends early when it faults or pauses");
    app->footer(VerbFooter(
        "Act on projection NAME (its serving version unless --version N) and print its status "
        "afterwards. pause and resume stop and restart it (resume also retries a faulted one); "
        "reset drops its documents and rebuilds it from position 0; skip gets a faulted one "
        "past the event it failed on (recorded as a dead letter) and resumes it; trigger runs "
        "it now (a paused one up to the head, then it pauses again; --up-to P: up to P, then "
        "pause); deploy sends a Lua script (--file) that builds as a new version beside the "
        "serving one; promote makes the newest version serve queries once it has caught up. "
        "With --data no handlers run in this process: pause, resume, reset, skip and promote "
        "act on the stored records, while trigger, deploy and --wait need --url (the server "
        "runs the handlers). Exits 4 if there is no such projection, 1 if the action does not "
        "fit its state (promote while behind, skip while not faulted, a retired version) or it "
        "faults or pauses while waiting."));
    return app;
  }

  Status Execute(Context& ctx) override {
    ProjectionAction action{.kind = Actions().at(action_),
                            .name = name_,
                            .version = version_.value_or(0),
                            .up_to = up_to_,
                            .source = {},
                            .wait = wait_};
    if (up_to_ && action.kind != ProjectionActionKind::kTrigger) {
      return InvalidArgumentError("--up-to is for trigger only");
    }
    if (file_ && action.kind != ProjectionActionKind::kDeploy) {
      return InvalidArgumentError("--file is for deploy only");
    }
    if (wait_ && action.kind != ProjectionActionKind::kReset &&
        action.kind != ProjectionActionKind::kTrigger &&
        action.kind != ProjectionActionKind::kDeploy) {
      return InvalidArgumentError("--wait is for reset, trigger and deploy only");
    }
    if (action.kind == ProjectionActionKind::kDeploy) {
      if (!file_) return InvalidArgumentError("deploy needs --file SCRIPT.lua");
      std::ifstream in(*file_, std::ios::binary);
      std::stringstream text;
      text << in.rdbuf();
      if (!in) return InvalidArgumentError("cannot read --file '" + *file_ + "'");
      action.source = text.str();
    }
    auto client = ctx.client();
    if (!client.ok()) return client.status();
    auto status = (*client)->ActOnProjection(action);
    if (!status.ok()) return status.status();
    if (wait_) {
      // Not past the head: a wait for events nobody has appended yet might never end.
      const Position target =
          std::min(up_to_.value_or(status->head_position), status->head_position);
      status = WaitUntilCaughtUp(ctx, **client, *status, target,
                                 action.kind == ProjectionActionKind::kTrigger);
      if (!status.ok()) return status.status();
    }
    if (ctx.global.json) {
      ctx.io.out << ProjectionStatusToJson(*status) << '\n';
    } else {
      ctx.io.out << action_ << ": " << Describe(*status) << '\n';
    }
    return Status::OK();
  }

 private:
  // Polls the version acted on until its checkpoint reaches `target`, drawing progress on
  // stderr when it is a terminal. A version that pauses first ends the wait: for a trigger that
  // is where it was asked to stop (a run "up to P then pause" whose P was passed by the head
  // while the action answered), otherwise nothing would move it on. Errors: kCancelled when
  // interrupted (the projection goes on), kFailedPrecondition when it faults, is retired, or
  // (not a trigger) pauses.
  static Result<ProjectionStatus> WaitUntilCaughtUp(const Context& ctx, Client& client,
                                                    ProjectionStatus status, Position target,
                                                    bool trigger) {
    ProgressBar bar(ctx.io.err, ctx.io.stderr_is_tty);
    Clock& clock = *RealClock();
    while (true) {
      target = std::max<Position>(target, 0);
      bar.Update(status.checkpoint, target, status.events_per_second);
      if (status.checkpoint >= target) break;
      if (status.state == ProjectionState::kFaulted) {
        bar.Finish();
        return FailedPreconditionError("projection " + status.name + "@" +
                                       std::to_string(status.version) + " faulted at position " +
                                       std::to_string(status.last_error_position) + ": " +
                                       status.last_error);
      }
      if (status.state == ProjectionState::kPaused || status.state == ProjectionState::kRetired) {
        bar.Finish();
        if (trigger && status.state == ProjectionState::kPaused) return status;
        return FailedPreconditionError(
            "projection " + status.name + "@" + std::to_string(status.version) + " is " +
            std::string(ProjectionStateName(status.state)) + " at checkpoint " +
            std::to_string(status.checkpoint) + " of " + std::to_string(target) +
            (status.state == ProjectionState::kPaused
                 ? ": nothing moves it on (`triad projection resume` or `trigger` runs it)"
                 : ""));
      }
      if (ctx.stop_requested()) {
        bar.Finish();
        return CancelledError("interrupted; the projection goes on in the background");
      }
      clock.SleepForMicros(kPollMicros);
      auto next = client.GetProjection(status.name, status.version);
      if (!next.ok()) return next.status();
      status = std::move(*next);
    }
    bar.Finish();
    return status;
  }

  std::string action_;
  std::string name_;
  std::optional<int32_t> version_;
  std::optional<int64_t> up_to_;
  std::optional<std::string> file_;
  bool wait_ = false;
};

}  // namespace

std::unique_ptr<Command> NewProjectionCommand() { return std::make_unique<ProjectionCommand>(); }

}  // namespace triad::cli
