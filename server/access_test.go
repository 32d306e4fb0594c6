package server_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/boxoffice/boxoffice/realtime"
)

// TestRequestID: a valid X-Request-ID comes back in the response header,
// the error body and the request's log lines (the access line among them);
// an unsafe or missing one is replaced by a new id.
func TestRequestID(t *testing.T) {
	e := newEnv(t, envOpts{})
	_, token := e.signUp("rid")

	r := e.do("GET", "/api/holds/not-a-hold", token, nil, "X-Request-ID", "trace-1.a_b:c")
	if got := r.header.Get("X-Request-ID"); got != "trace-1.a_b:c" {
		t.Fatalf("X-Request-ID = %q, want the client's", got)
	}
	var body struct {
		Error struct {
			Code      string `json:"code"`
			RequestID string `json:"request_id"`
		} `json:"error"`
	}
	r.json(t, &body)
	if body.Error.Code == "" || body.Error.RequestID != "trace-1.a_b:c" {
		t.Fatalf("error body %s: want a code and request_id trace-1.a_b:c", r.body)
	}
	line := accessLine(t, e.logs.String(), "trace-1.a_b:c")
	for k, want := range map[string]any{"method": "GET", "route": "/api/holds/:hold", "status": float64(r.status)} {
		if line[k] != want {
			t.Errorf("access line %s = %v, want %v (line %v)", k, line[k], want, line)
		}
	}
	for _, k := range []string{"duration_ms", "bytes", "account_id"} {
		if _, ok := line[k]; !ok {
			t.Errorf("access line lacks %s: %v", k, line)
		}
	}

	for _, bad := range []string{"", "has space", "<script>", "a/b", strings.Repeat("a", 65), "quote\"s"} {
		r := e.do("GET", "/healthz", "", nil, "X-Request-ID", bad)
		got := r.header.Get("X-Request-ID")
		if got == "" || got == bad || !validLooking(got) {
			t.Errorf("X-Request-ID %q: answered %q, want a new safe id", bad, got)
		}
	}
	a := e.do("GET", "/api/events/0", "", nil).header.Get("X-Request-ID")
	b := e.do("GET", "/api/events/0", "", nil).header.Get("X-Request-ID")
	if a == "" || a == b {
		t.Fatalf("made ids %q and %q: want two different ids", a, b)
	}
}

func validLooking(id string) bool {
	return id != "" && len(id) <= 64 && !strings.ContainsAny(id, " <>/\"")
}

// accessLine finds the access log line ("msg":"request") of the request id.
func accessLine(t *testing.T, logs, id string) map[string]any {
	t.Helper()
	for _, l := range strings.Split(logs, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "request" && m["request_id"] == id {
			return m
		}
	}
	t.Fatalf("no access log line with request_id %s in:\n%s", id, logs)
	return nil
}

// TestSocketMetrics: after a socket received a seat frame, /metrics counts
// the open socket and the frames and bytes written to it.
func TestSocketMetrics(t *testing.T) {
	e := newEnv(t, envOpts{live: liveCfg(), metrics: true})
	event, seats := e.event(1, 1, 4)
	_, fan := e.signUp("fan")
	ws := mustDialWS(t, e.base, fan)
	ws.subscribe(realtime.SeatsTopic(mustInt(t, event)))
	e.holdSeats(event, fan, seats[0])
	ws.next("seats")

	body := string(e.do("GET", "/metrics", "", nil).body)
	values := map[string]float64{}
	for _, l := range strings.Split(body, "\n") {
		if name, v, ok := strings.Cut(l, " "); ok && strings.HasPrefix(name, "boxoffice_ws_") {
			values[name], _ = strconv.ParseFloat(v, 64)
		}
	}
	if values["boxoffice_ws_connections"] != 1 {
		t.Errorf("boxoffice_ws_connections = %v, want 1", values["boxoffice_ws_connections"])
	}
	for _, name := range []string{"boxoffice_ws_frames_total", "boxoffice_ws_frames_out_total", "boxoffice_ws_bytes_out_total"} {
		if values[name] < 1 {
			t.Errorf("%s = %v after a seat frame, want > 0", name, values[name])
		}
	}
	if _, ok := values["boxoffice_ws_slow_consumer_closes_total"]; !ok {
		t.Errorf("/metrics lacks boxoffice_ws_slow_consumer_closes_total")
	}
}
