package seatmap

import (
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"
)

// Config tunes the inventory. Zero fields take the defaults named.
type Config struct {
	// HoldTTL is how long a hold lasts before the sweeper frees it
	// (default 10 minutes; HOLD_TTL).
	HoldTTL time.Duration
	// MaxSeatsPerAccount caps seats held + sold per account and event
	// (default 8; MAX_SEATS_PER_ACCOUNT). An event may set a lower cap.
	MaxSeatsPerAccount int
	// SweepInterval is how often the sweeper looks for expired holds
	// (default 1 s).
	SweepInterval time.Duration
	// SweepBatch bounds the holds expired in one transaction (default 500),
	// so one sweep never holds locks on a large part of a sale.
	SweepBatch int
	// SnapshotTTL is how long a node reuses an availability snapshot
	// (default 1 s): a reconnect storm costs one Postgres read per node per
	// event per TTL.
	SnapshotTTL time.Duration
	// GateTimeout bounds one call to the gate (default 250 ms); past it the
	// hold goes on through Postgres alone.
	GateTimeout time.Duration
	// StreamCheck is how often a node compares the seat streams it follows
	// with Postgres (default 10 s; streamrepair.go): a change the stream
	// missed reaches browsers within about two of these.
	StreamCheck time.Duration
	// OfferTTL is how long a waiting-list offer is held for its fan before
	// it passes to the next one (default 10 minutes; WAITLIST_OFFER_TTL).
	OfferTTL time.Duration
	// HoldBatch caps the holds of one event a node writes in one round
	// (default 64; holdbatch.go). 1 turns group commit off: every hold
	// goes alone, at once, concurrently with the others.
	HoldBatch int
	// HoldRounds is how many rounds of one event's holds a node has in
	// flight at once (default 1). More let one round wait on Redis while
	// another waits on Postgres, but make rounds smaller: on a CPU-bound
	// machine 2 and 4 gave fewer holds/s than 1 (docs/benchmarks.md).
	HoldRounds int
	// Metrics, when set, receives the inventory's Prometheus collectors.
	Metrics prometheus.Registerer
}

func (c *Config) setDefaults() {
	if c.HoldTTL == 0 {
		c.HoldTTL = 10 * time.Minute
	}
	if c.MaxSeatsPerAccount == 0 {
		c.MaxSeatsPerAccount = 8
	}
	if c.SweepInterval == 0 {
		c.SweepInterval = time.Second
	}
	if c.SweepBatch == 0 {
		c.SweepBatch = 500
	}
	if c.SnapshotTTL == 0 {
		c.SnapshotTTL = time.Second
	}
	if c.GateTimeout == 0 {
		c.GateTimeout = 250 * time.Millisecond
	}
	if c.OfferTTL == 0 {
		c.OfferTTL = 10 * time.Minute
	}
	if c.StreamCheck == 0 {
		c.StreamCheck = 10 * time.Second
	}
	if c.HoldBatch == 0 {
		c.HoldBatch = 64
	}
	if c.HoldRounds == 0 {
		c.HoldRounds = 1
	}
}

// Service is the seat inventory and catalog of every event.
type Service struct {
	db   *pgxpool.Pool
	gate Gate
	pub  Publisher
	log  *slog.Logger
	cfg  Config
	m    *metrics
	// holds are this node's per-event hold latency and results, for the
	// admin dashboard.
	holds holdStats
	// recent are the seats this node held since its snapshots were taken
	// (recent.go), for best-available.
	recent recentHolds
	// suspects are seats the gate refused, for the gate repair.
	suspects gateSuspects
	// stream is this node's view of the seat streams it follows, for the
	// stream repair (streamrepair.go).
	stream streamFollower
	// holdQueues are the holds of each event waiting for their round
	// (holdbatch.go).
	holdQueues sync.Map // int64 → *holdQueue
	// offerMail and offerLive tell fans of waiting-list offers
	// (NotifyOffers).
	offerMail OfferMailer
	offerLive AccountPublisher

	// layouts caches each event's static seats, which never change after
	// the event is created.
	layouts sync.Map // int64 → *eventLayout
	flight  singleflight.Group

	mu        sync.Mutex
	events    map[int64]cachedEvent
	snapshots map[int64]*Snapshot
	// refreshing marks the events whose snapshot is being read from
	// Postgres; meanwhile other callers get the previous one (Snapshot).
	refreshing map[int64]bool
}

// New returns a Service. gate may be nil (no Redis: Postgres alone) and pub
// may be nil (no live updates).
func New(db *pgxpool.Pool, gate Gate, pub Publisher, log *slog.Logger, cfg Config) *Service {
	cfg.setDefaults()
	if gate == nil {
		gate = openGate{}
	}
	if pub == nil {
		pub = NopPublisher{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{
		db: db, gate: gate, pub: pub, log: log, cfg: cfg, m: newMetrics(cfg.Metrics),
		events:    make(map[int64]cachedEvent),
		snapshots: make(map[int64]*Snapshot), refreshing: make(map[int64]bool),
	}
}

// Config returns the effective configuration, defaults filled in.
func (s *Service) Config() Config { return s.cfg }

// txRepeatableRead reads several tables as of one instant.
var txRepeatableRead = pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
