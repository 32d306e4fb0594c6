// Package presale owns presale windows: the time-boxed sales before an
// event's general sale, each with its own sections, per-account limit and
// access codes (one shared code, or batches of single-use codes an admin
// exports as CSV), and which accounts each window lets in
// (docs/presales.md).
//
// Storage is Postgres: presales, presale_codes and presale_access. A
// single-use code is bound to the first account that enters it by one
// conditional UPDATE (set the account where none is set yet, or where it
// is already this account), so under any race exactly one account gets it,
// and that account may enter it again.
//
// Holds. Access turns a hold request's code (or an earlier redemption) into
// a seatmap.PresaleAccess; seatmap applies it inside the hold: the window's
// times, sections, per-account cap and share (a cap on the places the
// window sells, counted by seatmap in the hold's transaction). With the
// event's waiting room on, a window's fans queue in the window's own room
// (waitingroom.RoomKey) and hold with its token.
//
// Lottery (lottery.go, lotteries.go). Draw is the verifiable selection of
// a registered-fan lottery: the waiting room's seeded shuffle over the
// published list of hashed account ids, so anyone with the list and the
// revealed seed gets the same winners. An event has at most one lottery
// (lotteries), tied to one window; fans register until it closes
// (registrations). Its seed is made at creation and only its SHA-256 is
// shown until the draw. The draw is a job at the draw time: one
// transaction holding the lottery's row issues each winner a single-use
// code of the window already bound to their account, records the ranks,
// enqueues every registrant's result email and marks the lottery drawn,
// so two runners or a crash mid-way still give one draw.
//
// Service is safe for concurrent use. It caches each event's windows for
// Config.CacheTTL so holds on events without a presale cost no query.
package presale
