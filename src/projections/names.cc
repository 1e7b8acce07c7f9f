// The names of the projection enums, and the small value helpers of projection(_engine).h.
#include "triad/projection.h"
#include "triad/projection_engine.h"

#include <string>
#include <string_view>

namespace triad {

std::string_view ErrorPolicyName(ErrorPolicy policy) {
  switch (policy) {
    case ErrorPolicy::kStop:
      return "stop";
    case ErrorPolicy::kSkip:
      return "skip";
    case ErrorPolicy::kDeadLetter:
      return "dead_letter";
  }
  return "unknown";
}

std::string_view TriggerModeName(TriggerMode mode) {
  switch (mode) {
    case TriggerMode::kPush:
      return "push";
    case TriggerMode::kManual:
      return "manual";
  }
  return "unknown";
}

std::string ProjectionKeyString(std::string_view name, int32_t version) {
  std::string key(name);
  key += '@';
  key += std::to_string(version);
  return key;
}

std::string_view ProjectionStateName(ProjectionState state) {
  switch (state) {
    case ProjectionState::kRunning:
      return "running";
    case ProjectionState::kPaused:
      return "paused";
    case ProjectionState::kCaughtUp:
      return "caught_up";
    case ProjectionState::kRebuilding:
      return "rebuilding";
    case ProjectionState::kFaulted:
      return "faulted";
    case ProjectionState::kRetired:
      return "retired";
  }
  return "unknown";
}

bool ProjectionDiff::identical() const {
  for (const CollectionDiff& c : collections) {
    if (c.only_in_old != 0 || c.only_in_new != 0 || c.changed != 0) return false;
  }
  return true;
}

}  // namespace triad
