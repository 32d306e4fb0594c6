package checkout

import (
	"github.com/boxoffice/boxoffice/internal/apperr"
)

// Ticket states (the tickets table).
const (
	TicketValid           = "valid"
	TicketListed          = "listed"
	TicketTransferPending = "transfer_pending"
	TicketCheckedIn       = "checked_in"
	TicketVoid            = "void"
	// TicketReview is a ticket of an order under review: written with its
	// seat sold, but with no code, PDF, transfer or listing until an admin
	// approves the order.
	TicketReview = "review"
)

// TicketStates are every ticket state, for tests and documentation.
var TicketStates = []string{TicketValid, TicketListed, TicketTransferPending, TicketCheckedIn, TicketVoid, TicketReview}

// Move is a ticket transition.
type Move string

// The ticket moves. Each is one conditional UPDATE whose WHERE names the
// states the move may start from (MoveFrom), so a concurrent move that got
// there first leaves zero rows and the loser gets a 409.
const (
	MoveList            Move = "list"             // valid → listed
	MoveUnlist          Move = "unlist"           // listed → valid
	MoveSell            Move = "sell"             // listed → void (the buyer gets a new ticket)
	MoveOfferTransfer   Move = "offer_transfer"   // valid → transfer_pending
	MoveAcceptTransfer  Move = "accept_transfer"  // transfer_pending → valid, new owner, version + 1
	MoveDeclineTransfer Move = "decline_transfer" // transfer_pending → valid
	MoveCancelTransfer  Move = "cancel_transfer"  // transfer_pending → valid
	MoveCheckIn         Move = "check_in"         // valid → checked_in
	MoveVoid            Move = "void"             // valid, listed, transfer_pending, review → void (event cancelled)
	MoveApprove         Move = "approve"          // review → valid (an admin approved the order)
	MoveReject          Move = "reject"           // review → void (an admin rejected the order)
)

// Moves are every move, for tests.
var Moves = []Move{MoveList, MoveUnlist, MoveSell, MoveOfferTransfer, MoveAcceptTransfer, MoveDeclineTransfer,
	MoveCancelTransfer, MoveCheckIn, MoveVoid, MoveApprove, MoveReject}

// ticketMoves is the state machine: for each move, the states it may start
// from and the state it ends in. Anything not listed is illegal. A checked-in
// or void ticket is final.
var ticketMoves = map[Move]struct {
	from []string
	to   string
}{
	MoveList:            {[]string{TicketValid}, TicketListed},
	MoveUnlist:          {[]string{TicketListed}, TicketValid},
	MoveSell:            {[]string{TicketListed}, TicketVoid},
	MoveOfferTransfer:   {[]string{TicketValid}, TicketTransferPending},
	MoveAcceptTransfer:  {[]string{TicketTransferPending}, TicketValid},
	MoveDeclineTransfer: {[]string{TicketTransferPending}, TicketValid},
	MoveCancelTransfer:  {[]string{TicketTransferPending}, TicketValid},
	MoveCheckIn:         {[]string{TicketValid}, TicketCheckedIn},
	MoveVoid:            {[]string{TicketValid, TicketListed, TicketTransferPending, TicketReview}, TicketVoid},
	MoveApprove:         {[]string{TicketReview}, TicketValid},
	MoveReject:          {[]string{TicketReview}, TicketVoid},
}

// Errors of ticket moves.
var (
	ErrIllegalMove      = apperr.E(apperr.Conflict, "illegal_ticket_move", "the ticket cannot do this in its current state")
	ErrAlreadyCheckedIn = apperr.E(apperr.Conflict, "already_checked_in", "this ticket has already been checked in")
	ErrTicketListed     = apperr.E(apperr.Conflict, "ticket_listed", "the ticket is listed for resale; withdraw the listing first")
	ErrTransferPending  = apperr.E(apperr.Conflict, "transfer_pending", "the ticket has a pending transfer; cancel it first")
	ErrTicketInReview   = apperr.E(apperr.Conflict, "order_in_review", "the order of this ticket is being reviewed; the ticket becomes usable once it is approved")
)

// MoveFrom returns the states a move may start from.
func MoveFrom(m Move) []string { return ticketMoves[m].from }

// NextState returns the state a ticket in from reaches by m, or a 409
// error saying why the move is illegal.
func NextState(from string, m Move) (string, error) {
	t, ok := ticketMoves[m]
	if !ok {
		return "", ErrIllegalMove.With("move", string(m))
	}
	for _, f := range t.from {
		if f == from {
			return t.to, nil
		}
	}
	return "", illegal(from, m)
}

// illegal explains why a ticket in state from cannot make move m.
func illegal(from string, m Move) error {
	switch {
	case from == TicketCheckedIn && m == MoveCheckIn:
		return ErrAlreadyCheckedIn
	case from == TicketListed && m != MoveUnlist && m != MoveSell:
		return ErrTicketListed.With("move", string(m))
	case from == TicketTransferPending && m != MoveAcceptTransfer && m != MoveDeclineTransfer && m != MoveCancelTransfer:
		return ErrTransferPending.With("move", string(m))
	case from == TicketReview:
		return ErrTicketInReview.With("move", string(m))
	}
	return ErrIllegalMove.With("status", from).With("move", string(m))
}
