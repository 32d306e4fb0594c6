package checkout_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/boxoffice/boxoffice/checkout"
	"github.com/boxoffice/boxoffice/internal/apperr"
)

// TestTicketStateMachine: every state × every move, against a table
// written out by hand (not derived from the code's own table): the legal
// moves reach the state listed, every other move is a 409 (apperr.Conflict)
// with a code saying why.
func TestTicketStateMachine(t *testing.T) {
	const (
		valid   = checkout.TicketValid
		listed  = checkout.TicketListed
		pending = checkout.TicketTransferPending
		in      = checkout.TicketCheckedIn
		void    = checkout.TicketVoid
		review  = checkout.TicketReview
	)
	legal := map[string]map[checkout.Move]string{
		valid: {checkout.MoveList: listed, checkout.MoveOfferTransfer: pending, checkout.MoveCheckIn: in,
			checkout.MoveVoid: void},
		listed: {checkout.MoveUnlist: valid, checkout.MoveSell: void, checkout.MoveVoid: void},
		pending: {checkout.MoveAcceptTransfer: valid, checkout.MoveDeclineTransfer: valid,
			checkout.MoveCancelTransfer: valid, checkout.MoveVoid: void},
		in:     {},
		void:   {},
		review: {checkout.MoveApprove: valid, checkout.MoveReject: void, checkout.MoveVoid: void},
	}
	wantCode := func(from string, m checkout.Move) string {
		switch {
		case from == in && m == checkout.MoveCheckIn:
			return "already_checked_in"
		case from == listed:
			return "ticket_listed"
		case from == pending:
			return "transfer_pending"
		case from == review:
			return "order_in_review"
		}
		return "illegal_ticket_move"
	}
	if len(checkout.TicketStates) != 6 || len(checkout.Moves) != 11 {
		t.Fatalf("%d states and %d moves; update this table", len(checkout.TicketStates), len(checkout.Moves))
	}
	for _, from := range checkout.TicketStates {
		for _, m := range checkout.Moves {
			t.Run(fmt.Sprintf("%s/%s", from, m), func(t *testing.T) {
				got, err := checkout.NextState(from, m)
				if want, ok := legal[from][m]; ok {
					if err != nil || got != want {
						t.Errorf("NextState(%s, %s) = %q, %v; want %q", from, m, got, err, want)
					}
					return
				}
				e := apperr.As(err)
				if e == nil || e.Kind != apperr.Conflict {
					t.Fatalf("NextState(%s, %s) = %q, %v; want a 409", from, m, got, err)
				}
				if e.Code != wantCode(from, m) {
					t.Errorf("NextState(%s, %s) code %q, want %q", from, m, e.Code, wantCode(from, m))
				}
			})
		}
	}
}

// TestEntryCode: a rotating code verifies in its own step and the steps
// before and after, not two steps away; it names its ticket and version; a
// code of another version, another key or an edited code fails; a static
// barcode is not a rotating code.
func TestEntryCode(t *testing.T) {
	id := uuid.NewString()
	now := time.Unix(1_800_000_000, 0) // a step boundary: 1.8e9 is a multiple of 15
	code, exp := checkout.EntryCode(testKey, id, 3, now)
	if !strings.HasPrefix(code, "E."+id+".3.") || len(code) > 80 {
		t.Errorf("code %q", code)
	}
	if want := now.Add(checkout.EntryCodeStep); !exp.Equal(want) {
		t.Errorf("expires %v, want %v", exp, want)
	}
	for _, d := range []time.Duration{0, 14 * time.Second, -1 * time.Second, -15 * time.Second, 29 * time.Second} {
		gotID, gotV, ok := checkout.VerifyEntryCode(testKey, code, now.Add(d))
		if !ok || gotID != id || gotV != 3 {
			t.Errorf("at %+v: %q %d %v, want valid", d, gotID, gotV, ok)
		}
	}
	for _, d := range []time.Duration{-16 * time.Second, 30 * time.Second, time.Hour} {
		if _, _, ok := checkout.VerifyEntryCode(testKey, code, now.Add(d)); ok {
			t.Errorf("at %+v: still valid, want stale", d)
		}
	}
	next, _ := checkout.EntryCode(testKey, id, 3, now.Add(checkout.EntryCodeStep))
	if next == code {
		t.Error("the code did not change with the step")
	}
	other, _ := checkout.EntryCode(testKey, id, 4, now)
	forged := strings.Replace(other, ".4.", ".3.", 1)
	otherKey, _ := checkout.EntryCode([]byte("another secret key of 32 bytes!!"), id, 3, now)
	for name, c := range map[string]string{
		"version swapped": forged, "other key": otherKey, "edited": code[:len(code)-1] + flip(code[len(code)-1]),
		"static barcode": checkout.Barcode(testKey, id, 3), "empty": "", "junk": "E.x.1.y",
	} {
		if _, _, ok := checkout.VerifyEntryCode(testKey, c, now); ok {
			t.Errorf("%s: %q verified", name, c)
		}
	}
}

// FuzzVerifyEntryCode: no input panics, and whatever verifies names a
// canonical uuid and a positive version.
func FuzzVerifyEntryCode(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	good, _ := checkout.EntryCode(testKey, uuid.NewString(), 1, now)
	for _, s := range []string{good, "", "E....", "E.a.b.c", good + ".", strings.ToUpper(good)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, code string) {
		id, v, ok := checkout.VerifyEntryCode(testKey, code, now)
		if ok && (uuid.MustParse(id).String() != id || v < 1) {
			t.Errorf("%q verified as %q %d", code, id, v)
		}
	})
}
