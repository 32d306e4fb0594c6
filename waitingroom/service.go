package waitingroom

import (
	"crypto/hmac"
	"crypto/sha256"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/singleflight"

	"github.com/boxoffice/boxoffice/internal/apperr"
)

// Config tunes the waiting room. Zero fields take the defaults named.
type Config struct {
	// SecretKey signs challenges and admission tokens (SECRET_KEY); every
	// node must share it. Required.
	SecretKey []byte
	// Prefix is put before every Redis key (REDIS_PREFIX, default none).
	Prefix string
	// Tick is the admitter's interval (default 1 s; tests set milliseconds).
	Tick time.Duration
	// LeaseTTL is how long an admitter's lease lasts without renewal
	// (default 5 s): a dead leader is replaced within it.
	LeaseTTL time.Duration
	// HeartbeatWindow: a fan without a heartbeat (a /queue/me poll)
	// for this long is skipped by the admitter (default 30 s).
	HeartbeatWindow time.Duration
	// ChallengeTTL is how long a proof-of-work challenge stays valid
	// (default 5 min).
	ChallengeTTL time.Duration
	// SurgeJoinsPerSecond: when the last second saw more joins than this,
	// new challenges get SurgeExtraBits more difficulty (default 500).
	SurgeJoinsPerSecond int
	// SurgeExtraBits is the difficulty added in a surge (default 4).
	SurgeExtraBits int
	// SettingsTTL is how long a node reuses an event's settings (default
	// 1 s); holds consult them on every request.
	SettingsTTL time.Duration
	// RunnerScan is how often the runner looks for events whose room was
	// turned on or off (default 5 s).
	RunnerScan time.Duration
	// Signals are the velocity and fingerprint thresholds for review.
	Signals Signals
	// Now is the clock (default time.Now); tests move it.
	Now func() time.Time
}

func (c *Config) setDefaults() {
	if c.Tick <= 0 {
		c.Tick = time.Second
	}
	if c.LeaseTTL <= 0 {
		c.LeaseTTL = 5 * time.Second
	}
	if c.HeartbeatWindow <= 0 {
		c.HeartbeatWindow = 30 * time.Second
	}
	if c.ChallengeTTL <= 0 {
		c.ChallengeTTL = 5 * time.Minute
	}
	if c.SurgeJoinsPerSecond <= 0 {
		c.SurgeJoinsPerSecond = 500
	}
	if c.SurgeExtraBits <= 0 {
		c.SurgeExtraBits = 4
	}
	if c.SettingsTTL <= 0 {
		c.SettingsTTL = time.Second
	}
	if c.RunnerScan <= 0 {
		c.RunnerScan = 5 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	c.Signals.setDefaults()
}

// Errors a fan can see.
var (
	ErrEventNotFound = apperr.E(apperr.NotFound, "event_not_found", "no such event")
	ErrRoomOff       = apperr.E(apperr.Conflict, "waiting_room_off", "this event has no waiting room: go straight to the seat map")
	ErrNotInQueue    = apperr.E(apperr.NotFound, "not_in_queue", "you have not joined this queue")
	ErrNotAdmitted   = apperr.E(apperr.Forbidden, "not_admitted", "wait in the queue for your turn: holds need a valid X-Admission-Token while the waiting room is on")
)

// Service is the waiting room of every event on this node.
type Service struct {
	db  *pgxpool.Pool
	rdb redis.UniversalClient
	pub Publisher
	log *slog.Logger
	cfg Config

	powKey, tokenKey, proofKey []byte

	// windows caches the presale windows of rooms, eventWindows each
	// event's list of them (presale.go); mu guards both.
	windows      map[RoomKey]presaleWindow
	eventWindows map[int64]eventWindows

	mu     sync.Mutex
	rooms  map[int64]room
	sealed map[int64]bool // events whose commitment this node sealed
	flight singleflight.Group

	holds holdRecorder // holds queued for the review signals (signals_batch.go)
}

// New returns a Service; pub may be nil (no live frames), log may be nil.
func New(db *pgxpool.Pool, rdb redis.UniversalClient, pub Publisher, log *slog.Logger, cfg Config) *Service {
	cfg.setDefaults()
	if pub == nil {
		pub = NopPublisher{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{
		db: db, rdb: rdb, pub: pub, log: log, cfg: cfg,
		powKey:       derive(cfg.SecretKey, "waitingroom pow challenge"),
		tokenKey:     derive(cfg.SecretKey, "waitingroom admission token"),
		proofKey:     derive(cfg.SecretKey, "waitingroom proof hash"),
		rooms:        make(map[int64]room),
		windows:      make(map[RoomKey]presaleWindow),
		eventWindows: make(map[int64]eventWindows),
		sealed:       make(map[int64]bool),
	}
}

// Config returns the effective configuration, defaults filled in.
func (s *Service) Config() Config { return s.cfg }

// derive gives each use of SECRET_KEY its own key, so a challenge signature
// can never pass for a token signature or the other way round.
func derive(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// keys are an event's Redis keys, all under one hash tag.
type keys struct {
	q, pre, seq, opened, cursor, hb, adm, rate, lease, fence, base string
	proofEntries, proofNumbered                                    string
}

func (s *Service) keys(eventID int64) keys { return s.roomKeys(RoomKey{EventID: eventID}) }

// roomKeys are a room's Redis keys: the event's for its general room.
func (s *Service) roomKeys(room RoomKey) keys {
	b := room.base(s.cfg.Prefix)
	return keys{q: b + "q", pre: b + "pre", seq: b + "seq", opened: b + "opened", cursor: b + "cursor",
		hb: b + "hb", adm: b + "adm", rate: b + "rate", lease: b + "lease", fence: b + "fence", base: b,
		proofEntries: b + "proof:entries", proofNumbered: b + "proof:numbered"}
}
