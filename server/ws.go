package server

import (
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fasthttp/websocket"
	fiberws "github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"

	"github.com/boxoffice/boxoffice/account"
	"github.com/boxoffice/boxoffice/internal/apperr"
	"github.com/boxoffice/boxoffice/realtime"
	"github.com/boxoffice/boxoffice/seatmap"
)

// Socket timings.
const (
	// wsReadTimeout closes a socket that sent nothing (not even a pong to
	// the hub's pings) for this long.
	wsReadTimeout = 60 * time.Second
	// wsMaxBadOps closes a socket (1008) after this many refused messages
	// in a row.
	wsMaxBadOps = 10
	// wsSubscribeTimeout bounds waiting for the node's broker subscription.
	wsSubscribeTimeout = 5 * time.Second
	// wsOpsPerSecond bounds a socket's ops (a subscribe may cost a Redis
	// SUBSCRIBE); past it ops are refused with rate_limited, which counts
	// as a bad op.
	wsOpsPerSecond = 20
	// wsIdleTimeout closes a socket that follows no topic for this long
	// (just opened, or everything unsubscribed): pongs alone keep a
	// socket alive, and would hold a slot for nothing.
	wsIdleTimeout = 2 * time.Minute
)

// Default caps on open sockets (Config.WSMaxPerIP, WSMaxPerAccount). Fans
// behind one NAT (a venue, a campus) share an address, so the per-IP cap
// is high; one fan needs a socket per tab.
const (
	DefaultWSMaxPerIP      = 200
	DefaultWSMaxPerAccount = 10
)

var errTooManySockets = apperr.E(apperr.RateLimited, "too_many_sockets", "too many open live-update connections from this address or account: close some tabs")

// wsSlots counts the open sockets per client IP and per account.
type wsSlots struct {
	mu   sync.Mutex
	byIP map[string]int
	byID map[int64]int
}

// take reserves a slot for ip and account (0: anonymous), or reports that
// a cap is reached.
func (w *wsSlots) take(ip string, acct int64, maxIP, maxAcct int) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.byIP[ip] >= maxIP || (acct != 0 && w.byID[acct] >= maxAcct) {
		return false
	}
	w.byIP[ip]++
	if acct != 0 {
		w.byID[acct]++
	}
	return true
}

func (w *wsSlots) release(ip string, acct int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.byIP[ip]--; w.byIP[ip] <= 0 {
		delete(w.byIP, ip)
	}
	if acct != 0 {
		if w.byID[acct]--; w.byID[acct] <= 0 {
			delete(w.byID, acct)
		}
	}
}

// localWSSlot carries the reserved slot into the socket handler, which
// frees it when the socket ends.
const localWSSlot = "ws_slot"

type wsSlot struct {
	ip   string
	acct int64
}

var (
	errOrigin     = apperr.E(apperr.Forbidden, "origin_not_allowed", "WebSocket connections are accepted from the site's own origins only")
	errNotUpgrade = apperr.E(apperr.Malformed, "upgrade_required", "GET /ws expects a WebSocket upgrade")
	errNoHub      = apperr.E(apperr.Unavailable, "realtime_unavailable", "live updates are not running on this node")
)

// localWSAccount carries the account into the socket handler: Fiber's
// context is gone by then, and contrib/websocket copies locals.
const localWSAccount = "ws_account"

// wsRoute registers GET /ws: origin check and authentication at the upgrade
// (session cookie, or Authorization: Bearer for scripts), then the socket.
// No recover or cache middleware may sit on this route: the handler runs
// after Fiber's context is released.
func (s *Server) wsRoute() {
	bufs := &sync.Pool{}
	s.app.Get("/ws", s.authenticate, s.wsGate, fiberws.New(s.wsHandler, fiberws.Config{
		// Origins are checked in wsGate with the same allow-list as CSRF.
		// Client messages are small ops and the read buffer lives as long
		// as the socket: longer messages are read in several steps.
		ReadBufferSize:  256,
		WriteBufferSize: 1024,
		WriteBufferPool: bufs, // only the library's control frames use it
		RecoverHandler:  s.wsRecover,
	}))
}

// wsGate refuses what must not become a socket, with a JSON error.
func (s *Server) wsGate(c *fiber.Ctx) error {
	if !fiberws.IsWebSocketUpgrade(c) {
		return errNotUpgrade
	}
	if s.deps.Hub == nil {
		return errNoHub
	}
	// Browsers always send Origin on a WebSocket handshake; scripts may
	// not, and carry no ambient credential (a bearer token), so a missing
	// Origin is allowed.
	if origin := c.Get(fiber.HeaderOrigin); origin != "" && !s.origins[origin] && !sameHost(origin, c) {
		return errOrigin
	}
	a, ok := currentAccount(c)
	if ok {
		c.Locals(localWSAccount, a) // a copy: plain values, no Fiber strings
	}
	if s.deps.Limiter == nil { // rate limits off (RATE_LIMITS=off): no caps
		return c.Next()
	}
	slot := wsSlot{ip: s.clientIP(c), acct: a.ID}
	if !s.wsSlots.take(slot.ip, slot.acct, s.cfg.WSMaxPerIP, s.cfg.WSMaxPerAccount) {
		return errTooManySockets
	}
	c.Locals(localWSSlot, slot)
	// The handler frees the slot when the socket ends; a failed upgrade
	// never reaches it.
	if err := c.Next(); err != nil {
		s.wsSlots.release(slot.ip, slot.acct)
		return err
	}
	return nil
}

func (s *Server) wsRecover(c *fiberws.Conn) {
	if r := recover(); r != nil {
		s.log.Error("ws: handler panic", "panic", r)
	}
}

// wsHandler is the socket's reader. It owns the socket until the hub's
// writer for it is done, and never touches it after returning.
func (s *Server) wsHandler(conn *fiberws.Conn) {
	acct, _ := conn.Locals(localWSAccount).(account.Account)
	id, _ := conn.Locals(localRequestID).(string) // the upgrade request's
	log := s.log.With(slog.String("request_id", id))
	if slot, ok := conn.Locals(localWSSlot).(wsSlot); ok {
		defer s.wsSlots.release(slot.ip, slot.acct)
	}
	tr := newWSTransport(conn.Conn)
	rc := s.deps.Hub.Attach(context.Background(), tr, acct.ID)
	if rc == nil {
		_ = tr.WriteClose(realtime.CloseGoingAway, "server shutting down", time.Now().Add(time.Second))
		return
	}
	defer func() {
		rc.ReaderDone()
		<-rc.Done()
	}()
	// The client's close is answered by the socket's writer, after what it
	// is writing: the library's own answer could land before a data frame
	// the writer sends next, which browsers refuse ("data frame received
	// after close").
	conn.SetCloseHandler(func(code int, _ string) error {
		if code == websocket.CloseNoStatusReceived {
			code = realtime.CloseNormal
		}
		rc.CloseWith(code, "")
		return nil
	})
	conn.SetReadLimit(realtime.MaxOpSize)
	_ = conn.SetReadDeadline(time.Now().Add(wsReadTimeout))
	conn.SetPongHandler(func(string) error { return conn.SetReadDeadline(time.Now().Add(wsReadTimeout)) })
	// A socket following nothing is closed after wsIdleTimeout.
	topics := map[string]bool{}
	idle := time.AfterFunc(wsIdleTimeout, func() { rc.CloseWith(realtime.CloseGoingAway, "idle: no subscription") })
	defer idle.Stop()
	bad := 0
	window, ops := time.Now(), 0
	for {
		mt, data, err := conn.ReadMessage()
		if err != nil {
			return
		}
		_ = conn.SetReadDeadline(time.Now().Add(wsReadTimeout))
		if mt != websocket.TextMessage {
			rc.CloseWith(realtime.CloseUnsupportedData, "text frames only")
			continue
		}
		if now := time.Now(); now.Sub(window) >= time.Second {
			window, ops = now, 0
		}
		ops++
		op, err := realtime.DecodeOp(data)
		if err == nil && ops > wsOpsPerSecond {
			err = realtime.ErrRateLimited
		}
		if err == nil {
			err = s.wsOp(rc, acct, op)
		}
		if err == nil {
			bad = 0
			switch op.Op {
			case realtime.OpUnsubscribe:
				delete(topics, op.Topic)
			case realtime.OpPing:
			default:
				topics[op.Topic] = true
			}
			if len(topics) == 0 {
				idle.Reset(wsIdleTimeout)
			} else {
				idle.Stop()
			}
			rc.Send(realtime.AckFrame(op))
			continue
		}
		var oe *realtime.OpError
		if !errors.As(err, &oe) {
			log.Error("ws: op failed", "op", op.Op, "topic", op.Topic, "err", err)
			oe = realtime.ErrUnavailable
		}
		rc.Send(realtime.ErrorFrame(op, oe))
		if bad++; bad >= wsMaxBadOps {
			rc.CloseWith(realtime.ClosePolicyViolation, "too many bad messages")
		}
	}
}

// wsOp carries out one decoded op.
func (s *Server) wsOp(rc *realtime.Conn, acct account.Account, op realtime.Op) error {
	switch op.Op {
	case realtime.OpPing:
		return nil
	case realtime.OpUnsubscribe:
		rc.Unsubscribe(op.Topic)
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), wsSubscribeTimeout)
	defer cancel()
	tp, _ := realtime.ParseTopic(op.Topic) // DecodeOp checked it
	if _, err := s.deps.Seats.Event(ctx, tp.ID); err != nil {
		if errors.Is(err, seatmap.ErrEventNotFound) {
			return realtime.ErrBadTopic
		}
		return err
	}
	if tp.Kind == realtime.KindStats && (acct.Role != account.RoleAdmin || acct.MustEnrolTOTP()) {
		return realtime.ErrForbidden
	}
	return rc.Subscribe(ctx, op.Topic)
}

// wsTransport is a socket as the hub's writer sees it. Data frames are
// framed by hand (server frames are unmasked: a 2-10 byte header) and
// written straight to the connection: a frame going to many sockets is
// framed once and the same bytes are written to each, without the
// websocket library's per-write lock and deadline. Each frame is one Write,
// and the connection serialises Writes, so the library's own control
// frames from the reader (pong, a 1009 close) never interleave with ours.
type wsTransport struct {
	c  *websocket.Conn
	nc net.Conn
	// deadline is the write deadline set on nc; it is moved only when it
	// got close, since setting it costs a timer update per frame. A control
	// frame written by the library sets its own deadline: stale then.
	deadline time.Time
	stale    atomic.Bool
}

func newWSTransport(c *websocket.Conn) *wsTransport {
	t := &wsTransport{c: c, nc: c.NetConn()}
	c.SetPingHandler(func(data string) error {
		err := c.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
		t.stale.Store(true)
		if err != nil && !errors.Is(err, websocket.ErrCloseSent) {
			var ne net.Error
			if !errors.As(err, &ne) {
				return err
			}
		}
		return nil
	})
	return t
}

func (t *wsTransport) setDeadline(d time.Time) {
	if t.stale.Swap(false) || d.Sub(t.deadline) > time.Second {
		t.deadline = d
		_ = t.nc.SetWriteDeadline(d)
	}
}

// WriteFrame writes one text frame.
func (t *wsTransport) WriteFrame(f *realtime.Frame, deadline time.Time) error {
	t.setDeadline(deadline)
	_, err := t.nc.Write(framed(f))
	return err
}

var _ realtime.BatchTransport = (*wsTransport)(nil)

// WriteFrames writes text frames in one vectored write (writev on a TCP
// connection, which holds the connection's write lock throughout, so the
// library's control frames still never land inside one of ours).
func (t *wsTransport) WriteFrames(fs []*realtime.Frame, deadline time.Time) error {
	t.setDeadline(deadline)
	bufs := make(net.Buffers, len(fs))
	for i, f := range fs {
		bufs[i] = framed(f)
	}
	_, err := bufs.WriteTo(t.nc)
	return err
}

// framed is a frame's bytes on the wire: framed once when the frame goes to
// many sockets.
func framed(f *realtime.Frame) []byte {
	if f.Shared() {
		return f.Prepared(frameText).([]byte)
	}
	return wsFrame(0x81, f.Data)
}

func frameText(p []byte) any { return wsFrame(0x81, p) }

// wsFrame is a final, unmasked frame with opcode op (RFC 6455 §5.2).
func wsFrame(op byte, p []byte) []byte {
	n := len(p)
	b := make([]byte, 0, n+10)
	switch {
	case n <= 125:
		b = append(b, op, byte(n))
	case n <= 0xffff:
		b = append(b, op, 126, byte(n>>8), byte(n))
	default:
		b = append(b, op, 127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	return append(b, p...)
}

func (t *wsTransport) WritePing(deadline time.Time) error {
	t.setDeadline(deadline)
	_, err := t.nc.Write(wsFrame(0x89, nil))
	return err
}

func (t *wsTransport) WriteClose(code int, reason string, deadline time.Time) error {
	t.stale.Store(false)
	t.deadline = deadline
	_ = t.nc.SetWriteDeadline(deadline)
	_, err := t.nc.Write(wsFrame(0x88, websocket.FormatCloseMessage(code, reason)))
	return err
}

func (t *wsTransport) Close() error { return t.nc.Close() }

var (
	errDiffsGone = apperr.E(apperr.Gone, "diffs_gone", "these diffs are no longer kept: refetch the availability snapshot")
	errDiffsDown = apperr.E(apperr.Unavailable, "diffs_unavailable", "catch-up is unavailable right now: refetch the availability snapshot")
)

// getDiffs: GET /api/events/:event/diffs?from=N[&epoch=E], the seats changed
// after seq N (one entry per seat, its latest state), or 410 when the
// stream no longer reaches back that far or E is not the current epoch.
func (s *Server) getDiffs(c *fiber.Ctx) error {
	id, err := pathID(c, "event", seatmap.ErrEventNotFound)
	if err != nil {
		return err
	}
	raw := c.Query("from")
	if raw == "" {
		return errValidation.With("fields", map[string]string{"from": "required: the seq of the client's snapshot or last diff"})
	}
	from, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return errMalformedJSON.With("detail", "from must be an integer")
	}
	if from < 0 {
		return errValidation.With("fields", map[string]string{"from": "must be at least 0"})
	}
	epoch := string([]byte(c.Query("epoch"))) // copied: Fiber reuses its buffers
	if _, err := s.deps.Seats.Event(c.UserContext(), id); err != nil {
		return err
	}
	if s.deps.Diffs == nil {
		return errDiffsDown
	}
	d, err := s.deps.Diffs.Diffs(c.UserContext(), id, seatmap.Position{Epoch: epoch, Seq: from})
	switch {
	case errors.Is(err, seatmap.ErrStreamGone):
		return errDiffsGone
	case err != nil:
		s.reqLog(c).Warn("diffs unavailable", "event", id, "err", err)
		return errDiffsDown
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(d)
}
