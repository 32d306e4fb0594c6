package server_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// countSubject is how many mails to addr mailpit holds whose subject
// starts with prefix.
func countSubject(t *testing.T, api, addr, prefix string) int {
	t.Helper()
	n := 0
	for _, s := range mailSubjects(t, api, addr) {
		if strings.HasPrefix(s, prefix) {
			n++
		}
	}
	return n
}

// give transfers a ticket of from to to, accepted.
func (e *env) give(ticket string, from, to fan) {
	e.t.Helper()
	r := e.do("POST", "/api/tickets/"+ticket+"/transfers", from.token, map[string]string{"to_email": to.email})
	var tr struct{ ID string }
	r.json(e.t, &tr)
	if r = e.do("POST", "/api/transfers/"+tr.ID+"/accept", to.token, nil); r.status != 200 {
		e.t.Fatalf("accept transfer: %d %s", r.status, r.body)
	}
}

// ticketsOf are the ids of an order's tickets.
func (e *env) ticketsOf(order, token string) []string {
	e.t.Helper()
	var o struct{ Tickets []struct{ ID string } }
	e.do("GET", "/api/orders/"+order, token, nil).json(e.t, &o)
	var ids []string
	for _, t := range o.Tickets {
		ids = append(ids, t.ID)
	}
	return ids
}

type noticesBody struct {
	Holders     int `json:"holders"`
	Cancel      int `json:"cancel_recipients"`
	Reschedules []struct {
		ID string
	}
}

// TestCancelMailsEveryHolderOnce: cancelling an event mails each account
// it concerns once: the buyer what goes back to the card (84.00 for two
// seats, though one was given away), the fan the ticket was given to that
// it no longer admits, another buyer 42.00. A second cancel and the
// cancellation's sweep mail nobody again. The admin saw 3 recipients
// before.
func TestCancelMailsEveryHolderOnce(t *testing.T) {
	e, api := mailEnv(t, envOpts{})
	admin := e.admin()
	event, seats := e.event(1, 1, 6)
	alice, bob, carol := e.fan("alice"), e.fan("bob"), e.fan("carol")
	order := e.pay(e.holdSeats(event, alice.token, seats[0], seats[1]), alice.token)
	e.buy(event, seats[2], bob.token)
	e.give(e.ticketsOf(order, alice.token)[1], alice, carol)

	var n noticesBody
	e.do("GET", "/api/admin/events/"+event+"/notices", admin, nil).json(t, &n)
	if n.Holders != 3 || n.Cancel != 3 {
		t.Errorf("notices before cancel: %+v, want 3 holders and 3 recipients", n)
	}
	if r := e.do("PATCH", "/api/admin/events/"+event, admin, map[string]string{"status": "cancel"}); r.status != 200 {
		t.Fatalf("cancel: %d %s", r.status, r.body)
	}
	e.do("PATCH", "/api/admin/events/"+event, admin, map[string]string{"status": "cancel"}) // a retried click
	if err := e.checkout.SweepCancelled(context.Background(), eventID(t, event)); err != nil {
		t.Fatal(err)
	}
	e.drainJobs()
	for _, c := range []struct {
		who  fan
		want []string
	}{
		{alice, []string{"no longer admit", "refunding 84.00 USD to the card you paid with", "Order " + order}},
		{bob, []string{"refunding 42.00 USD"}},
		{carol, []string{"Your 1 ticket(s)", "goes back to the card that paid"}},
	} {
		text, _ := mailTo(t, api, c.who.email, "Cancelled: ")
		for _, w := range c.want {
			if !strings.Contains(text, w) {
				t.Errorf("cancel mail to %s lacks %q:\n%s", c.who.email, w, text)
			}
		}
		if got := countSubject(t, api, c.who.email, "Cancelled: "); got != 1 {
			t.Errorf("%d cancel mails to %s, want 1", got, c.who.email)
		}
	}
	if l := e.ledger(admin, event); !l.Balanced || l.Residual != 0 || l.Totals.Refund != 8400+4200 {
		t.Errorf("ledger after the cancel: %+v, want balanced with 126.00 refunded", l)
	}
}

// TestRescheduleRefundChoice: an admin moves an event; every holder (the
// fan a ticket was given to too) gets one mail with the new time and a
// refund link. The link refunds exactly its holder's tickets, once, to the
// cent (the ledger balanced, the provider's refunds equal to the prices);
// for another event it is 404, tampered 404, past its deadline 410. The
// day-before reminder moves to the new date.
func TestRescheduleRefundChoice(t *testing.T) {
	e, api := mailEnv(t, envOpts{})
	ctx := context.Background()
	admin := e.admin()
	event, seats := e.event(1, 1, 6)
	other, _ := e.event(1, 1, 1)
	alice, bob, carol := e.fan("alice"), e.fan("bob"), e.fan("carol")
	aliceOrder := e.pay(e.holdSeats(event, alice.token, seats[0], seats[1]), alice.token)
	bobOrder := e.pay(e.holdSeats(event, bob.token, seats[2], seats[3]), bob.token)
	e.give(e.ticketsOf(bobOrder, bob.token)[1], bob, carol)

	when := time.Now().Add(96 * time.Hour).UTC().Truncate(time.Second)
	path := "/api/admin/events/" + event + "/reschedule"
	e.wantErr(e.do("POST", path, bob.token, map[string]any{"event_date": when}), 403, "forbidden", "a fan rescheduling")
	e.wantErr(e.do("POST", path, admin, map[string]any{"event_date": time.Now().Add(-time.Hour)}), 422, "invalid_dates", "a date in the past")
	e.wantErr(e.do("POST", path, admin, map[string]any{"event_date": when, "refund_until": when.Add(time.Hour)}), 422, "invalid_dates",
		"refunds after the show")
	if r := e.do("POST", path, admin, map[string]any{"event_date": when, "venue": "x"}); r.status != 400 {
		t.Errorf("an unknown field: %d %s, want 400", r.status, r.body)
	}
	r := e.do("POST", path, admin, map[string]any{"event_date": when, "place": "Hall B, doors at 19:00", "reason": "The storm"})
	var rs struct {
		ID       string
		Notified int
	}
	r.json(t, &rs)
	if r.status != 201 || rs.Notified != 3 {
		t.Fatalf("reschedule: %d %s, want 201 with 3 notified", r.status, r.body)
	}
	var ev struct {
		EventDate time.Time `json:"event_date"`
	}
	e.do("GET", "/api/events/"+event, "", nil).json(t, &ev)
	if !ev.EventDate.Equal(when) {
		t.Errorf("event date %v, want %v", ev.EventDate, when)
	}
	e.drainJobs()
	tokens := map[string]string{}
	for _, f := range []fan{alice, bob, carol} {
		text, token := mailTo(t, api, f.email, "New date: ")
		if token == "" || !strings.Contains(text, "http://app.test/events/"+event+"/refund-choice#token=") ||
			!strings.Contains(text, "Hall B, doors at 19:00") || !strings.Contains(text, "The storm") {
			t.Errorf("reschedule mail to %s:\n%s", f.email, text)
		}
		if got := countSubject(t, api, f.email, "New date: "); got != 1 {
			t.Errorf("%d reschedule mails to %s, want 1", got, f.email)
		}
		tokens[f.email] = token
	}
	var dayBefore int
	if err := e.db().QueryRow(ctx, `SELECT count(*) FROM jobs WHERE dedupe_key = $1 AND run_at = $2`,
		fmt.Sprintf("reminder:day-before:%s:%d", event, when.Unix()), when.Add(-24*time.Hour)).Scan(&dayBefore); err != nil || dayBefore != 1 {
		t.Errorf("day-before reminder of the new date: %d jobs (%v), want 1", dayBefore, err)
	}

	offer := "/api/events/" + event + "/refund-offer"
	at := tokens[alice.email]
	e.wantErr(e.do("POST", "/api/events/"+other+"/refund-offer/accept", "", map[string]string{"token": at}), 404, "refund_offer_not_found",
		"alice's link on another event")
	e.wantErr(e.do("POST", offer+"/accept", "", map[string]string{"token": at[:len(at)-2] + "xx"}), 404, "refund_offer_not_found", "a tampered link")
	var o struct {
		Tickets     int
		AmountCents int64 `json:"amount_cents"`
		Status      string
	}
	e.do("POST", offer, "", map[string]string{"token": at}).json(t, &o)
	if o.Tickets != 2 || o.AmountCents != 8400 || o.Status != "open" {
		t.Errorf("alice's offer: %+v, want 2 tickets, 8400, open", o)
	}
	r = e.do("POST", offer+"/accept", "", map[string]string{"token": at})
	r.json(t, &o)
	if r.status != 200 || o.Status != "refunded" || o.AmountCents != 8400 {
		t.Fatalf("alice accepts: %d %s", r.status, r.body)
	}
	e.wantErr(e.do("POST", offer+"/accept", "", map[string]string{"token": at}), 409, "refund_offer_used", "the link a second time")

	// Bob's deadline passes: his tickets stay, carol's (given by him) too.
	if _, err := e.db().Exec(ctx, `UPDATE event_reschedules SET refund_until = now() - interval '1 minute' WHERE id = $1`, rs.ID); err != nil {
		t.Fatal(err)
	}
	e.wantErr(e.do("POST", offer+"/accept", "", map[string]string{"token": tokens[bob.email]}), 410, "refund_offer_closed", "past the deadline")
	e.drainJobs()
	var valid, refunded int
	var refundSum int64
	if err := e.db().QueryRow(ctx, `SELECT count(*) FILTER (WHERE status = 'valid'), count(*) FILTER (WHERE refund_id IS NOT NULL)
		FROM tickets WHERE event_id = $1`, eventID(t, event)).Scan(&valid, &refunded); err != nil {
		t.Fatal(err)
	}
	if err := e.db().QueryRow(ctx, `SELECT coalesce(sum(amount_cents), 0) FROM refunds WHERE event_id = $1 AND status = 'succeeded'`,
		eventID(t, event)).Scan(&refundSum); err != nil {
		t.Fatal(err)
	}
	if valid != 2 || refunded != 2 || refundSum != 8400 {
		t.Errorf("after the choices: %d valid, %d refunded tickets, %d cents refunded; want 2, 2, 8400", valid, refunded, refundSum)
	}
	if st := e.proc.Stats(); st.CapturedCents != 4*4200-8400 {
		t.Errorf("the processor holds %d cents net of refunds, want %d", st.CapturedCents, 4*4200-8400)
	}
	if l := e.ledger(admin, event); !l.Balanced || l.Residual != 0 || l.Totals.Refund != 8400 || l.Totals.Gross != 4*4200 {
		t.Errorf("ledger: %+v, want balanced, 84.00 of 168.00 refunded", l)
	}
	if !strings.Contains(strings.Join(mailSubjects(t, api, alice.email), "|"), "Your refund") {
		t.Error("alice got no refund notice")
	}
	if o := e.adminOrder(admin, aliceOrder); o.RefundableCents != 0 {
		t.Errorf("alice's order keeps %d refundable cents, want 0", o.RefundableCents)
	}
}

// TestReminders: the day before the show every holder but one who turned
// reminders off gets one reminder with an unsubscribe link; the link stops
// the next reminder (a new date's) while the reschedule notice still goes;
// a cancelled event's reminder sends nothing. A sale opening reaches the
// fans on the waiting list.
func TestReminders(t *testing.T) {
	e, api := mailEnv(t, envOpts{})
	ctx := context.Background()
	admin := e.admin()
	event, seats := e.event(1, 1, 6)
	id := eventID(t, event)
	alice, bob, carol, dave := e.fan("alice"), e.fan("bob"), e.fan("carol"), e.fan("dave")
	order := e.pay(e.holdSeats(event, alice.token, seats[0], seats[1]), alice.token)
	e.give(e.ticketsOf(order, alice.token)[1], alice, carol)
	e.buy(event, seats[2], bob.token)
	e.buy(event, seats[3], dave.token)
	if r := e.do("PUT", "/api/account/reminders", dave.token, map[string]bool{"reminders": false}); r.status != 200 {
		t.Fatalf("dave turns reminders off: %d %s", r.status, r.body)
	}
	due := func() {
		t.Helper()
		if _, err := e.db().Exec(ctx, `UPDATE jobs SET run_at = now() WHERE kind = 'checkout.reminder_day_before' AND payload->>'event_id' = $1
			AND done_at IS NULL`, event); err != nil {
			t.Fatal(err)
		}
		e.drainJobs()
	}
	if err := e.checkout.ScheduleReminders(ctx, id); err != nil {
		t.Fatal(err)
	}
	due()
	unsub := ""
	for _, f := range []fan{alice, bob, carol} {
		text, token := mailTo(t, api, f.email, "Tomorrow: ")
		if token == "" || !strings.Contains(text, "http://app.test/unsubscribe#token=") {
			t.Errorf("reminder to %s without an unsubscribe link:\n%s", f.email, text)
		}
		if got := countSubject(t, api, f.email, "Tomorrow: "); got != 1 {
			t.Errorf("%d reminders to %s, want 1", got, f.email)
		}
		if f == bob {
			unsub = token
		}
	}
	if got := countSubject(t, api, dave.email, "Tomorrow: "); got != 0 {
		t.Errorf("dave turned reminders off and got %d", got)
	}

	e.wantErr(e.do("POST", "/api/unsubscribe", "", map[string]string{"token": unsub + "x"}), 404, "invalid_token", "a tampered unsubscribe link")
	if r := e.do("POST", "/api/unsubscribe", "", map[string]string{"token": unsub}); r.status != 204 {
		t.Fatalf("unsubscribe: %d %s", r.status, r.body)
	}
	var set struct{ Reminders bool }
	e.do("GET", "/api/account/reminders", bob.token, nil).json(t, &set)
	if set.Reminders {
		t.Error("bob's reminders are still on after the unsubscribe link")
	}

	when := time.Now().Add(72 * time.Hour)
	if r := e.do("POST", "/api/admin/events/"+event+"/reschedule", admin, map[string]any{"event_date": when}); r.status != 201 {
		t.Fatalf("reschedule: %d %s", r.status, r.body)
	}
	due()
	mailTo(t, api, bob.email, "New date: ")
	if a, b := countSubject(t, api, alice.email, "Tomorrow: "), countSubject(t, api, bob.email, "Tomorrow: "); a != 2 || b != 1 {
		t.Errorf("reminders of the new date: alice has %d, bob %d; want 2 and 1 (bob unsubscribed)", a, b)
	}

	// Moved again, then cancelled: that date's reminder sends nothing.
	if r := e.do("POST", "/api/admin/events/"+event+"/reschedule", admin, map[string]any{"event_date": when.Add(24 * time.Hour)}); r.status != 201 {
		t.Fatalf("reschedule: %d %s", r.status, r.body)
	}
	if r := e.do("PATCH", "/api/admin/events/"+event, admin, map[string]string{"status": "cancel"}); r.status != 200 {
		t.Fatalf("cancel: %d %s", r.status, r.body)
	}
	due()
	mailTo(t, api, alice.email, "Cancelled: ")
	if a := countSubject(t, api, alice.email, "Tomorrow: "); a != 2 {
		t.Errorf("alice has %d reminders after the cancel, want still 2", a)
	}

	// A sale opening reaches the waiting list: a sold-out event, two fans
	// waiting, one of whom turned reminders off.
	small, place := e.event(1, 1, 1)
	e.buy(small, place[0], alice.token)
	erin := e.fan("erin")
	for _, f := range []fan{erin, dave} {
		if r := e.do("POST", "/api/events/"+small+"/waitlist", f.token, map[string]int{"quantity": 1}); r.status != 201 {
			t.Fatalf("join the waiting list: %d %s", r.status, r.body)
		}
	}
	if err := e.checkout.RemindSaleOpened(ctx, eventID(t, small)); err != nil {
		t.Fatal(err)
	}
	e.drainJobs()
	if text, token := mailTo(t, api, erin.email, "On sale now: "); token == "" || !strings.Contains(text, "/events/"+small) {
		t.Errorf("sale opening mail:\n%s", text)
	}
	if got := countSubject(t, api, dave.email, "On sale now: "); got != 0 {
		t.Errorf("dave (no reminders) got %d sale opening mails", got)
	}
}
