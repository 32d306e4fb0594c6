package server_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/getkin/kin-openapi/openapi3"

	"github.com/boxoffice/boxoffice/checkout"
	"github.com/boxoffice/boxoffice/internal/testkit"
	"github.com/boxoffice/boxoffice/realtime"
	"github.com/boxoffice/boxoffice/server"
)

// The hostile-client suite. Its cases are generated from Fiber's route
// table joined with openapi.json, never listed by hand: a route added
// tomorrow is attacked the day it is added, and a route whose path names
// an object the suite cannot make fails the suite until world learns it.

// operation is one registered route with its OpenAPI operation.
type operation struct {
	method, path string // path in Fiber's form (/api/holds/:hold)
	op           *openapi3.Operation
	params       []string
}

func (o operation) String() string { return o.method + " " + o.path }

// needsAccount: the document says the operation requires a signed-in
// caller (a security requirement without an empty alternative).
func (o operation) needsAccount() bool {
	if o.op.Security == nil || len(*o.op.Security) == 0 {
		return false
	}
	for _, req := range *o.op.Security {
		if len(req) == 0 {
			return false
		}
	}
	return true
}

func (o operation) admin() bool { return strings.HasPrefix(o.path, "/api/admin/") }

func (o operation) unsafe() bool {
	return o.method != http.MethodGet && o.method != http.MethodHead && o.method != http.MethodOptions
}

// bodySchema is the JSON schema of the request body, or nil.
func (o operation) bodySchema() *openapi3.Schema {
	if o.op.RequestBody == nil || o.op.RequestBody.Value == nil {
		return nil
	}
	mt := o.op.RequestBody.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil {
		return nil
	}
	return mt.Schema.Value
}

var fiberParam = regexp.MustCompile(`:(\w+)`)

// operations lists the app's API routes (the /api group, /healthz, /readyz,
// /metrics; not the WebSocket upgrade nor the browser app's files), each
// joined with its operation. TestOpenAPIMatchesRoutes proves the join is
// total.
func operations(t *testing.T, e *env) []operation {
	t.Helper()
	doc, _ := loadContract(t)
	var ops []operation
	for _, r := range e.srv.App().GetRoutes(true) {
		if r.Method == "HEAD" || r.Method == "USE" || r.Path == "/ws" || r.Path == "/" || r.Path == "/api/" || strings.HasSuffix(r.Path, "/*") {
			continue
		}
		item := doc.Paths.Find(fiberParam.ReplaceAllString(r.Path, "{$1}"))
		if item == nil || item.GetOperation(r.Method) == nil {
			t.Fatalf("route %s %s is not in openapi.json", r.Method, r.Path)
		}
		o := operation{method: r.Method, path: r.Path, op: item.GetOperation(r.Method)}
		for _, m := range fiberParam.FindAllStringSubmatch(r.Path, -1) {
			o.params = append(o.params, m[1])
		}
		ops = append(ops, o)
	}
	if len(ops) < 40 {
		t.Fatalf("only %d operations: the route walk is broken", len(ops))
	}
	return ops
}

// world is what the hostile clients attack: an event on sale, an admin, and
// an owner with one of everything a fan can own (a live hold, a payment
// awaiting its card, an order of three tickets: one kept, one offered to a
// recipient, one listed for resale), plus other, a stranger to all of it.
type world struct {
	e                       *env
	admin, owner, other     string // session tokens
	recipient, recipientEml string
	ownerEmail              string
	event                   string
	seats                   []string // seats no one holds yet
	// ids names, for each path parameter, an object of the owner's.
	ids map[string]string
}

// ownerScoped are the path parameters naming an object that belongs to one
// account; every other account must get 404 for it, as if it did not exist.
var ownerScoped = []string{"hold", "payment", "order", "ticket", "transfer"}

func newWorld(t *testing.T, o envOpts) *world {
	t.Helper()
	e := newEnv(t, o)
	// The events a world makes (and those its attackers make) go off sale
	// when the test ends: every on-sale event of the package's database
	// costs each later stats tick (salestats) a counter.
	var start time.Time
	if err := e.db().QueryRow(context.Background(), `SELECT now()`).Scan(&start); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := e.db().Exec(context.Background(), `UPDATE events SET paused = true WHERE created_at >= $1`, start); err != nil {
			t.Errorf("pause the world's events: %v", err)
		}
	})
	w := &world{e: e, admin: e.admin(), ids: map[string]string{}}
	w.ownerEmail, w.owner = w.account("owner")
	_, w.other = w.account("other")
	w.recipientEml, w.recipient = w.account("recipient")
	event, seats := e.event(1, 2, 10)
	w.event, w.ids["event"] = event, event

	hold := e.holdSeats(event, w.owner, seats[0], seats[1], seats[2])
	p := e.startCheckout(hold, w.owner)
	r := e.do("POST", "/api/payments/"+p.Payment.ID+"/confirm", w.owner, map[string]string{"card_number": "4242424242424242"})
	var paid struct {
		OrderID string `json:"order_id"`
	}
	r.json(t, &paid)
	var order struct {
		Tickets []struct{ ID string }
	}
	e.do("GET", "/api/orders/"+paid.OrderID, w.owner, nil).json(t, &order)
	if r.status != 200 || len(order.Tickets) != 3 {
		t.Fatalf("world: order %s: %d %s", paid.OrderID, r.status, r.body)
	}
	w.ids["order"], w.ids["ticket"] = paid.OrderID, order.Tickets[0].ID

	r = e.do("POST", "/api/tickets/"+order.Tickets[1].ID+"/transfers", w.owner, map[string]string{"to_email": w.recipientEml})
	var tr struct{ ID string }
	r.json(t, &tr)
	r2 := e.do("POST", "/api/tickets/"+order.Tickets[2].ID+"/listing", w.owner, map[string]int{"price_cents": 4200})
	var l struct{ ID string }
	r2.json(t, &l)
	if r.status != 201 || r2.status != 201 {
		t.Fatalf("world: transfer %d %s, listing %d %s", r.status, r.body, r2.status, r2.body)
	}
	w.ids["transfer"], w.ids["listing"] = tr.ID, l.ID

	var ev struct {
		Venue struct{ ID json.Number }
	}
	e.do("GET", "/api/events/"+event, "", nil).json(t, &ev)
	w.ids["venue"] = ev.Venue.ID.String()
	w.ids["hold"] = e.holdSeats(event, w.owner, seats[3])
	w.ids["payment"] = e.startCheckout(e.holdSeats(event, w.owner, seats[4]), w.owner).Payment.ID
	// Media files are public and named by their content's hash; this one
	// is well formed and absent.
	w.ids["file"] = strings.Repeat("0", 64) + ".jpg"
	// An account of its own for the role routes: an admin's random role
	// change must never land on another test's account.
	w.ids["account"], _ = e.signUp("staff")
	w.seats = seats[5:]
	return w
}

// account signs up a fan and returns its email and token.
func (w *world) account(name string) (email, token string) {
	email = name + "-" + testkit.RandomHex(4) + "@example.test"
	r := w.e.do("POST", "/api/accounts", "", map[string]string{"email": email, "password": "correct horse", "name": name})
	var out struct{ Token string }
	r.json(w.e.t, &out)
	if r.status != 201 {
		w.e.t.Fatalf("sign up %s: %d %s", name, r.status, r.body)
	}
	return email, out.Token
}

// path fills a route's parameters with the world's objects. A fan's route
// naming an object the world cannot make fails the suite until newWorld
// makes one; an admin route gets "1" instead (no fan may reach it at all).
func (w *world) path(t *testing.T, o operation) string {
	t.Helper()
	return fiberParam.ReplaceAllStringFunc(o.path, func(m string) string {
		id, ok := w.ids[m[1:]]
		switch {
		case ok:
			return id
		case o.admin():
			return "1"
		}
		t.Fatalf("%s: the hostile suite has no object for :%s; make one in newWorld", o, m[1:])
		return ""
	})
}

// caller is who may call an operation: the admin for admin routes, the
// owner otherwise.
func (w *world) caller(o operation) string {
	if o.admin() || o.path == "/api/checkins" {
		return w.admin
	}
	return w.owner
}

// validBody is a body the operation's schema accepts, with real ids where
// a field names one, or nil when the operation takes no body.
func (w *world) validBody(o operation) any {
	s := o.bodySchema()
	if s == nil {
		return nil
	}
	g := &valueGen{rnd: rand.New(rand.NewPCG(1, 2)), w: w}
	return g.valid(s, "", 0)
}

// valueGen makes values for a schema: valid ones (within its types, enums,
// bounds and formats) and, for the fuzzer, invalid ones.
type valueGen struct {
	rnd *rand.Rand
	w   *world
	// all fills optional properties at random and sometimes puts random
	// values where real ones would do (the fuzzer); without it a body has
	// the required properties and those the world has real values for.
	all bool
	// nul puts a NUL byte into strings.
	nul bool
}

// known are real values for properties that name something of the world's.
func (g *valueGen) known(name string) (any, bool) {
	if g.w == nil {
		return nil, false
	}
	switch name {
	case "seat_ids":
		return []string{g.w.seats[g.rnd.IntN(len(g.w.seats))]}, true
	case "to_email":
		return g.w.recipientEml, true
	case "email":
		return g.w.ownerEmail, true
	case "password":
		return "correct horse", true
	case "card_number":
		return "4242424242424242", true
	case "preset":
		return "theater", true // the smallest: a stadium is 49,000 seat rows
	case "venue_id":
		return g.w.ids["venue"], g.w.ids["venue"] != ""
	}
	return nil, false
}

func (g *valueGen) valid(s *openapi3.Schema, name string, depth int) any {
	if v, ok := g.known(name); ok && (!g.all || g.rnd.IntN(4) != 0) {
		return v
	}
	if len(s.Enum) > 0 {
		return s.Enum[g.rnd.IntN(len(s.Enum))]
	}
	switch {
	case s.Type.Is("object"):
		out := map[string]any{}
		names := make([]string, 0, len(s.Properties))
		for n := range s.Properties {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			_, known := g.known(n)
			if slices.Contains(s.Required, n) || (known && !g.all) || (g.all && depth < 3 && g.rnd.IntN(2) == 0) {
				out[n] = g.valid(s.Properties[n].Value, n, depth+1)
			}
		}
		if s.AdditionalProperties.Schema != nil && len(out) == 0 {
			out["k"+fmt.Sprint(g.rnd.IntN(9))] = g.valid(s.AdditionalProperties.Schema.Value, "", depth+1)
		}
		return out
	case s.Type.Is("array"):
		n := int(s.MinItems)
		if n == 0 {
			n = 1
		}
		out := make([]any, n)
		for i := range out {
			out[i] = g.valid(s.Items.Value, "", depth+1)
		}
		return out
	case s.Type.Is("integer"):
		lo, hi := 1.0, 10.0
		if s.Min != nil {
			lo = *s.Min
		}
		if s.Max != nil {
			hi = *s.Max
		}
		if hi < lo {
			hi = lo + 9
		}
		return int64(lo) + g.rnd.Int64N(int64(hi-lo)+1)
	case s.Type.Is("number"):
		lo, hi := 0.0, 1.0
		if s.Min != nil {
			lo = *s.Min
		}
		if s.Max != nil {
			hi = *s.Max
		}
		return lo + g.rnd.Float64()*(hi-lo)
	case s.Type.Is("boolean"):
		return g.rnd.IntN(2) == 0
	case s.Type.Is("string"):
		return g.str(s)
	}
	return nil
}

func (g *valueGen) str(s *openapi3.Schema) string {
	switch {
	case s.Format == "email":
		return "fan-" + fmt.Sprint(g.rnd.IntN(1e6)) + "@example.test"
	case s.Format == "date-time":
		return time.Now().Add(time.Duration(g.rnd.IntN(72)) * time.Hour).UTC().Format(time.RFC3339)
	case s.Pattern == "^[0-9]{1,20}$":
		return fmt.Sprint(g.rnd.IntN(1e9))
	}
	n := int(s.MinLength)
	if n < 3 {
		n = 3 + g.rnd.IntN(8)
	}
	if s.MaxLength != nil && uint64(n) > *s.MaxLength {
		n = int(*s.MaxLength)
	}
	const letters = "abcdefghijklmnopqrstuvwxyz0123456789 -_"
	b := make([]byte, n)
	for i := range b {
		b[i] = letters[g.rnd.IntN(len(letters))]
	}
	if g.nul && n > 0 {
		b[g.rnd.IntN(n)] = 0
	}
	return string(b)
}

// wrongType is a JSON value of another type than s.
func wrongType(s *openapi3.Schema) any {
	switch {
	case s.Type.Is("string"):
		return 12345
	case s.Type.Is("integer"), s.Type.Is("number"):
		return "12345"
	case s.Type.Is("boolean"):
		return "yes"
	case s.Type.Is("array"):
		return map[string]any{"0": "x"}
	case s.Type.Is("object"):
		return []any{"x"}
	}
	return []any{}
}

// want4xx fails unless r is a 4xx answer; contractTransport has already
// checked its body against the Error schema.
func want4xx(t *testing.T, what string, r resp) {
	t.Helper()
	if r.status < 400 || r.status > 499 {
		t.Errorf("%s: %d %.200s, want a 4xx", what, r.status, r.body)
	}
}

// TestHostileOtherAccountsObjects: every owner-scoped route (one whose
// path names a hold, payment, order, ticket or transfer) answers another
// account 404, as if the object did not exist, and leaves it untouched.
func TestHostileOtherAccountsObjects(t *testing.T) {
	w := newWorld(t, envOpts{})
	n := 0
	for _, o := range operations(t, w.e) {
		if !o.needsAccount() || o.admin() || !slices.ContainsFunc(o.params, func(p string) bool { return slices.Contains(ownerScoped, p) }) {
			continue
		}
		n++
		if r := w.e.do(o.method, w.path(t, o), w.other, w.validBody(o)); r.status != 404 {
			t.Errorf("%s by another account: %d %.200s, want 404", o, r.status, r.body)
		}
	}
	if n < 15 {
		t.Errorf("only %d owner-scoped routes", n)
	}
	// Nothing happened to the owner's objects.
	var hold struct{ Status string }
	w.e.do("GET", "/api/holds/"+w.ids["hold"], w.owner, nil).json(t, &hold)
	var ticket struct{ Status, TransferID string }
	w.e.do("GET", "/api/tickets/"+w.ids["ticket"], w.owner, nil).json(t, &ticket)
	var transfers []struct{ ID, Status string }
	w.e.do("GET", "/api/transfers", w.owner, nil).json(t, &transfers)
	if hold.Status != "active" || ticket.Status != "valid" || len(transfers) != 1 || transfers[0].Status != "pending" {
		t.Errorf("after the attack: hold %s, ticket %s, transfers %+v", hold.Status, ticket.Status, transfers)
	}
}

// TestHostileBodies: every unsafe operation refuses, with a 4xx in the
// error shape, a body with an unknown field, each field of the wrong type,
// and text that is not the JSON object it expects; one that takes no body
// refuses any field.
func TestHostileBodies(t *testing.T) {
	w := newWorld(t, envOpts{})
	junk := []string{`{`, `[]`, `"x"`, `{"a":1}{"b":2}`, `{"` + strings.Repeat("[", 50) + `":1}`, "\xff\xfe"}
	n := 0
	for _, o := range operations(t, w.e) {
		if !o.unsafe() {
			continue
		}
		n++
		t.Run(strings.ReplaceAll(o.String(), "/", "_"), func(t *testing.T) {
			path, who := w.path(t, o), w.caller(o)
			s := o.bodySchema()
			if s == nil {
				want4xx(t, "a field where no body is taken", w.e.do(o.method, path, who, map[string]any{"status": "paid"}))
				return
			}
			valid := w.validBody(o).(map[string]any)
			extra := map[string]any{"zz_unknown": 1}
			for k, v := range valid {
				extra[k] = v
			}
			want4xx(t, "an unknown field", w.e.do(o.method, path, who, extra))
			for name, p := range s.Properties {
				bad := map[string]any{}
				for k, v := range valid {
					bad[k] = v
				}
				bad[name] = wrongType(p.Value)
				want4xx(t, name+" of the wrong type", w.e.do(o.method, path, who, bad))
			}
			for _, j := range junk {
				want4xx(t, fmt.Sprintf("body %q", j), w.e.do(o.method, path, who, j))
			}
		})
	}
	if n < 25 {
		t.Errorf("only %d unsafe operations", n)
	}
}

// TestHostileOversizedBodies: a body past the route's limit is refused
// with 413 before a handler sees it: 64 KB everywhere but the venue and
// event image uploads.
func TestHostileOversizedBodies(t *testing.T) {
	w := newWorld(t, envOpts{})
	big := `{"pad":"` + strings.Repeat("x", 64<<10) + `"}`
	for _, o := range operations(t, w.e) {
		if !o.unsafe() {
			continue
		}
		t.Run(strings.ReplaceAll(o.String(), "/", "_"), func(t *testing.T) {
			if strings.HasPrefix(o.path, "/api/admin/venues") || o.path == "/api/admin/events/:event/image" {
				// Refused on its Content-Length: the client sends the
				// first 16 KB (the server reads a little ahead before
				// the handler runs) and then waits for the answer.
				const announced = 100 << 20
				if r := w.e.headersOnly(o.method, w.path(t, o), w.caller(o), announced); r.status != 413 {
					t.Errorf("a %d-byte upload: %d %.200s, want 413", announced, r.status, r.body)
				}
				return
			}
			if r := w.e.do(o.method, w.path(t, o), w.caller(o), big); r.status != 413 {
				t.Errorf("%d bytes: %d %.200s, want 413", len(big), r.status, r.body)
			}
		})
	}
}

// headersOnly sends a request's headers announcing a body of n bytes and
// only the first 16 KB of it, then reads the answer, which it checks
// against openapi.json.
func (e *env) headersOnly(method, path, token string, n int) resp {
	e.t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.base, "http://"))
	if err != nil {
		e.t.Fatal(err)
	}
	defer conn.Close()
	req, _ := http.NewRequest(method, e.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Length", strconv.Itoa(n))
	fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, path, req.Host)
	req.Header.Write(conn)
	fmt.Fprint(conn, "\r\n")
	conn.Write(bytes.Repeat([]byte(" "), 16<<10))
	res, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		e.t.Fatalf("%s %s with %d bytes announced: %v", method, path, n, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if err := checkContract(req, res.StatusCode, res.Header, body); err != nil {
		e.t.Errorf("contract: %s %s → %d %.300s:\n%v", method, path, res.StatusCode, body, err)
	}
	return resp{status: res.StatusCode, header: res.Header, body: body}
}

// TestHostileTokens: every operation that needs an account answers 401 to
// no credential, a forged bearer token, a forged session cookie, an
// expired session and a signed-out one; one that does not need an account
// never answers 401 for the lack of one.
func TestHostileTokens(t *testing.T) {
	w := newWorld(t, envOpts{})
	ctx := context.Background()
	_, expired := w.account("expired")
	sum := sha256.Sum256([]byte(expired)) // sessions keep the token's hash
	if tag, err := w.e.db().Exec(ctx, `UPDATE sessions SET expires_at = now() - interval '1 second' WHERE token_hash = $1`, sum[:]); err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("expire the session: %v %v", tag, err)
	}
	_, gone := w.account("signed-out")
	if r := w.e.do("DELETE", "/api/sessions", gone, nil); r.status != 204 {
		t.Fatalf("sign out: %d", r.status)
	}
	forged := testkit.RandomHex(21) + "x"
	creds := []struct {
		name    string
		headers []string
	}{
		{"no credential", nil},
		{"a forged bearer token", []string{"Authorization", "Bearer " + forged}},
		{"a forged session cookie", []string{"Cookie", "bo_session=" + forged, "Origin", "http://app.test"}},
		{"an expired session", []string{"Authorization", "Bearer " + expired}},
		{"a signed-out session", []string{"Authorization", "Bearer " + gone}},
		{"a token too long to be one", []string{"Authorization", "Bearer " + strings.Repeat("A", 4096)}},
	}
	for _, o := range operations(t, w.e) {
		path, body := w.path(t, o), w.validBody(o)
		if !o.needsAccount() {
			if r := w.e.do(o.method, path, "", body); r.status == 401 {
				t.Errorf("%s anonymously: 401, but openapi.json says it needs no account", o)
			}
			continue
		}
		for _, c := range creds {
			r := w.e.do(o.method, path, "", body, c.headers...)
			if r.status != 401 {
				t.Errorf("%s with %s: %d %.200s, want 401", o, c.name, r.status, r.body)
			}
		}
	}
}

// TestHostileAdmissionTokens: while an event's waiting room is on, every
// route that takes X-Admission-Token refuses a forged or malformed one.
func TestHostileAdmissionTokens(t *testing.T) {
	w := newWorld(t, envOpts{})
	if r := w.e.do("PUT", "/api/admin/events/"+w.event+"/queue", w.admin, map[string]any{"enabled": true, "admit_per_minute": 10, "active_limit": 10}); r.status != 200 {
		t.Fatalf("room on: %d %s", r.status, r.body)
	}
	forged := "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIiwiZXZ0IjoiMSIsImV4cCI6OTk5OTk5OTk5OX0.c2lnbmVkLWJ5LXNvbWVvbmUtZWxzZQ"
	n := 0
	for _, o := range operations(t, w.e) {
		takes := slices.ContainsFunc(o.op.Parameters, func(p *openapi3.ParameterRef) bool { return p.Value.Name == server.HeaderAdmissionToken })
		if !takes {
			continue
		}
		n++
		for _, tok := range []string{"", forged, "not-a-token", strings.Repeat("a.", 2000)} {
			r := w.e.do(o.method, w.path(t, o), w.other, w.validBody(o), server.HeaderAdmissionToken, tok)
			if r.status != 403 {
				t.Errorf("%s with admission token %.20q: %d %.200s, want 403", o, tok, r.status, r.body)
			}
		}
	}
	if n == 0 {
		t.Error("no operation takes X-Admission-Token")
	}
}

// TestHostileWebhookReplay: one signed Stripe event delivered many times,
// at once and again later, settles its payment once: one order, one
// capture.
func TestHostileWebhookReplay(t *testing.T) {
	e := newEnv(t, envOpts{webhookSecret: whSecret})
	ctx := context.Background()
	event, seats := e.event(1, 1, 4)
	_, token := e.signUp("replayed")
	p := e.startCheckout(e.holdSeats(event, token, seats[0]), token)
	var intent string
	if err := e.db().QueryRow(ctx, `SELECT intent_id FROM payments WHERE id = $1`, p.Payment.ID).Scan(&intent); err != nil {
		t.Fatal(err)
	}
	if _, err := e.proc.Confirm(ctx, intent, checkout.Method{PaymentMethod: "pm_card_visa"}, "client:"+intent); err != nil {
		t.Fatal(err)
	}
	id := "evt_replay_" + testkit.RandomHex(4)
	body, hdr := signedEvent(id, "payment_intent.amount_capturable_updated", intent, "requires_capture", time.Now())
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if r := e.webhook(body, hdr); r.status != 200 {
				t.Errorf("delivery: %d %s", r.status, r.body)
			}
		})
	}
	wg.Wait()
	body, hdr = signedEvent(id, "payment_intent.amount_capturable_updated", intent, "requires_capture", time.Now())
	var again struct{ Duplicate bool }
	if r := e.webhook(body, hdr); r.status != 200 || json.Unmarshal(r.body, &again) != nil || !again.Duplicate {
		t.Errorf("late replay: %d %s, want 200 duplicate", r.status, r.body)
	}
	var orders int
	if err := e.db().QueryRow(ctx, `SELECT count(*) FROM orders WHERE payment_id = $1`, p.Payment.ID).Scan(&orders); err != nil {
		t.Fatal(err)
	}
	if st := e.proc.Stats(); orders != 1 || st.Captures != 1 {
		t.Errorf("%d orders and %d captures after 9 deliveries, want 1 and 1", orders, st.Captures)
	}
}

// TestHostileSocketFlood: one client opens many sockets and floods each
// with ops and oversized messages; every flooding socket is closed, and the
// node still serves pages and sockets to others.
func TestHostileSocketFlood(t *testing.T) {
	e := newEnv(t, envOpts{live: liveCfg()})
	event, _ := e.event(1, 1, 3)
	_, token := e.signUp("flooder")
	const sockets = 50
	conns := make([]*wsConn, sockets)
	for i := range conns {
		conns[i] = mustDialWS(t, e.base, token)
	}
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Go(func() {
			if i%5 == 0 {
				_ = c.c.WriteMessage(websocket.TextMessage, []byte(strings.Repeat("x", realtime.MaxOpSize+1)))
				return
			}
			for range 100 {
				if c.c.WriteMessage(websocket.TextMessage, []byte(`{"op":"subscribe","topic":"event:`+event+`:seats"}`)) != nil {
					return // closed by the server: the point
				}
			}
		})
	}
	wg.Wait()
	for i, c := range conns {
		want := realtime.ClosePolicyViolation
		if i%5 == 0 {
			want = websocket.CloseMessageTooBig
		}
		if code := c.closed(); code != want {
			t.Errorf("socket %d: close %d, want %d", i, code, want)
		}
	}
	if r := e.do("GET", "/api/events/"+event+"/availability", "", nil); r.status != 200 {
		t.Errorf("after the flood: availability %d", r.status)
	}
	mustDialWS(t, e.base, "").subscribe("event:" + event + ":seats")
}

// TestHostileSignInBruteForce: guessing one account's password from one
// address ends in 429 with Retry-After, long before the guesser is done.
func TestHostileSignInBruteForce(t *testing.T) {
	w := newWorld(t, envOpts{limits: server.DefaultRateLimits()})
	for i := range 500 {
		r := w.e.do("POST", "/api/sessions", "", map[string]string{"email": w.ownerEmail, "password": fmt.Sprintf("guess-%04d", i)})
		if r.status == 429 {
			if r.header.Get("Retry-After") == "" || r.errCode(t) != "rate_limited" {
				t.Errorf("429 without Retry-After or rate_limited: %v %s", r.header, r.body)
			}
			return
		}
		if r.status != 401 {
			t.Fatalf("guess %d: %d %s, want 401 then 429", i, r.status, r.body)
		}
	}
	t.Error("500 wrong passwords from one address, never a 429")
}

// TestHostileSignInBruteForceManyAddresses: the same guessing spread over
// many addresses (behind a trusted proxy) is throttled per account.
func TestHostileSignInBruteForceManyAddresses(t *testing.T) {
	w := newWorld(t, envOpts{limits: server.DefaultRateLimits(), trustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	for i := range 500 {
		r := w.e.do("POST", "/api/sessions", "", map[string]string{"email": w.ownerEmail, "password": fmt.Sprintf("guess-%04d", i)},
			"X-Real-IP", fmt.Sprintf("198.51.%d.%d", i/250, i%250+1))
		if r.status == 429 {
			return
		}
	}
	t.Error("500 wrong passwords for one account from 500 addresses, never a 429")
}
