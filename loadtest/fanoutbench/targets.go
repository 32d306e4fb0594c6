package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/redis/go-redis/v9"

	"github.com/boxoffice/boxoffice/realtime"
	"github.com/boxoffice/boxoffice/seatmap"
)

// target is a fan-out server under test: the same client code drives each.
type target interface {
	// wsURL is where sockets connect.
	wsURL() string
	// subscribe joins a fresh socket to the bench topic and waits for the
	// server's answer.
	subscribe(c *websocket.Conn) error
	// pong answers an application-level ping, nil when the server has none.
	pong() func(*websocket.Conn) error
	// publish sends publish number seq (from 1), whose changes carry
	// version (the publish time), through the server's own publish path.
	publish(ctx context.Context, seq int64, version int64, entries int) error
	pid() int
	stop()
}

// process is a server process the bench started.
type process struct {
	cmd *exec.Cmd
	log string
}

// startProcess runs cmd with its output in a temporary log and waits until
// health answers 200.
func startProcess(cmd *exec.Cmd, health string) (*process, error) {
	logf, err := os.CreateTemp("", "fanoutbench-server-*.log")
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	p := &process{cmd: cmd, log: logf.Name()}
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		res, err := http.Get(health)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return p, nil
			}
		}
	}
	p.stop()
	return nil, fmt.Errorf("%s did not answer %s within 60 s (log: %s)", cmd.Path, health, p.log)
}

func (p *process) pid() int { return p.cmd.Process.Pid }

func (p *process) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}

// freeAddr is a loopback address with a free port.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// boxoffice is a `boxoffice serve` process; publishes go through the real
// seat stream (the Redis script) and its pub/sub channel.
type boxoffice struct {
	*process
	addr    string
	eventID int64
	stream  *seatmap.RedisStream
}

func startBoxoffice(bin, dbURL string, rdb *redis.Client, redisURL, prefix string, eventID int64) (*boxoffice, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), "LISTEN_ADDR="+addr, "DATABASE_URL="+dbURL, "REDIS_URL="+redisURL,
		"REDIS_PREFIX="+prefix, "BASE_URL=http://"+addr, "LOG_LEVEL=warn",
		// Every socket comes from this machine's one address.
		"WS_MAX_PER_IP=1000000")
	p, err := startProcess(cmd, "http://"+addr+"/healthz")
	if err != nil {
		return nil, err
	}
	broker := realtime.NewRedisBroker(rdb, prefix, nil)
	stream := seatmap.NewRedisStream(rdb, prefix, func(id int64) string { return broker.Channel(realtime.SeatsTopic(id)) })
	return &boxoffice{process: p, addr: addr, eventID: eventID, stream: stream}, nil
}

func (b *boxoffice) wsURL() string                     { return "ws://" + b.addr + "/ws" }
func (b *boxoffice) pong() func(*websocket.Conn) error { return nil }

func (b *boxoffice) subscribe(c *websocket.Conn) error {
	for try := 1; ; try++ {
		if err := c.WriteMessage(websocket.TextMessage, []byte(`{"op":"subscribe","topic":"`+realtime.SeatsTopic(b.eventID)+`"}`)); err != nil {
			return err
		}
		// A heartbeat of the topic may come before the ack (the socket
		// joins the topic first): skip it.
		_, ack, err := c.ReadMessage()
		for err == nil && bytes.Contains(ack, []byte(`"heartbeat"`)) {
			_, ack, err = c.ReadMessage()
		}
		if err == nil && bytes.Contains(ack, []byte(`"subscribed"`)) {
			return nil
		}
		// "unavailable" (the event read timed out on a busy machine) says
		// try again, as the browser does.
		if err != nil || !bytes.Contains(ack, []byte(`"unavailable"`)) || try == 5 {
			return fmt.Errorf("subscribe: %s %v", ack, err)
		}
		time.Sleep(time.Duration(try) * 200 * time.Millisecond)
	}
}

func (b *boxoffice) publish(ctx context.Context, seq, version int64, entries int) error {
	seats := make([]seatmap.SeatChange, entries)
	for e := range seats {
		seats[e] = seatmap.SeatChange{Idx: int32((int(seq)*entries + e) % 100), State: seatmap.StateHeld, Version: version}
	}
	return b.stream.PublishSeats(ctx, b.eventID, seats)
}

// centrifugo is a Centrifugo process with anonymous clients allowed to
// subscribe and its HTTP API for publishing; its memory broker, no
// history. Everything else is its default.
type centrifugo struct {
	*process
	addr, apiKey string
	client       *http.Client
}

// centrifugoChannel is the one channel every socket follows.
const centrifugoChannel = "seats"

func startCentrifugo(bin string) (*centrifugo, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	const apiKey = "fanoutbench"
	cfg := map[string]any{
		"http_server": map[string]any{"address": "127.0.0.1", "port": json.Number(port)},
		"log":         map[string]any{"level": "error"},
		"client": map[string]any{
			// Anonymous sockets, no token: the bench measures fan-out.
			"insecure":        true,
			"allowed_origins": []string{"*"},
		},
		"http_api": map[string]any{"key": apiKey},
		"health":   map[string]any{"enabled": true},
	}
	dir, err := os.MkdirTemp("", "fanoutbench-centrifugo-")
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "config.json")
	b, _ := json.MarshalIndent(cfg, "", "  ")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return nil, err
	}
	if bin, err = filepath.Abs(bin); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "--config", path)
	cmd.Dir = dir
	p, err := startProcess(cmd, "http://"+addr+"/health")
	if err != nil {
		return nil, err
	}
	return &centrifugo{process: p, addr: addr, apiKey: apiKey, client: &http.Client{Timeout: 30 * time.Second}}, nil
}

func (c *centrifugo) wsURL() string { return "ws://" + c.addr + "/connection/websocket" }

func (c *centrifugo) pong() func(*websocket.Conn) error {
	return func(ws *websocket.Conn) error { return ws.WriteMessage(websocket.TextMessage, []byte("{}")) }
}

func (c *centrifugo) subscribe(ws *websocket.Conn) error {
	for _, cmd := range []string{`{"id":1,"connect":{}}`, `{"id":2,"subscribe":{"channel":"` + centrifugoChannel + `"}}`} {
		if err := ws.WriteMessage(websocket.TextMessage, []byte(cmd)); err != nil {
			return err
		}
		_, reply, err := ws.ReadMessage()
		if err != nil {
			return err
		}
		if bytes.Contains(reply, []byte(`"error"`)) {
			return fmt.Errorf("centrifugo: %s answered %s", cmd, reply)
		}
	}
	return nil
}

func (c *centrifugo) publish(ctx context.Context, seq, version int64, entries int) error {
	body := fmt.Appendf(nil, `{"channel":%q,"data":%s}`, centrifugoChannel, diffFrame(seq, version, entries))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+c.addr+"/api/publish", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("X-API-Key", c.apiKey)
	req.Header.Set("Content-Type", "application/json")
	res, err := c.client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	var out struct {
		Error *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != 200 || out.Error != nil {
		return fmt.Errorf("centrifugo publish: %s %v %+v", res.Status, err, out.Error)
	}
	return nil
}
