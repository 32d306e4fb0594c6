package server_test

import (
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/checkout"
)

// TestOfflineCheckIn: a door that lost its network sends its queued scans
// later with scanned_at. A rotating code that was current when scanned
// admits then (without scanned_at the same code is stale); sent again (the
// door's retry) it is 409 already_checked_in naming the entrance, so a
// ticket is never admitted twice. A scan older than 30 minutes, or dated
// in the future, is 422. The admin's summary counts check-ins per entrance.
func TestOfflineCheckIn(t *testing.T) {
	e := newEnv(t, envOpts{})
	event, seats := e.event(1, 1, 4)
	alice, sc := e.fan("alice"), e.scanner()
	ta := e.buy(event, seats[0], alice.token)
	tb := e.buy(event, seats[1], alice.token)
	e.buy(event, seats[2], alice.token) // not scanned: counts among the tickets

	scannedAt := time.Now().Add(-2 * time.Minute).UTC()
	old, _ := checkout.EntryCode(envKey, ta, e.ticketVersion(ta), scannedAt)
	e.wantErr(e.checkIn(sc.token, event, old), 404, "invalid_code", "a two-minute-old code sent as a scan of now")
	queued := map[string]any{"code": old, "event": event, "entrance": "North", "scanned_at": scannedAt.Format(time.RFC3339)}
	r := e.do("POST", "/api/checkins", sc.token, queued)
	var a struct{ Ticket, Entrance string }
	r.json(t, &a)
	if r.status != 200 || a.Ticket != ta || a.Entrance != "North" {
		t.Fatalf("queued scan: %d %s", r.status, r.body)
	}
	r = e.do("POST", "/api/checkins", sc.token, queued)
	e.wantErr(r, 409, "already_checked_in", "the queued scan sent again")
	var refused struct {
		Error struct {
			CheckedInAt string `json:"checked_in_at"`
			Entrance    string `json:"entrance"`
		}
	}
	r.json(t, &refused)
	if refused.Error.CheckedInAt == "" || refused.Error.Entrance != "North" {
		t.Errorf("already_checked_in says %s, want when and where", r.body)
	}

	codeB, _ := e.codes(tb, alice.token)
	for _, at := range []time.Time{time.Now().Add(-31 * time.Minute), time.Now().Add(5 * time.Minute)} {
		e.wantErr(e.do("POST", "/api/checkins", sc.token, map[string]any{"code": codeB, "event": event, "scanned_at": at.Format(time.RFC3339)}),
			422, "validation_failed", "a scan dated "+at.Format(time.RFC3339))
	}
	e.wantErr(e.do("POST", "/api/checkins", sc.token, map[string]any{"code": codeB, "event": event, "scanned_at": "yesterday"}),
		400, "malformed_json", "a scanned_at that is not a time")
	r = e.do("POST", "/api/checkins", sc.token, map[string]any{"code": codeB, "event": event, "entrance": "South"})
	if r.status != 200 {
		t.Fatalf("scan of now: %d %s", r.status, r.body)
	}

	var sum checkout.CheckInSummary
	r = e.do("GET", "/api/admin/events/"+event+"/checkins/summary", e.admin(), nil)
	r.json(t, &sum)
	if r.status != 200 || sum.Tickets != 3 || sum.CheckedIn != 2 || len(sum.Entrances) != 2 {
		t.Fatalf("summary: %d %s, want 3 tickets, 2 in through North and South", r.status, r.body)
	}
	for _, en := range sum.Entrances {
		if (en.Entrance != "North" && en.Entrance != "South") || en.CheckedIn != 1 || en.LastAt.IsZero() {
			t.Errorf("entrance %+v", en)
		}
	}
	e.wantErr(e.do("GET", "/api/admin/events/"+event+"/checkins/summary", sc.token, nil), 403, "forbidden", "a scanner reading the summary")
	e.wantErr(e.do("GET", "/api/admin/events/999999999/checkins/summary", e.admin(), nil), 404, "event_not_found", "the summary of no event")
}

// TestStatsFunnel: the stats carry the funnel between the queue and the
// sold seats: a fan holding seats, one paying, one retrying after a
// decline (paying until they give up), and the decline among the recent
// payments.
func TestStatsFunnel(t *testing.T) {
	e := newEnv(t, envOpts{})
	event, seats := e.event(1, 1, 6)
	_, holder := e.signUp("holder")
	_, payer := e.signUp("payer")
	_, decliner := e.signUp("decliner")
	e.holdSeats(event, holder, seats[0])
	e.startCheckout(e.holdSeats(event, payer, seats[1]), payer)
	p := e.startCheckout(e.holdSeats(event, decliner, seats[2]), decliner)
	if r := e.do("POST", "/api/payments/"+p.Payment.ID+"/confirm", decliner, map[string]string{"card_number": "4000000000000002"}); r.status != 200 {
		t.Fatalf("confirm 0002: %d %s", r.status, r.body)
	}
	var st checkout.Funnel
	r := e.do("GET", "/api/admin/events/"+event+"/stats", e.admin(), nil)
	r.json(t, &st)
	if st.Holding != 1 || st.PaymentsRecent != 2 || st.PaymentFailures != 1 {
		t.Errorf("funnel %+v, want 1 holding, 2 recent payments, 1 failed", st)
	}
	// The declined fan is still paying (another card) within the retry
	// window, until giving up.
	if st.Paying != 2 {
		t.Errorf("funnel %+v, want 2 paying: one at the card form, one retrying after a decline", st)
	}
	if r := e.do("POST", "/api/payments/"+p.Payment.ID+"/abandon", decliner, nil); r.status != 200 {
		t.Fatalf("give up: %d %s", r.status, r.body)
	}
	st = checkout.Funnel{}
	e.do("GET", "/api/admin/events/"+event+"/stats", e.admin(), nil).json(t, &st)
	if st.Paying != 1 {
		t.Errorf("funnel %+v after the decliner gave up, want 1 paying", st)
	}
}
