package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/boxoffice/boxoffice/internal/testkit"
	"github.com/boxoffice/boxoffice/seatmap"
)

// TestTwoProcesses: two boxoffice server processes on their own ports share
// Postgres and Redis; a socket on node A sees every hold and release made
// through node B. It prints hold-request → socket latency (the request's
// own work included; server/TestWSTwoNodes times commit → socket exactly).
func TestTwoProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dbURL := testkit.DBURL(t)
	_, prefix := testkit.Redis(t)
	bin := boxofficeBinary(t)
	// Many holds from one account: rate limits off.
	env := []string{"DATABASE_URL=" + dbURL, "REDIS_URL=" + testkit.RedisURL(), "REDIS_PREFIX=" + prefix, "RATE_LIMITS=off"}
	a := startNode(t, bin, env...).base
	b := startNode(t, bin, env...).base

	ctx := context.Background()
	seats := seatmap.New(testkit.DB(t), nil, nil, nil, seatmap.Config{})
	l := seatmap.Layout{Sections: []seatmap.Section{{ID: "A", Name: "A", Tier: "t"}}}
	for n := 1; n <= 10; n++ {
		l.Seats = append(l.Seats, seatmap.SeatSpec{Section: "A", Row: "1", Number: n, X: float64(n), Type: seatmap.SeatStandard, Rank: n})
	}
	v, err := seats.CreateVenue(ctx, "two processes", l)
	if err != nil {
		t.Fatal(err)
	}
	eventID, err := seats.CreateEvent(ctx, seatmap.EventSpec{VenueID: v.ID, Name: "two processes",
		EventDate: time.Now().Add(24 * time.Hour), SaleOpens: time.Now().Add(-time.Hour), Prices: map[string]int64{"default": 1000}})
	if err != nil {
		t.Fatal(err)
	}
	event := fmt.Sprint(eventID)
	var layout struct {
		Seats []struct {
			ID string `json:"id"`
		} `json:"seats"`
	}
	call(t, "GET", b+"/api/events/"+event+"/seatmap", "", nil, 200, &layout)
	var acct struct{ Token string }
	call(t, "POST", b+"/api/accounts", "", map[string]string{"email": "two-" + testkit.RandomHex(4) + "@example.test",
		"password": "correct horse", "name": "fan"}, 201, &acct)

	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(a, "http")+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	topic := "event:" + event + ":seats"
	ws.WriteMessage(websocket.TextMessage, []byte(`{"op":"subscribe","topic":"`+topic+`"}`))
	if f := readFrame(t, ws, "subscribed", "error"); f.Type != "subscribed" {
		t.Fatalf("subscribe: %+v", f)
	}
	var lat []time.Duration
	for i := range 20 {
		id := layout.Seats[i%len(layout.Seats)].ID
		start := time.Now()
		var hold struct{ ID string }
		call(t, "POST", b+"/api/events/"+event+"/holds", acct.Token, map[string]any{"seat_ids": []string{id}}, 201, &hold)
		f := readFrame(t, ws, "seats")
		lat = append(lat, time.Since(start))
		if len(f.Seats) != 1 || string(f.Seats[0][1]) != `"h"` {
			t.Fatalf("hold %d: frame %+v", i, f)
		}
		time.Sleep(60 * time.Millisecond)
		call(t, "DELETE", b+"/api/holds/"+hold.ID, acct.Token, nil, 204, nil)
		if f := readFrame(t, ws, "seats"); string(f.Seats[0][1]) != `"a"` {
			t.Fatalf("release %d: frame %+v", i, f)
		}
		time.Sleep(60 * time.Millisecond)
	}
	slices.Sort(lat)
	fmt.Printf("TestTwoProcesses: hold request on node B → frame on node A's socket over %d holds: p50 %v p99 %v\n",
		len(lat), lat[len(lat)/2], lat[len(lat)*99/100])
}

func call(t *testing.T, method, url, token string, body any, want int, out any) {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != want {
		var b bytes.Buffer
		b.ReadFrom(res.Body)
		t.Fatalf("%s %s: %d %s, want %d", method, url, res.StatusCode, b.String(), want)
	}
	if out != nil {
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
}

type wsFrame struct {
	Type  string               `json:"type"`
	Seats [][3]json.RawMessage `json:"seats"`
}

func readFrame(t *testing.T, c *websocket.Conn, types ...string) wsFrame {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, data, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("waiting for %v: %v", types, err)
		}
		var f wsFrame
		if err := json.Unmarshal(data, &f); err != nil {
			t.Fatalf("frame %s: %v", data, err)
		}
		if slices.Contains(types, f.Type) {
			return f
		}
	}
}
