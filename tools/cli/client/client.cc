#include "cli/client/client.h"

namespace triad::cli {

std::string_view ProjectionActionName(ProjectionActionKind kind) {
  switch (kind) {
    case ProjectionActionKind::kPause:
      return "pause";
    case ProjectionActionKind::kResume:
      return "resume";
    case ProjectionActionKind::kReset:
      return "reset";
    case ProjectionActionKind::kSkip:
      return "skip";
    case ProjectionActionKind::kTrigger:
      return "trigger";
    case ProjectionActionKind::kPromote:
      return "promote";
    case ProjectionActionKind::kDeploy:
      return "deploy";
  }
  return "unknown";
}

}  // namespace triad::cli
