package server_test

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/boxoffice/boxoffice/server"
)

// TestWSUpgrade: the hand-made upgrade answers a bad handshake with a JSON
// 400 before hijacking, refuses a client that sends frames before the 101
// (they would sit in the HTTP reader it lets go of), and gives a socket's
// slot back when the socket ends, so an account at its cap can open one
// again.
func TestWSUpgrade(t *testing.T) {
	e := newEnv(t, envOpts{live: liveCfg(), limits: map[string]server.RouteLimits{}})
	event, _ := e.event(1, 1, 2)
	_, token := e.signUp("fan")
	addr := strings.TrimPrefix(e.base, "http://")
	handshake := "GET /ws HTTP/1.1\r\nHost: " + addr + "\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"

	bad := e.do("GET", "/ws", "", nil, "Connection", "Upgrade", "Upgrade", "websocket", "Sec-WebSocket-Version", "13", "Sec-WebSocket-Key", "short")
	if bad.status != 400 || !strings.Contains(string(bad.body), "bad_handshake") {
		t.Errorf("bad key: %d %s, want 400 bad_handshake", bad.status, bad.body)
	}

	// A ping frame (masked, empty) in the same write as the request.
	early := rawHandshake(t, addr, handshake+"\x89\x80\x00\x00\x00\x00")
	if strings.HasPrefix(early, "HTTP/1.1 101") {
		t.Errorf("data before the 101 was accepted: %q", early)
	}
	if ok := rawHandshake(t, addr, handshake); !strings.HasPrefix(ok, "HTTP/1.1 101") {
		t.Errorf("plain handshake: %q, want 101", ok)
	}

	var socks []*wsConn
	for range server.DefaultWSMaxPerAccount {
		w := mustDialWS(t, e.base, token)
		w.subscribe("event:" + event + ":seats")
		socks = append(socks, w)
	}
	if _, res, err := dialWS(t, e.base, token, false); err == nil || res == nil || res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("socket past the account's cap: %v %v, want 429", err, res)
	}
	_ = socks[0].c.Close()
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var w *wsConn
		if w, _, err = dialWS(t, e.base, token, false); err == nil {
			w.subscribe("event:" + event + ":seats")
			return
		}
	}
	t.Errorf("the closed socket's slot never came back: %v", err)
}

// rawHandshake writes req on a fresh connection and returns the first
// line the server answers ("" when it closes without one).
func rawHandshake(t *testing.T, addr, req string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(c).ReadString('\n')
	return line
}
