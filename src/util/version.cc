#include "triad/version.h"

namespace triad {

const char* Version() { return TRIAD_VERSION_STRING; }

}  // namespace triad
