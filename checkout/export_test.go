package checkout

// ReconcileBatch lets the tests know when one reconciler pass may have
// left due payments for the next.
const ReconcileBatch = reconcileBatch
