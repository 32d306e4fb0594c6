package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"

	"github.com/boxoffice/boxoffice/account"
	"github.com/boxoffice/boxoffice/checkout"
	"github.com/boxoffice/boxoffice/internal/jobs"
	"github.com/boxoffice/boxoffice/internal/pg"
	"github.com/boxoffice/boxoffice/media"
	"github.com/boxoffice/boxoffice/presale"
	"github.com/boxoffice/boxoffice/realtime"
	"github.com/boxoffice/boxoffice/salestats"
	"github.com/boxoffice/boxoffice/seatmap"
	"github.com/boxoffice/boxoffice/server"
	"github.com/boxoffice/boxoffice/waitingroom"
	"github.com/boxoffice/boxoffice/web"
)

// App is one running Boxoffice node: every dependency built explicitly from
// Config, started by Run and stopped by Close.
type App struct {
	Config   Config
	Log      *slog.Logger
	DB       *pgxpool.Pool
	Redis    redis.UniversalClient // a *redis.ClusterClient for a redis+cluster:// REDIS_URL
	Accounts *account.Service
	Seats    *seatmap.Service
	Checkout *checkout.Service
	Jobs     *jobs.Runner
	Queue    *waitingroom.Service
	// Presales are the presale windows and their access codes.
	Presales *presale.Service
	// SeatStream is the seat-diff stream (seatmap's publisher, /diffs).
	SeatStream *seatmap.RedisStream
	// Hub fans live frames out to this node's sockets; Frames publishes
	// queue, stats and admitted frames for the waiting room and admin.
	Hub    *realtime.Hub
	Frames *realtime.Frames
	// Stats keeps the admin dashboard's figures (and their metrics).
	Stats   *salestats.Engine
	Server  *server.Server
	Metrics *prometheus.Registry
	// WebDir, when set, serves the browser app from disk (the -dev flag).
	WebDir string

	ln      net.Listener
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	closers []func() error // side listeners (the profiler)
}

// newLogger builds the JSON logger every component receives.
func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}

// Open connects to Postgres (required) and Redis (optional: without it holds
// go through Postgres alone) and builds the services.
func (a *App) Open(ctx context.Context) error {
	db, err := pg.Open(ctx, a.Config.DatabaseURL, a.Config.DBMaxConns)
	if err != nil {
		return fmt.Errorf("DATABASE_URL: %w", err)
	}
	a.DB = db
	if a.Redis, err = newRedis(a.Config.RedisURL); err != nil {
		return fmt.Errorf("REDIS_URL: %w", err)
	}
	if err := a.Redis.Ping(ctx).Err(); err != nil {
		a.Log.Warn("redis unreachable at start: holds go through Postgres alone until it answers", "err", err)
	}
	a.Metrics = prometheus.NewRegistry()
	a.Metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		poolCollector{db: db, rdb: a.Redis})
	broker := realtime.NewRedisBroker(a.Redis, a.Config.RedisPrefix, a.Log)
	a.SeatStream = seatmap.NewRedisStream(a.Redis, a.Config.RedisPrefix,
		func(eventID int64) string { return broker.Channel(realtime.SeatsTopic(eventID)) })
	a.Hub = realtime.NewHub(broker, realtime.HubConfig{
		Positions:    a.SeatStream.Head,
		FanoutBudget: a.Config.FanoutWritesPerSecond,
		// Seat diffs merge by seat; queue and stats frames are whole states.
		Merge: map[string]realtime.MergeFunc{
			realtime.KindSeats: seatmap.MergeFrames,
			realtime.KindQueue: realtime.KeepLast,
			realtime.KindStats: realtime.KeepLast,
		},
		Log: a.Log,
	})
	a.Frames = realtime.NewFrames(broker)
	a.Seats = seatmap.New(db, seatmap.NewRedisGate(a.Redis, a.Config.RedisPrefix), a.SeatStream, a.Log, seatmap.Config{
		HoldTTL:            a.Config.HoldTTL,
		OfferTTL:           a.Config.WaitlistOfferTTL,
		MaxSeatsPerAccount: a.Config.MaxSeatsPerAccount,
		Metrics:            a.Metrics,
	})
	var payments checkout.Payments = checkout.NewTestProcessor()
	if a.Config.Payments == "stripe" {
		payments = checkout.NewStripePayments(checkout.StripeConfig{SecretKey: a.Config.StripeSecretKey, APIBase: a.Config.StripeAPIBase})
		if a.Config.StripeWebhookKey == "" {
			a.Log.Warn("PAYMENTS=stripe without STRIPE_WEBHOOK_SECRET: webhooks are refused and payments settle only through the reconciler")
		}
	}
	payments = checkout.NewMeteredPayments(payments, a.Metrics)
	var mailer checkout.Mailer
	if a.Config.SMTPURL != "" {
		if mailer, err = checkout.NewSMTPMailer(a.Config.SMTPURL); err != nil {
			return fmt.Errorf("SMTP_URL: %w", err)
		}
	} else {
		dir := filepath.Join(os.TempDir(), "boxoffice-mail")
		mailer = &checkout.DirMailer{Dir: dir, Log: a.Log}
		a.Log.Info("no SMTP_URL: confirmation emails are written as .eml files", "dir", dir)
	}
	a.Accounts = account.NewService(db, account.Config{SecretKey: a.Config.SecretKey, Mailer: mailer, BaseURL: a.Config.BaseURL,
		CacheTTL: a.Config.SessionCacheTTL})
	roomCfg := waitingroom.Config{
		SecretKey: a.Config.SecretKey,
		Prefix:    a.Config.RedisPrefix,
	}
	if a.Config.ReviewSignals != nil {
		roomCfg.Signals = *a.Config.ReviewSignals
	}
	a.Queue = waitingroom.New(db, a.Redis, a.Frames, a.Log, roomCfg)
	a.Presales = presale.New(db, a.Log, presale.Config{})
	var screen checkout.Screen
	if a.Config.ReviewSignals != nil {
		screen = a.Queue // purchases on events with a room are screened
	}
	a.Checkout = checkout.New(db, a.Seats, payments, mailer, a.Log, checkout.Config{
		Screen: screen,
		// A buyer's place among the active shoppers is freed at once.
		Admissions:         a.Queue,
		PaymentGrace:       a.Config.PaymentGrace,
		DeclineRetryWindow: cmp.Or(a.Config.DeclineRetryWindow, -1), // 0 configured: release at the first decline
		SecretKey:          a.Config.SecretKey,
		WebhookSecret:      a.Config.StripeWebhookKey,
		// Empty unless PAYMENTS=stripe (loadConfig requires it then).
		PublishableKey: a.Config.StripePublishableKey,
		BaseURL:        a.Config.BaseURL,
		// 0 would mean the default; no fee is a negative value to checkout.
		ResaleFeeBasisPoints: cmp.Or(a.Config.ResaleFeeBPS, -1),
		PayoutDelay:          a.Config.PayoutDelay,
	})
	// Admins on several nodes get one stats frame a second: a Redis lease
	// per event picks the node that sends it.
	a.Stats = salestats.New(salestats.Config{
		Seats: a.Seats, Queue: a.Queue, Funnel: a.Checkout, Diffs: a.SeatStream, Audience: a.Hub, Log: a.Log,
		Publisher: salestats.NewLease(a.Frames, a.Redis, a.Config.RedisPrefix, nodeID()),
	})
	a.Metrics.MustRegister(a.Stats)
	// Waiting-list offers are emailed through checkout's notices and
	// announced on the fan's sockets.
	a.Seats.NotifyOffers(a.Checkout.EnqueueNotice, a.Frames)
	// Lottery results are emailed through checkout's notices too.
	a.Presales.MailLotteryResults(a.Checkout.EnqueueNotice)
	a.Jobs = jobs.NewRunner(db, a.Log, jobs.Config{})
	a.Checkout.RegisterJobs(a.Jobs)
	a.Seats.RegisterJobs(a.Jobs)
	a.Accounts.RegisterJobs(a.Jobs)
	a.Presales.RegisterJobs(a.Jobs)
	a.Metrics.MustRegister(a.Jobs.Collector(), a.Checkout.Collector(), a.Checkout.RoundCollector())
	return nil
}

// webFS is the browser app: embedded, or web/static on disk with -dev.
func (a *App) webFS() fs.FS {
	if a.WebDir != "" {
		return os.DirFS(a.WebDir)
	}
	sub, err := fs.Sub(web.FS, "static")
	if err != nil {
		panic(err) // the embed pattern guarantees the folder
	}
	return sub
}

// Run migrates, starts the background loops and the HTTP server, and returns
// once it listens; Addr then tells where.
func (a *App) Run(ctx context.Context) error {
	if err := pg.Migrate(ctx, a.DB, a.Log); err != nil {
		return err
	}
	var limiter server.Limiter
	if a.Config.RateLimits != nil {
		limiter = server.NewRedisLimiter(a.Redis, a.Config.RedisPrefix)
	}
	a.Server = server.New(server.Config{
		BaseURL:         a.Config.BaseURL,
		AllowedOrigins:  a.Config.AllowedOrigins,
		SecureCookies:   len(a.Config.BaseURL) > 8 && a.Config.BaseURL[:8] == "https://",
		MetricsToken:    a.Config.MetricsToken,
		RateLimits:      a.Config.RateLimits,
		TrustedProxies:  a.Config.TrustedProxies,
		WSMaxPerIP:      a.Config.WSMaxPerIP,
		WSMaxPerAccount: a.Config.WSMaxPerAccount,
		DevWeb:          a.WebDir != "",
	}, server.Deps{
		Log:      a.Log,
		Accounts: a.Accounts,
		Seats:    a.Seats,
		Checkout: a.Checkout,
		Queue:    a.Queue,
		Limiter:  limiter,
		Web:      a.webFS(),
		Postgres: func(ctx context.Context) error { return a.DB.Ping(ctx) },
		Redis:    a.pingRedis,
		Metrics:  a.Metrics,
		Hub:      a.Hub,
		Diffs:    a.SeatStream,
		Media:    &media.Store{Dir: a.Config.MediaDir},
		Stats:    a.Stats,
		Jobs:     a.Jobs,
		Presales: a.Presales,
	})
	ln, err := net.Listen("tcp", a.Config.ListenAddr)
	if err != nil {
		return fmt.Errorf("LISTEN_ADDR: %w", err)
	}
	a.ln = ln
	if err := a.servePprof(); err != nil {
		ln.Close()
		return fmt.Errorf("PPROF_ADDR: %w", err)
	}
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a.cancel = cancel
	a.Hub.Start()
	a.wg.Add(8)
	// Sign-outs and role changes on any node reach this node's session
	// cache, so it can keep sessions for minutes instead of seconds.
	go func() { defer a.wg.Done(); a.Accounts.Listen(bg, a.Log) }()
	go func() { defer a.wg.Done(); a.Seats.RunSweeper(bg) }()
	go func() { defer a.wg.Done(); a.Seats.RunLifecycle(bg, 2*time.Second) }()
	go func() { defer a.wg.Done(); a.Jobs.Run(bg) }()
	go func() { defer a.wg.Done(); a.Checkout.RunReconciler(bg) }()
	// Every node runs an admitter per enabled room; a Redis lease lets
	// exactly one of them admit at a time.
	go func() { defer a.wg.Done(); a.Queue.RunAdmitters(bg) }()
	// The admin dashboard's figures: a stats frame a second per event an
	// admin watches on this node, and per-event Prometheus figures.
	go func() { defer a.wg.Done(); a.Stats.Run(bg) }()
	go func() {
		defer a.wg.Done()
		if err := a.Server.Serve(ln); err != nil && !errors.Is(err, net.ErrClosed) {
			a.Log.Error("http server stopped", "err", err)
		}
	}()
	a.Log.Info("serving", "addr", ln.Addr().String(), "base_url", a.Config.BaseURL)
	return nil
}

// pingRedis checks Redis for /readyz: on a Redis Cluster every master, since
// each holds a share of the events' keys (a PING goes to one node only).
func (a *App) pingRedis(ctx context.Context) error {
	if c, ok := a.Redis.(*redis.ClusterClient); ok {
		return c.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error { return m.Ping(ctx).Err() })
	}
	return a.Redis.Ping(ctx).Err()
}

// nodeID names this process among the nodes sharing a Redis (the stats
// lease): the host name and a random suffix (two nodes may share a host).
func nodeID() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return host + "-" + hex.EncodeToString(b)
}

// Addr is the address the server listens on (useful with port 0).
func (a *App) Addr() string { return a.ln.Addr().String() }

// Close stops the server (waiting up to 10 s for requests in flight), the
// background loops and the connections.
func (a *App) Close() error {
	if a.Hub != nil {
		// Sockets first (close 1001): hijacked connections are not the
		// HTTP server's to wait for.
		a.Hub.Close()
	}
	if a.Server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = a.Server.Shutdown(ctx)
		cancel()
	}
	for _, c := range a.closers {
		_ = c()
	}
	if a.cancel != nil {
		a.cancel()
	}
	a.wg.Wait()
	if a.Queue != nil {
		// The last holds' review signals, queued for a batched write.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = a.Queue.FlushHolds(ctx)
		cancel()
	}
	if a.Redis != nil {
		a.Redis.Close()
	}
	if a.DB != nil {
		a.DB.Close()
	}
	return nil
}
