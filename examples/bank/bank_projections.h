// The bank's projections, registered together: the read side of the bank example.
//
//   auto engine = triad::ProjectionEngine::Open(store.get(), triad::EngineOptions{});
//   bank::RegisterBankProjections(**engine);
//   (*engine)->Start();
//   triad::Query by_owner;
//   by_owner.filters = {{.field = "owner", .op = triad::FilterOp::kEq, .values = {"Ada"}}};
//   auto page = (*engine)->Find(bank::kAccountsCollection, by_owner);
//
// - accounts          (accounts_projection.h): one document per account; by owner, branch,
//                     status, balance.
// - branch_totals     (branch_totals_projection.h): one document per branch (multi-stream).
// - dormant_accounts  (dormant_accounts_projection.h): accounts without activity for N days
//                     (clock-triggered).
//
// Thread-safety: as ProjectionEngine::Register.
#pragma once

#include "bank/accounts_projection.h"
#include "bank/branch_totals_projection.h"
#include "bank/dormant_accounts_projection.h"

#include "triad/projection_engine.h"
#include "triad/status.h"

namespace bank {

struct BankProjectionOptions {
  DormantOptions dormant;
};

// Registers the three projections. Registering on an engine whose read model already holds them
// resumes them from their checkpoints. Errors: those of ProjectionEngine::Register, naming the
// projection.
triad::Status RegisterBankProjections(triad::ProjectionEngine& engine,
                                      const BankProjectionOptions& options = {});

}  // namespace bank
