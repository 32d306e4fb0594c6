package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/boxoffice/boxoffice/account"
	"github.com/boxoffice/boxoffice/internal/pg"
	"github.com/boxoffice/boxoffice/realtime"
	"github.com/boxoffice/boxoffice/seatmap"
	"github.com/boxoffice/boxoffice/server"
	"github.com/boxoffice/boxoffice/web"
)

// App is one running Boxoffice node: every dependency built explicitly from
// Config, started by Run and stopped by Close.
type App struct {
	Config   Config
	Log      *slog.Logger
	DB       *pgxpool.Pool
	Redis    *redis.Client
	Accounts *account.Service
	Seats    *seatmap.Service
	// SeatStream is the seat-diff stream (seatmap's publisher, /diffs).
	SeatStream *realtime.SeatStream
	// Hub fans live frames out to this node's sockets; Frames publishes
	// queue, stats and admitted frames for the waiting room and admin.
	Hub    *realtime.Hub
	Frames *realtime.Frames
	Server *server.Server
	// WebDir, when set, serves the browser app from disk (the -dev flag).
	WebDir string

	ln     net.Listener
	cancel context.CancelFunc
	wg     sync.WaitGroup
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
	opt, err := redis.ParseURL(a.Config.RedisURL)
	if err != nil {
		return fmt.Errorf("REDIS_URL: %w", err)
	}
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = time.Second, 500*time.Millisecond, 500*time.Millisecond
	a.Redis = redis.NewClient(opt)
	if err := a.Redis.Ping(ctx).Err(); err != nil {
		a.Log.Warn("redis unreachable at start: holds go through Postgres alone until it answers", "err", err)
	}
	a.Accounts = account.NewService(db, account.Config{})
	a.SeatStream = realtime.NewSeatStream(a.Redis, a.Config.RedisPrefix)
	broker := realtime.NewRedisBroker(a.Redis, a.Config.RedisPrefix, a.Log)
	a.Hub = realtime.NewHub(broker, realtime.HubConfig{Positions: a.SeatStream.Position, Log: a.Log})
	a.Frames = realtime.NewFrames(broker)
	a.Seats = seatmap.New(db, seatmap.NewRedisGate(a.Redis, a.Config.RedisPrefix), seatPublisher{a.SeatStream}, a.Log, seatmap.Config{
		HoldTTL:            a.Config.HoldTTL,
		MaxSeatsPerAccount: a.Config.MaxSeatsPerAccount,
	})
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
	a.Server = server.New(server.Config{
		BaseURL:        a.Config.BaseURL,
		AllowedOrigins: a.Config.AllowedOrigins,
		SecureCookies:  len(a.Config.BaseURL) > 8 && a.Config.BaseURL[:8] == "https://",
	}, server.Deps{
		Log:      a.Log,
		Accounts: a.Accounts,
		Seats:    a.Seats,
		Web:      a.webFS(),
		Postgres: func(ctx context.Context) error { return a.DB.Ping(ctx) },
		Redis:    func(ctx context.Context) error { return a.Redis.Ping(ctx).Err() },
		Hub:      a.Hub,
		Diffs:    a.SeatStream,
	})
	ln, err := net.Listen("tcp", a.Config.ListenAddr)
	if err != nil {
		return fmt.Errorf("LISTEN_ADDR: %w", err)
	}
	a.ln = ln
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a.cancel = cancel
	a.Hub.Start()
	a.wg.Add(2)
	go func() { defer a.wg.Done(); a.Seats.RunSweeper(bg) }()
	go func() {
		defer a.wg.Done()
		if err := a.Server.Serve(ln); err != nil && !errors.Is(err, net.ErrClosed) {
			a.Log.Error("http server stopped", "err", err)
		}
	}()
	a.Log.Info("serving", "addr", ln.Addr().String(), "base_url", a.Config.BaseURL)
	return nil
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
	if a.cancel != nil {
		a.cancel()
	}
	a.wg.Wait()
	if a.Redis != nil {
		a.Redis.Close()
	}
	if a.DB != nil {
		a.DB.Close()
	}
	return nil
}
