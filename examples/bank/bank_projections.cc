#include "bank/bank_projections.h"

#include <string>
#include <utility>
#include <vector>

namespace bank {

triad::Status RegisterBankProjections(triad::ProjectionEngine& engine,
                                      const BankProjectionOptions& options) {
  std::vector<triad::ProjectionDefinition> definitions;
  definitions.push_back(AccountsProjection());
  definitions.push_back(BranchTotalsProjection());
  definitions.push_back(DormantAccountsProjection(options.dormant));
  for (triad::ProjectionDefinition& definition : definitions) {
    const std::string name = definition.name;
    if (triad::Status s = engine.Register(std::move(definition)); !s.ok()) {
      return s.Annotate("registering projection " + name);
    }
  }
  return triad::Status::OK();
}

}  // namespace bank
