package server_test

import (
	"testing"
)

// TestTicketMovesOverHTTP: a ticket in each state (valid, listed,
// transfer_pending, checked_in, void) is put through every move the API
// offers that is illegal from that state, and each is refused with a 409
// (the code saying why) leaving the state unchanged. The one exception is
// by design: the code of a void ticket is 404 invalid_code, as for any dead
// code. accept, decline and cancel act on a transfer; from any state but
// transfer_pending the ticket's last transfer is no longer pending (409
// transfer_not_pending). Legal moves are exercised by the flow tests.
func TestTicketMovesOverHTTP(t *testing.T) {
	e := newEnv(t, envOpts{})
	event, seats := e.event(1, 1, 8)
	e.printAtHome(event, true) // these tests scan the PDF's static code too
	owner, other, buyer := e.fan("owner"), e.fan("other"), e.fan("buyer")
	sc := e.scanner()

	type ticketInState struct {
		id, transfer, static string
	}
	setup := func(state string, seat string) ticketInState {
		t.Helper()
		tk := ticketInState{id: e.buy(event, seat, owner.token)}
		// Every ticket first has a transfer offered and cancelled.
		r := e.do("POST", "/api/tickets/"+tk.id+"/transfers", owner.token, map[string]string{"to_email": other.email})
		var tr struct{ ID string }
		r.json(t, &tr)
		if r := e.do("POST", "/api/transfers/"+tr.ID+"/cancel", owner.token, nil); r.status != 200 {
			t.Fatalf("cancel: %d %s", r.status, r.body)
		}
		tk.transfer = tr.ID
		_, tk.static = e.codes(tk.id, owner.token)
		switch state {
		case "listed":
			e.list(tk.id, owner.token, 1000)
		case "transfer_pending":
			r := e.do("POST", "/api/tickets/"+tk.id+"/transfers", owner.token, map[string]string{"to_email": other.email})
			r.json(t, &tr)
			tk.transfer = tr.ID
		case "checked_in":
			if r := e.checkIn(sc.token, event, tk.static); r.status != 200 {
				t.Fatalf("check in: %d %s", r.status, r.body)
			}
		case "void":
			l := e.list(tk.id, owner.token, 1000)
			r := e.do("POST", "/api/listings/"+l.ID+"/holds", buyer.token, nil)
			var h struct{ ID string }
			r.json(t, &h)
			e.pay(h.ID, buyer.token)
		}
		return tk
	}
	type move struct {
		name string
		do   func(tk ticketInState) resp
	}
	moves := map[string]move{
		"list": {"list", func(tk ticketInState) resp {
			return e.do("POST", "/api/tickets/"+tk.id+"/listing", owner.token, map[string]int{"price_cents": 500})
		}},
		"unlist": {"unlist", func(tk ticketInState) resp { return e.do("DELETE", "/api/tickets/"+tk.id+"/listing", owner.token, nil) }},
		"offer": {"offer_transfer", func(tk ticketInState) resp {
			return e.do("POST", "/api/tickets/"+tk.id+"/transfers", owner.token, map[string]string{"to_email": other.email})
		}},
		"accept": {"accept_transfer", func(tk ticketInState) resp {
			return e.do("POST", "/api/transfers/"+tk.transfer+"/accept", other.token, nil)
		}},
		"decline": {"decline_transfer", func(tk ticketInState) resp {
			return e.do("POST", "/api/transfers/"+tk.transfer+"/decline", other.token, nil)
		}},
		"cancel":  {"cancel_transfer", func(tk ticketInState) resp { return e.do("DELETE", "/api/transfers/"+tk.transfer, owner.token, nil) }},
		"checkin": {"check_in", func(tk ticketInState) resp { return e.checkIn(sc.token, event, tk.static) }},
	}
	type want struct {
		status int
		code   string
	}
	cases := []struct {
		state   string
		illegal map[string]want
	}{
		{"valid", map[string]want{
			"unlist": {409, "illegal_ticket_move"}, "accept": {409, "transfer_not_pending"},
			"decline": {409, "transfer_not_pending"}, "cancel": {409, "transfer_not_pending"}}},
		{"listed", map[string]want{
			"list": {409, "ticket_listed"}, "offer": {409, "ticket_listed"}, "checkin": {409, "ticket_listed"},
			"accept": {409, "transfer_not_pending"}, "decline": {409, "transfer_not_pending"}, "cancel": {409, "transfer_not_pending"}}},
		{"transfer_pending", map[string]want{
			"list": {409, "transfer_pending"}, "unlist": {409, "transfer_pending"}, "offer": {409, "transfer_pending"},
			"checkin": {409, "transfer_pending"}}},
		{"checked_in", map[string]want{
			"list": {409, "illegal_ticket_move"}, "unlist": {409, "illegal_ticket_move"}, "offer": {409, "illegal_ticket_move"},
			"checkin": {409, "already_checked_in"}, "accept": {409, "transfer_not_pending"},
			"decline": {409, "transfer_not_pending"}, "cancel": {409, "transfer_not_pending"}}},
		{"void", map[string]want{
			"list": {409, "illegal_ticket_move"}, "unlist": {409, "illegal_ticket_move"}, "offer": {409, "illegal_ticket_move"},
			"checkin": {404, "invalid_code"}, "accept": {409, "transfer_not_pending"},
			"decline": {409, "transfer_not_pending"}, "cancel": {409, "transfer_not_pending"}}},
	}
	for i, c := range cases {
		t.Run(c.state, func(t *testing.T) {
			tk := setup(c.state, seats[i])
			legal := 0
			for name, m := range moves {
				w, ok := c.illegal[name]
				if !ok {
					legal++
					continue
				}
				r := m.do(tk)
				if r.status != w.status || r.errCode(t) != w.code {
					t.Errorf("%s from %s: %d %s, want %d %s", m.name, c.state, r.status, r.body, w.status, w.code)
				}
				var got struct{ Status string }
				e.do("GET", "/api/tickets/"+tk.id, owner.token, nil).json(t, &got)
				if got.Status != c.state {
					t.Errorf("after refused %s the ticket is %s, want %s", m.name, got.Status, c.state)
				}
			}
			if legal+len(c.illegal) != len(moves) {
				t.Errorf("unknown move in the table for %s", c.state)
			}
		})
	}
}
