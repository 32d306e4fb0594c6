// Package checkout sells held seats: payments (Stripe or the built-in test
// processor), orders and tickets, the confirmation email with a PDF, the
// Stripe webhook and the reconciler. It owns the payments, orders, tickets
// and webhook_events tables; seat and hold transitions belong to seatmap and
// run inside checkout's transactions.
//
// The order of a sale (DESIGN.md §1): the payment row is written with the
// hold's move to payment_pending, before the provider is called; the
// provider authorizes (manual capture); one transaction converts the hold,
// writes the order and tickets and enqueues the confirmation; only then is
// the payment captured. If the hold was lost, the authorization is cancelled.
// A provider call whose outcome is unknown is settled by the reconciler,
// which asks the provider, and never creates a second intent: every call
// carries an idempotency key derived from the hold or the payment.
//
// Concurrency: every decision is taken under the payment row's lock (FOR
// UPDATE), which is always taken before seatmap's locks (hold rows, account
// counters, seats by id). Any number of requests, webhooks and reconcilers
// may work one payment at once; exactly one converts it and captures it.
package checkout
