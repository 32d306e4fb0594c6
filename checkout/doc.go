// Package checkout sells held seats: payments (Stripe or the built-in test
// processor), orders and tickets, the confirmation email with a PDF, the
// Stripe webhook and the reconciler; and what follows the purchase: rotating
// entry codes and check-in (entry.go), transfers (transfer.go) and capped
// resale (resale.go) whose sellers are paid through the outbox
// (payouts.go), all following one ticket state machine (ticketstate.go);
// receipts numbered per organizer (receipt.go). It owns the payments,
// orders, tickets, webhook_events, transfers, listings, payouts,
// payout_accounts, organizers and receipt_counters tables; seat and hold
// transitions belong to seatmap and run inside checkout's transactions.
//
// The order of a sale (docs/architecture.md, "Money"): the payment row is written with the
// hold's move to payment_pending, before the provider is called; the
// provider authorizes (manual capture); one transaction converts the hold,
// writes the order and tickets and enqueues the confirmation; only then is
// the payment captured. If the hold was lost, the authorization is cancelled.
// A provider call whose outcome is unknown is settled by the reconciler,
// which asks the provider, and never creates a second intent: every call
// carries an idempotency key derived from the hold or the payment.
//
// Concurrency: every decision is taken under the payment row's lock (FOR
// UPDATE), which is always taken before seatmap's locks (hold rows, seats by
// id, account counters); listing, ticket and transfer rows come after
// seatmap's (accepting a transfer locks its transfer row first: no other
// path locks a transfer row and then something else). Every ticket move is
// one conditional UPDATE whose WHERE names the states it may start from. Any number of requests, webhooks and reconcilers
// may work one payment at once; exactly one converts it and captures it.
// An order becoming paid takes its organizer's receipt counter row after
// the payment, seat and ticket locks (a trigger on orders), so concurrent
// purchases of one organizer queue on it for the rest of their
// transaction.
package checkout
