package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/redis/go-redis/v9"

	"github.com/boxoffice/boxoffice/internal/testkit"
)

// TestRedisCluster: two app nodes share Postgres and a private three-master
// Redis Cluster, configured only through REDIS_URL=redis+cluster://...
// Through the real HTTP API: a hold on node B sets its gate keys on the
// cluster and reaches a socket on node A (PUBLISH from a Lua script crosses
// the cluster bus); a second fan is turned away at the gate; the release
// reaches the socket too; the diff stream catches up from the cluster; node
// B's GCRA rate limit answers 429; and the flash-sale driver takes fans
// through the waiting room (challenge, proof of work, join, the admitter's
// lease and script, admission) to checkout on node A with every invariant
// holding. Then the whole cluster is killed and holds still work.
func TestRedisCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Redis Cluster and a load run")
	}
	cluster := testkit.StartRedisCluster(t)
	dbURL := testkit.DBURL(t)
	prefix := "t" + testkit.RandomHex(4) + ":"
	node := func(rateLimits string) (func(string) string, *App, string) {
		env := map[string]string{
			"DATABASE_URL": dbURL, "REDIS_URL": cluster.URL(), "LISTEN_ADDR": "127.0.0.1:0",
			"REDIS_PREFIX": prefix, "LOG_LEVEL": "error", "SECRET_KEY": strings.Repeat("c1", 32),
			"RATE_LIMITS": rateLimits, "DB_MAX_CONNS": "8", // small: other packages share Postgres
		}
		getenv := func(k string) string { return env[k] }
		app, base := runApp(t, getenv)
		return getenv, app, base
	}
	getenvA, appA, a := node("off")
	// Two sign-ups an hour from one address: the third is refused.
	_, _, b := node("auth.ip=2/h:2")
	if _, ok := appA.Redis.(*redis.ClusterClient); !ok {
		t.Fatalf("REDIS_URL=%s built a %T, want a *redis.ClusterClient", cluster.URL(), appA.Redis)
	}
	rdb := cluster.Client()
	ctx := context.Background()

	t.Run("holds", func(t *testing.T) {
		event := smallEvent(t, appA.Seats, "cluster holds", 1, 1, 10, `{"enabled": false}`)
		var layout struct {
			Seats []struct {
				ID string `json:"id"`
			} `json:"seats"`
		}
		call(t, "GET", b+"/api/events/"+event+"/seatmap", "", nil, 200, &layout)
		var fan1, fan2 struct{ Token string }
		call(t, "POST", b+"/api/accounts", "", map[string]string{"email": "c1-" + testkit.RandomHex(4) + "@example.test",
			"password": "correct horse", "name": "fan"}, 201, &fan1)
		call(t, "POST", b+"/api/accounts", "", map[string]string{"email": "c2-" + testkit.RandomHex(4) + "@example.test",
			"password": "correct horse", "name": "fan"}, 201, &fan2)

		ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(a, "http")+"/ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer ws.Close()
		ws.WriteMessage(websocket.TextMessage, []byte(`{"op":"subscribe","topic":"event:`+event+`:seats"}`))
		if f := readFrame(t, ws, "subscribed", "error"); f.Type != "subscribed" {
			t.Fatalf("subscribe: %+v", f)
		}

		seats := []string{layout.Seats[3].ID, layout.Seats[4].ID}
		var hold struct{ ID string }
		call(t, "POST", b+"/api/events/"+event+"/holds", fan1.Token, map[string]any{"seat_ids": seats}, 201, &hold)
		if f := readFrame(t, ws, "seats"); len(f.Seats) != 2 || string(f.Seats[0][1]) != `"h"` || string(f.Seats[1][1]) != `"h"` {
			t.Fatalf("hold on node B: frame on node A %+v, want both seats held", f)
		}
		for _, id := range seats {
			key := prefix + "ev:{" + event + "}:seat:" + id
			if got, err := rdb.Get(ctx, key).Result(); err != nil || got != hold.ID {
				t.Errorf("gate key %s on the cluster: %q, %v; want the hold id %s", key, got, err, hold.ID)
			}
		}
		call(t, "POST", a+"/api/events/"+event+"/holds", fan2.Token, map[string]any{"seat_ids": seats[1:]}, 409, nil)

		call(t, "DELETE", b+"/api/holds/"+hold.ID, fan1.Token, nil, 204, nil)
		if f := readFrame(t, ws, "seats"); len(f.Seats) != 2 || string(f.Seats[0][1]) != `"a"` {
			t.Fatalf("release on node B: frame on node A %+v, want both seats available", f)
		}
		var diffs struct {
			From, To int64
			Seats    [][3]any
		}
		call(t, "GET", a+"/api/events/"+event+"/diffs?from=0", "", nil, 200, &diffs)
		if diffs.To-diffs.From != 2 || len(diffs.Seats) != 2 || diffs.Seats[0][1] != "a" {
			t.Errorf("diffs from 0 on node A: %+v, want the hold and the release (two seqs, both seats available)", diffs)
		}
	})

	t.Run("rate limit", func(t *testing.T) {
		// The holds subtest spent node B's two sign-ups (or, run alone,
		// these two do).
		var res *http.Response
		for range 3 {
			body := `{"email":"c3-` + testkit.RandomHex(4) + `@example.test","password":"correct horse","name":"fan"}`
			var err error
			if res, err = http.Post(b+"/api/accounts", "application/json", strings.NewReader(body)); err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode == http.StatusTooManyRequests {
				break
			}
		}
		if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
			t.Fatalf("sign-ups past auth.ip=2/h: %d Retry-After %q, want 429 with Retry-After", res.StatusCode, res.Header.Get("Retry-After"))
		}
	})

	t.Run("waiting room", func(t *testing.T) {
		event := smallEvent(t, appA.Seats, "cluster room", 2, 2, 5,
			`{"enabled": true, "admit_per_minute": 3000, "active_limit": 8, "pow_difficulty": 4}`)
		tokens := filepath.Join(t.TempDir(), "fans.tokens")
		if code := run(ctx, []string{"seed", "fans", "12", "-tokens", tokens}, getenvA, io.Discard, io.Discard); code != 0 {
			t.Fatalf("seed fans: exit %d", code)
		}
		rep, _ := flashsale(t, getenvA, "-url", a, "-event", event, "-fans", "12", "-tokens", tokens, "-watchers", "1",
			"-decline", "0", "-duration", "30s", "-queue-poll", "200ms")
		checkReport(t, rep)
		for _, step := range []string{"challenge", "pow", "join", "admission_wait"} {
			if rep.Steps[step].N == 0 {
				t.Errorf("step %s never ran: %+v", step, rep.Steps)
			}
		}
	})

	// Last: Redis is an accelerator. With the whole cluster gone, a hold
	// and its release still go through Postgres, and the node says it is
	// degraded, not down.
	t.Run("cluster down", func(t *testing.T) {
		event := smallEvent(t, appA.Seats, "cluster down", 1, 1, 4, `{"enabled": false}`)
		var layout struct {
			Seats []struct {
				ID string `json:"id"`
			} `json:"seats"`
		}
		call(t, "GET", a+"/api/events/"+event+"/seatmap", "", nil, 200, &layout)
		var fan struct{ Token string }
		call(t, "POST", a+"/api/accounts", "", map[string]string{"email": "c4-" + testkit.RandomHex(4) + "@example.test",
			"password": "correct horse", "name": "fan"}, 201, &fan)
		// One master down: its share of the keys is gone, and the node
		// says so even when a PING would have gone to a live master.
		cluster.Kill(0)
		var ready struct{ Status string }
		call(t, "GET", a+"/readyz", "", nil, 200, &ready)
		if ready.Status != "degraded" {
			t.Errorf("readyz with one master of three down: %q, want degraded", ready.Status)
		}
		cluster.Stop()
		var hold struct{ ID string }
		start := time.Now()
		call(t, "POST", a+"/api/events/"+event+"/holds", fan.Token, map[string]any{"seat_ids": []string{layout.Seats[0].ID}}, 201, &hold)
		t.Logf("hold with the Redis Cluster down: %v", time.Since(start).Round(time.Millisecond))
		call(t, "DELETE", a+"/api/holds/"+hold.ID, fan.Token, nil, 204, nil)
		call(t, "GET", a+"/readyz", "", nil, 200, &ready)
		if ready.Status != "degraded" {
			t.Errorf("readyz with the Redis Cluster down: %q, want degraded", ready.Status)
		}
	})
}

// TestClusterThroughNginx checks a running `scripts/cluster.sh check`
// topology (make cluster-check), which sets CLUSTER_URL (nginx) and
// CLUSTER_NODES (the app nodes, comma-separated); without them it skips.
// A socket opened through nginx lands on one node; a hold made directly on
// each node in turn reaches it, so at least two of the holds crossed nodes
// through the Redis Cluster, and the release does too.
func TestClusterThroughNginx(t *testing.T) {
	edge, nodeList := os.Getenv("CLUSTER_URL"), os.Getenv("CLUSTER_NODES")
	if edge == "" || nodeList == "" {
		t.Skip("no CLUSTER_URL/CLUSTER_NODES: run by scripts/cluster.sh check (make cluster-check)")
	}
	nodes := strings.Split(nodeList, ",")
	var events []struct{ ID string }
	call(t, "GET", edge+"/api/events?status=on_sale", "", nil, 200, &events)
	event := ""
	for _, e := range events {
		var detail struct {
			WaitingRoom struct{ Enabled bool } `json:"waiting_room"`
		}
		call(t, "GET", edge+"/api/events/"+e.ID, "", nil, 200, &detail)
		if !detail.WaitingRoom.Enabled {
			event = e.ID
			break
		}
	}
	if event == "" {
		t.Fatal("no on-sale event without a waiting room (cluster.sh seeds the demo one)")
	}
	var layout struct {
		Seats []struct {
			ID  string `json:"id"`
			Idx int    `json:"idx"`
		} `json:"seats"`
	}
	call(t, "GET", edge+"/api/events/"+event+"/seatmap", "", nil, 200, &layout)
	var avail struct{ Statuses string }
	call(t, "GET", edge+"/api/events/"+event+"/availability", "", nil, 200, &avail)
	var free []string
	for _, s := range layout.Seats {
		if s.Idx < len(avail.Statuses) && avail.Statuses[s.Idx] == 'a' {
			free = append(free, s.ID)
		}
	}
	if len(free) < len(nodes) {
		t.Fatalf("%d free seats, want %d", len(free), len(nodes))
	}
	var fan struct{ Token string }
	call(t, "POST", edge+"/api/accounts", "", map[string]string{"email": "cluster-" + testkit.RandomHex(4) + "@example.test",
		"password": "correct horse", "name": "fan"}, 201, &fan)

	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(edge, "http")+"/ws", nil)
	if err != nil {
		t.Fatalf("WebSocket through nginx: %v", err)
	}
	defer ws.Close()
	ws.WriteMessage(websocket.TextMessage, []byte(`{"op":"subscribe","topic":"event:`+event+`:seats"}`))
	if f := readFrame(t, ws, "subscribed", "error"); f.Type != "subscribed" {
		t.Fatalf("subscribe through nginx: %+v", f)
	}
	for i, node := range nodes {
		// Spread over the map so concurrent fans of a shared database are
		// unlikely to want the same seat.
		seat := free[(i*len(free)/len(nodes)+int(time.Now().UnixNano()%97))%len(free)]
		var hold struct{ ID string }
		call(t, "POST", node+"/api/events/"+event+"/holds", fan.Token, map[string]any{"seat_ids": []string{seat}}, 201, &hold)
		if f := readFrame(t, ws, "seats"); len(f.Seats) != 1 || string(f.Seats[0][0]) == "" || string(f.Seats[0][1]) != `"h"` {
			t.Fatalf("hold on %s: frame through nginx %+v, want the seat held", node, f)
		}
		call(t, "DELETE", edge+"/api/holds/"+hold.ID, fan.Token, nil, 204, nil)
		if f := readFrame(t, ws, "seats"); len(f.Seats) != 1 || string(f.Seats[0][1]) != `"a"` {
			t.Fatalf("release through nginx: frame %+v, want the seat available", f)
		}
		t.Logf("hold %s on %s (seat %s) and its release through nginx both reached the socket opened through nginx", hold.ID, node, seat)
	}
}
