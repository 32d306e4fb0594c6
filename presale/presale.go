package presale

import (
	"context"
	"crypto/rand"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/boxoffice/boxoffice/internal/apperr"
	"github.com/boxoffice/boxoffice/internal/pg"
	"github.com/boxoffice/boxoffice/seatmap"
)

// Window states, as the lists report them.
const (
	StateUpcoming = "upcoming"
	StateOpen     = "open"
	StateEnded    = "ended"
)

// Errors an admin or fan can see.
var (
	ErrPresaleNotFound = apperr.E(apperr.NotFound, "presale_not_found", "no such presale")
	ErrSharedCodeTaken = apperr.E(apperr.Conflict, "shared_code_taken", "another presale of this event uses that code")
	ErrCodeInvalid     = apperr.E(apperr.Forbidden, "access_code_invalid", "this access code is not valid for this event")
	ErrCodeUsed        = apperr.E(apperr.Conflict, "access_code_used", "this access code was already used by another account")
	ErrNotOpen         = apperr.E(apperr.Conflict, "presale_not_open", "the presale of this code has not opened yet")
	ErrCodeExpired     = apperr.E(apperr.Gone, "access_code_expired", "the presale of this code has ended")
	ErrCodeRequired    = apperr.E(apperr.Forbidden, "access_code_required", "a presale is on: enter your access code to hold seats")
)

// Config tunes the service. Zero fields take the defaults named.
type Config struct {
	// CacheTTL is how long a node reuses an event's windows (default 1 s):
	// every hold consults them.
	CacheTTL time.Duration
}

// Window is one presale window of an event.
type Window struct {
	ID                 int64     `json:"id,string"`
	EventID            int64     `json:"event_id,string"`
	Name               string    `json:"name"`
	StartsAt           time.Time `json:"starts_at"`
	EndsAt             time.Time `json:"ends_at"`
	Sections           []string  `json:"sections"`
	MaxSeatsPerAccount int       `json:"max_seats_per_account"`
	// Share is the most places the window sells, held and sold together
	// (absent: no cap but its sections); ShareRemaining is how many of them
	// are neither held nor sold now.
	Share          int  `json:"share,omitempty"`
	ShareRemaining *int `json:"share_remaining,omitempty"`
	// AdmitPerMinute is the admission rate of the window's own waiting
	// room, when the event has one (absent: the event's rate).
	AdmitPerMinute int `json:"admit_per_minute,omitempty"`
	// State is upcoming, open or ended, as of the answer.
	State string `json:"state"`
}

// AdminWindow is a window as an admin sees it: with its shared code and
// how many single-use codes it has and how many were redeemed.
type AdminWindow struct {
	Window
	SharedCode string `json:"shared_code,omitempty"`
	Codes      int    `json:"codes"`
	Redeemed   int    `json:"redeemed"`
	// Admitted counts the accounts let in, by either kind of code.
	Admitted int `json:"admitted"`
}

// FanWindow is a window as a fan sees it: HasAccess says whether the
// signed-in account entered a valid code of it.
type FanWindow struct {
	Window
	HasAccess bool `json:"has_access"`
	// Lottery: a registered-fan lottery gives this window's access.
	Lottery bool `json:"lottery"`
}

// Spec is what an admin gives to create a window.
type Spec struct {
	Name     string
	StartsAt time.Time
	EndsAt   time.Time
	Sections []string
	// MaxSeatsPerAccount 0 takes the event's own cap.
	MaxSeatsPerAccount int
	// SharedCode, when set, is the one code everybody of the window uses.
	SharedCode string
	// Share caps the places the window sells (0: no cap); SharePercent
	// (1..100) gives it as a share of the event's sellable places instead,
	// turned into a count when the window is created.
	Share        int
	SharePercent int
	// AdmitPerMinute is the window's own waiting-room rate (0: the event's).
	AdmitPerMinute int
}

// Service manages the presale windows of every event.
type Service struct {
	db  *pgxpool.Pool
	log *slog.Logger
	cfg Config

	mu    sync.Mutex
	cache map[int64]eventWindows

	// lotteryMail enqueues the draw's result emails (MailLotteryResults).
	lotteryMail seatmap.OfferMailer
}

// eventWindows is the cached view of one event: its general sale time and
// its windows.
type eventWindows struct {
	saleOpens time.Time
	windows   []Window
	fetched   time.Time
}

// New returns a Service; log may be nil.
func New(db *pgxpool.Pool, log *slog.Logger, cfg Config) *Service {
	if cfg.CacheTTL <= 0 {
		cfg.CacheTTL = time.Second
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{db: db, log: log, cfg: cfg, cache: make(map[int64]eventWindows)}
}

func (w *Window) setState(now time.Time) {
	switch {
	case now.Before(w.StartsAt):
		w.State = StateUpcoming
	case now.Before(w.EndsAt):
		w.State = StateOpen
	default:
		w.State = StateEnded
	}
}

func (w Window) access() *seatmap.PresaleAccess {
	return &seatmap.PresaleAccess{ID: w.ID, StartsAt: w.StartsAt, EndsAt: w.EndsAt,
		Sections: slices.Clone(w.Sections), MaxSeatsPerAccount: w.MaxSeatsPerAccount, Share: w.Share}
}

// NormalizeCode is how every code is stored and compared: upper case,
// without spaces or dashes, so "abcd-efgh" and "ABCDEFGH" are one code.
func NormalizeCode(code string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == ' ':
			return -1
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		}
		return r
	}, code)
}

// validCode says whether a normalized code has the shape of a code at all,
// before any query.
func validCode(code string) bool {
	if len(code) < 4 || len(code) > 32 {
		return false
	}
	for _, r := range code {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// windowColumns are a presales row's columns and its share (places, used;
// 0, 0 without one). The subqueries' "id" is the outer presales row's:
// presale_shares has no column of that name.
const windowColumns = `id, event_id, name, starts_at, ends_at, sections, max_seats_per_account, coalesce(admit_per_minute, 0),
	coalesce((SELECT places FROM presale_shares WHERE presale_id = id), 0),
	coalesce((SELECT used FROM presale_shares WHERE presale_id = id), 0)`

func scanWindow(row pgx.Row, extra ...any) (Window, error) {
	var w Window
	var used int
	err := row.Scan(append([]any{&w.ID, &w.EventID, &w.Name, &w.StartsAt, &w.EndsAt, &w.Sections, &w.MaxSeatsPerAccount,
		&w.AdmitPerMinute, &w.Share, &used}, extra...)...)
	if w.Share > 0 {
		w.ShareRemaining = new(int)
		*w.ShareRemaining = max(w.Share-used, 0)
	}
	return w, err
}

// Create adds a window to an event after checking the spec against it.
func (s *Service) Create(ctx context.Context, eventID int64, spec Spec) (AdminWindow, error) {
	var eventCap, sellable int
	var sections []string
	// Sellable: every place but those the organizer keeps off sale (held
	// back for accessibility still sells).
	err := s.db.QueryRow(ctx, `SELECT max_seats_per_account, array(SELECT id FROM event_sections WHERE event_id = e.id),
			(SELECT count(*) FROM seats WHERE event_id = e.id
			 AND (status <> 'reserved' OR reserved_reason = 'accessibility'))
		FROM events e WHERE id = $1`, eventID).Scan(&eventCap, &sections, &sellable)
	if errors.Is(err, pgx.ErrNoRows) {
		return AdminWindow{}, seatmap.ErrEventNotFound
	}
	if err != nil {
		return AdminWindow{}, fmt.Errorf("presale: read event %d: %w", eventID, err)
	}
	spec.SharedCode = NormalizeCode(spec.SharedCode)
	bad := map[string]string{}
	if !spec.EndsAt.After(spec.StartsAt) {
		bad["ends_at"] = "must be after starts_at"
	}
	if spec.MaxSeatsPerAccount == 0 {
		spec.MaxSeatsPerAccount = eventCap
	}
	if spec.MaxSeatsPerAccount < 1 || spec.MaxSeatsPerAccount > eventCap {
		bad["max_seats_per_account"] = fmt.Sprintf("must be between 1 and the event's cap, %d", eventCap)
	}
	for _, sec := range spec.Sections {
		if !slices.Contains(sections, sec) {
			bad["sections"] = "name sections of the event: " + strings.Join(sections, ", ")
		}
	}
	if spec.SharedCode != "" && !validCode(spec.SharedCode) {
		bad["shared_code"] = "4 to 32 letters and digits"
	}
	if spec.AdmitPerMinute < 0 || spec.AdmitPerMinute > 10_000_000 {
		bad["admit_per_minute"] = "must be between 1 and 10000000 (0: the event's rate)"
	}
	if field, msg := spec.shareOf(sellable); msg != "" {
		bad[field] = msg
	}
	if len(bad) > 0 {
		return AdminWindow{}, apperr.E(apperr.Invalid, "validation_failed", "some fields are invalid").With("fields", bad)
	}
	if spec.Sections == nil {
		spec.Sections = []string{}
	}
	slices.Sort(spec.Sections)
	spec.Sections = slices.Compact(spec.Sections)
	var shared *string
	if spec.SharedCode != "" {
		shared = &spec.SharedCode
	}
	// The window and its counter row in one statement; a new window has
	// used none of its share.
	w, err := scanWindow(s.db.QueryRow(ctx, `WITH w AS (
			INSERT INTO presales (event_id, name, starts_at, ends_at, sections, max_seats_per_account, shared_code,
				admit_per_minute)
			VALUES ($1, $2, $3, $4, $5, $6, $7, nullif($9, 0))
			RETURNING id, event_id, name, starts_at, ends_at, sections, max_seats_per_account, coalesce(admit_per_minute, 0)),
		sh AS (INSERT INTO presale_shares (presale_id, places) SELECT id, $8 FROM w WHERE $8 > 0)
		SELECT w.*, $8::int, 0 FROM w`,
		eventID, spec.Name, spec.StartsAt, spec.EndsAt, spec.Sections, spec.MaxSeatsPerAccount, shared, spec.Share,
		spec.AdmitPerMinute))
	if pg.IsUniqueViolation(err, "presales_shared_code") {
		return AdminWindow{}, ErrSharedCodeTaken
	}
	if err != nil {
		return AdminWindow{}, fmt.Errorf("presale: create window of event %d: %w", eventID, err)
	}
	s.forget(eventID)
	w.setState(time.Now())
	return AdminWindow{Window: w, SharedCode: spec.SharedCode}, nil
}

// shareOf turns a percentage share into a count of the event's sellable
// places (rounded down, at least one) and checks the share; it names the
// field at fault and why, or returns "" when the share is fine.
func (spec *Spec) shareOf(sellable int) (field, msg string) {
	switch {
	case spec.Share != 0 && spec.SharePercent != 0:
		return "share", "give share or share_percent, not both"
	case spec.SharePercent < 0 || spec.SharePercent > 100:
		return "share_percent", "must be between 1 and 100"
	case spec.SharePercent > 0:
		spec.Share = max(sellable*spec.SharePercent/100, 1)
	}
	if spec.Share < 0 || spec.Share > sellable {
		return "share", fmt.Sprintf("must be between 1 and the event's %d sellable places", sellable)
	}
	return "", ""
}

// AdminList returns an event's windows with their codes' figures.
func (s *Service) AdminList(ctx context.Context, eventID int64) ([]AdminWindow, error) {
	if err := s.eventExists(ctx, eventID); err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `SELECT `+windowColumns+`, coalesce(shared_code, ''),
			(SELECT count(*) FROM presale_codes c WHERE c.presale_id = p.id),
			(SELECT count(*) FROM presale_codes c WHERE c.presale_id = p.id AND c.account_id IS NOT NULL),
			(SELECT count(*) FROM presale_access a WHERE a.presale_id = p.id)
		FROM presales p WHERE event_id = $1 ORDER BY starts_at, id`, eventID)
	if err != nil {
		return nil, fmt.Errorf("presale: list windows of event %d: %w", eventID, err)
	}
	now := time.Now()
	out := []AdminWindow{}
	for rows.Next() {
		var a AdminWindow
		if a.Window, err = scanWindow(rows, &a.SharedCode, &a.Codes, &a.Redeemed, &a.Admitted); err != nil {
			return nil, fmt.Errorf("presale: list windows of event %d: %w", eventID, err)
		}
		a.setState(now)
		out = append(out, a)
	}
	return out, rows.Err()
}

// List returns an event's windows as a fan sees them; accountID 0 is a
// visitor who is not signed in.
func (s *Service) List(ctx context.Context, eventID, accountID int64) ([]FanWindow, error) {
	if err := s.eventExists(ctx, eventID); err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `SELECT `+windowColumns+`,
			EXISTS (SELECT 1 FROM presale_access a WHERE a.presale_id = p.id AND a.account_id = $2),
			EXISTS (SELECT 1 FROM lotteries l WHERE l.presale_id = p.id)
		FROM presales p WHERE event_id = $1 ORDER BY starts_at, id`, eventID, accountID)
	if err != nil {
		return nil, fmt.Errorf("presale: list windows of event %d: %w", eventID, err)
	}
	now := time.Now()
	out := []FanWindow{}
	for rows.Next() {
		var f FanWindow
		if f.Window, err = scanWindow(rows, &f.HasAccess, &f.Lottery); err != nil {
			return nil, fmt.Errorf("presale: list windows of event %d: %w", eventID, err)
		}
		f.setState(now)
		out = append(out, f)
	}
	return out, rows.Err()
}

func (s *Service) eventExists(ctx context.Context, eventID int64) error {
	var ok bool
	if err := s.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM events WHERE id = $1)`, eventID).Scan(&ok); err != nil {
		return fmt.Errorf("presale: find event %d: %w", eventID, err)
	}
	if !ok {
		return seatmap.ErrEventNotFound
	}
	return nil
}

// MaxBatch bounds the codes one request generates.
const MaxBatch = 10_000

// codeAlphabet has no 0/O or 1/I, so a code read aloud or off paper is
// typed right; 32 letters give 5 bits each.
const codeAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// codeLength gives 60 random bits a code: guessing one among a million
// issued takes about 2^40 tries, and guesses are rate limited.
const codeLength = 12

func newCode() string {
	b := make([]byte, codeLength)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	for i := range b {
		b[i] = codeAlphabet[int(b[i])%len(codeAlphabet)]
	}
	return string(b)
}

// FormatCode groups a stored code by four for people to read.
func FormatCode(code string) string {
	var b strings.Builder
	for i, r := range code {
		if i > 0 && i%4 == 0 {
			b.WriteByte('-')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Generate adds count single-use codes to a window and returns how many
// codes it has now.
func (s *Service) Generate(ctx context.Context, presaleID int64, count int) (total int, err error) {
	if count < 1 || count > MaxBatch {
		return 0, apperr.E(apperr.Invalid, "validation_failed", "some fields are invalid").
			With("fields", map[string]string{"count": fmt.Sprintf("must be between 1 and %d", MaxBatch)})
	}
	codes := make([]string, count)
	for i := range codes {
		codes[i] = newCode()
	}
	err = pg.Transact(ctx, s.db, func(tx pgx.Tx) error {
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM presales WHERE id = $1 FOR UPDATE)`, presaleID).
			Scan(&exists); err != nil {
			return fmt.Errorf("presale: find presale %d: %w", presaleID, err)
		}
		if !exists {
			return ErrPresaleNotFound
		}
		// A collision among 2^60 codes is not expected; ON CONFLICT keeps
		// it from failing the batch, and the total says what was stored.
		if _, err := tx.Exec(ctx, `INSERT INTO presale_codes (code, presale_id)
			SELECT unnest($2::text[]), $1 ON CONFLICT DO NOTHING`, presaleID, codes); err != nil {
			return fmt.Errorf("presale: store codes of presale %d: %w", presaleID, err)
		}
		return tx.QueryRow(ctx, `SELECT count(*) FROM presale_codes WHERE presale_id = $1`, presaleID).Scan(&total)
	})
	return total, err
}

// WriteCodesCSV writes a window's single-use codes as CSV: code,
// redeemed_by (account id) and redeemed_at, oldest first.
func (s *Service) WriteCodesCSV(ctx context.Context, presaleID int64, w io.Writer) error {
	var exists bool
	if err := s.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM presales WHERE id = $1)`, presaleID).Scan(&exists); err != nil {
		return fmt.Errorf("presale: find presale %d: %w", presaleID, err)
	}
	if !exists {
		return ErrPresaleNotFound
	}
	rows, err := s.db.Query(ctx, `SELECT code, coalesce(account_id::text, ''),
			coalesce(to_char(redeemed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), '')
		FROM presale_codes WHERE presale_id = $1 ORDER BY created_at, code`, presaleID)
	if err != nil {
		return fmt.Errorf("presale: read codes of presale %d: %w", presaleID, err)
	}
	defer rows.Close()
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"code", "redeemed_by", "redeemed_at"}); err != nil {
		return err
	}
	for rows.Next() {
		var code, by, at string
		if err := rows.Scan(&code, &by, &at); err != nil {
			return fmt.Errorf("presale: read codes of presale %d: %w", presaleID, err)
		}
		if err := cw.Write([]string{FormatCode(code), by, at}); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("presale: read codes of presale %d: %w", presaleID, err)
	}
	cw.Flush()
	return cw.Error()
}
