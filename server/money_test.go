package server_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"strings"
	"testing"
)

// TestAdminLedger: GET .../ledger and .../ledger.csv show a sale's money
// to admins only, balanced; an unknown event is 404.
func TestAdminLedger(t *testing.T) {
	e := newEnv(t, envOpts{})
	admin := e.admin()
	ev, seats := e.event(1, 1, 3)
	buyer := e.fan("buyer")
	e.buy(ev, seats[0], buyer.token)
	e.wantErr(e.do("GET", "/api/admin/events/"+ev+"/ledger", buyer.token, nil), 403, "forbidden", "fan reading the ledger")
	e.wantErr(e.do("GET", "/api/admin/events/999999999/ledger", admin, nil), 404, "event_not_found", "ledger of no event")
	e.wantErr(e.do("GET", "/api/admin/events/abc/ledger.csv", admin, nil), 404, "event_not_found", "ledger of a bad id")

	r := e.do("GET", "/api/admin/events/"+ev+"/ledger", admin, nil)
	var l struct {
		Totals struct {
			GrossCents int64 `json:"gross_cents"`
			NetCents   int64 `json:"net_cents"`
		}
		ExpectedNetCents int64 `json:"expected_net_cents"`
		ResidualCents    int64 `json:"residual_cents"`
		Balanced         bool
		Orders           []struct{ Kind, Status string }
		Entries          []struct{ Kind string }
	}
	r.json(t, &l)
	if r.status != 200 || !l.Balanced || l.ResidualCents != 0 || l.Totals.GrossCents != 4200 || l.Totals.NetCents != 4200 ||
		l.ExpectedNetCents != 4200 || len(l.Orders) != 1 || len(l.Entries) != 1 || l.Entries[0].Kind != "payment" {
		t.Fatalf("ledger: %d %s", r.status, r.body)
	}

	r = e.do("GET", "/api/admin/events/"+ev+"/ledger.csv", admin, nil)
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") {
		t.Fatalf("ledger.csv: %d %s %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	recs, err := csv.NewReader(strings.NewReader(string(r.body))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	kinds := []string{}
	for _, rec := range recs {
		kinds = append(kinds, rec[0])
	}
	if got, want := strings.Join(kinds, ","), "kind,payment,order,total,check"; got != want {
		t.Errorf("csv kinds = %s, want %s\n%s", got, want, r.body)
	}
	if check := recs[len(recs)-1]; check[5] != "balanced=true" || check[len(check)-1] != "residual=0" {
		t.Errorf("csv check line = %v", check)
	}
}

// TestAdminJobs: dead jobs are listed with their error and counts, an
// admin retries one (it is due again), and bad input is a 4xx.
func TestAdminJobs(t *testing.T) {
	e := newEnv(t, envOpts{})
	admin := e.admin()
	ctx := context.Background()
	kind := "test.dead"
	var id int64
	if err := e.db().QueryRow(ctx, `INSERT INTO jobs (kind, payload, attempts, dead, last_error)
		VALUES ($1, '{"order_id": "x"}', 12, true, 'smtp: 554 relay refused') RETURNING id`, kind).Scan(&id); err != nil {
		t.Fatal(err)
	}
	r := e.do("GET", "/api/admin/jobs?status=dead&kind="+kind, admin, nil)
	var list struct {
		Jobs []struct {
			ID        int64
			Kind      string
			Status    string
			Attempts  int
			LastError string `json:"last_error"`
		}
		Counts struct{ Dead map[string]int }
	}
	r.json(t, &list)
	if r.status != 200 || len(list.Jobs) != 1 || list.Jobs[0].ID != id || list.Jobs[0].Status != "dead" ||
		list.Jobs[0].LastError != "smtp: 554 relay refused" || list.Counts.Dead[kind] != 1 {
		t.Fatalf("dead jobs: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/admin/jobs", admin, nil); r.status != 200 || !strings.Contains(string(r.body), kind) {
		t.Errorf("default listing (dead): %d %s", r.status, r.body)
	}
	path := fmt.Sprintf("/api/admin/jobs/%d/retry", id)
	e.wantErr(e.do("POST", path, e.fan("fan").token, nil), 403, "forbidden", "fan retrying a job")
	r = e.do("POST", path, admin, nil)
	if r.status != 200 || !strings.Contains(string(r.body), `"status":"failing"`) {
		t.Fatalf("retry: %d %s", r.status, r.body)
	}
	var dead, due bool
	if err := e.db().QueryRow(ctx, `SELECT dead, run_at <= now() FROM jobs WHERE id = $1`, id).Scan(&dead, &due); err != nil || dead || !due {
		t.Errorf("after retry dead=%v due=%v %v", dead, due, err)
	}
	if _, err := e.db().Exec(ctx, `UPDATE jobs SET done_at = now() WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	e.wantErr(e.do("POST", path, admin, nil), 409, "job_done", "retry of a done job")
	e.wantErr(e.do("POST", "/api/admin/jobs/99999999/retry", admin, nil), 404, "job_not_found", "retry of no job")
	e.wantErr(e.do("POST", "/api/admin/jobs/x/retry", admin, nil), 404, "job_not_found", "retry of a bad id")
	e.wantErr(e.do("GET", "/api/admin/jobs?status=zombie", admin, nil), 422, "validation_failed", "bad status")
	e.wantErr(e.do("GET", "/api/admin/jobs?limit=0", admin, nil), 422, "validation_failed", "bad limit")
}

// TestAdminStuckPayments: payments the reconciler set aside are listed for
// admins (GET /api/admin/payments?status=stuck, a page at a time, with the
// last error and the stuck and failing counts); an admin's retry puts one
// back in the reconciler's queue with its backoff reset; a settled payment
// cannot be retried; fans are refused and bad input is a 4xx.
func TestAdminStuckPayments(t *testing.T) {
	e := newEnv(t, envOpts{})
	admin := e.admin()
	ctx := context.Background()
	event, seats := e.event(1, 1, 4)
	var stuck []string
	for i := range 3 {
		f := e.fan("fan")
		p := e.startCheckout(e.holdSeats(event, f.token, seats[i]), f.token)
		if _, err := e.db().Exec(ctx, `UPDATE payments SET reconcile_failures = 10, stuck_at = now(), reconcile_error = 'stripe: 500',
			reconcile_at = now() + interval '1 hour' WHERE id = $1`, p.Payment.ID); err != nil {
			t.Fatal(err)
		}
		stuck = append(stuck, p.Payment.ID)
	}
	type item struct {
		ID        string
		Status    string
		Stuck     bool
		Failures  int    `json:"reconcile_failures"`
		LastError string `json:"last_error"`
	}
	var seen []item
	after := ""
	for page := 0; ; page++ {
		if page > 50 {
			t.Fatal("pagination does not end")
		}
		r := e.do("GET", "/api/admin/payments?status=stuck&limit=2"+after, admin, nil)
		var list struct {
			Payments []item
			Next     string
			Counts   struct{ Stuck, Failing int }
		}
		r.json(t, &list)
		if r.status != 200 || len(list.Payments) > 2 || list.Counts.Stuck < 3 {
			t.Fatalf("stuck payments: %d %s", r.status, r.body)
		}
		seen = append(seen, list.Payments...)
		if list.Next == "" {
			break
		}
		after = "&after=" + list.Next
	}
	found := map[string]item{}
	for _, p := range seen {
		if _, dup := found[p.ID]; dup {
			t.Errorf("payment %s listed twice", p.ID)
		}
		found[p.ID] = p
	}
	for _, id := range stuck {
		if p, ok := found[id]; !ok || !p.Stuck || p.Failures != 10 || p.LastError != "stripe: 500" {
			t.Errorf("stuck payment %s listed as %+v (found %v)", id, p, ok)
		}
	}

	path := "/api/admin/payments/" + stuck[0] + "/retry"
	e.wantErr(e.do("POST", path, e.fan("fan").token, nil), 403, "forbidden", "fan retrying a payment")
	e.wantErr(e.do("GET", "/api/admin/payments", e.fan("fan").token, nil), 403, "forbidden", "fan listing payments")
	r := e.do("POST", path, admin, nil)
	var got item
	r.json(t, &got)
	if r.status != 200 || got.ID != stuck[0] || got.Stuck || got.Failures != 0 {
		t.Fatalf("retry: %d %s", r.status, r.body)
	}
	var due bool
	if err := e.db().QueryRow(ctx, `SELECT stuck_at IS NULL AND reconcile_failures = 0 AND reconcile_at IS NULL FROM payments WHERE id = $1`,
		stuck[0]).Scan(&due); err != nil || !due {
		t.Errorf("after retry the payment is not back in the queue (%v)", err)
	}
	if _, err := e.db().Exec(ctx, `UPDATE payments SET status = 'canceled' WHERE id = $1`, stuck[1]); err != nil {
		t.Fatal(err)
	}
	e.wantErr(e.do("POST", "/api/admin/payments/"+stuck[1]+"/retry", admin, nil), 409, "payment_settled", "retry of a settled payment")
	e.wantErr(e.do("POST", "/api/admin/payments/3f1c1f57-8c5b-4c3e-9d59-000000000000/retry", admin, nil), 404, "payment_not_found", "retry of no payment")
	e.wantErr(e.do("POST", "/api/admin/payments/x/retry", admin, nil), 404, "payment_not_found", "retry of a bad id")
	e.wantErr(e.do("GET", "/api/admin/payments?status=zombie", admin, nil), 422, "validation_failed", "bad status")
	e.wantErr(e.do("GET", "/api/admin/payments?limit=0", admin, nil), 422, "validation_failed", "bad limit")
	e.wantErr(e.do("GET", "/api/admin/payments?after=x", admin, nil), 422, "validation_failed", "bad cursor")
}
