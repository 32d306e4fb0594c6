package presale

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/boxoffice/boxoffice/fairdraw"
	"github.com/boxoffice/boxoffice/internal/apperr"
	"github.com/boxoffice/boxoffice/internal/jobs"
	"github.com/boxoffice/boxoffice/internal/pg"
	"github.com/boxoffice/boxoffice/seatmap"
)

// Lottery states, as the public view reports them.
const (
	LotteryOpen   = "open"   // fans may register and withdraw
	LotteryClosed = "closed" // registration closed; the draw is pending
	LotteryDrawn  = "drawn"  // the seed is revealed and the winners known
)

// Registration states, as a fan sees their own.
const (
	RegistrationRegistered = "registered" // waiting for the draw
	RegistrationWon        = "won"        // drawn: the code is theirs
	RegistrationNotDrawn   = "not_drawn"  // drawn, but not this fan: try the public sale
)

// JobLotteryDraw runs an event's lottery draw at its draw time.
const JobLotteryDraw = "presale.lottery_draw"

// MaxLotteryTarget bounds how many winners one lottery may have: each
// winner gets a code and an email in the draw's one transaction.
const MaxLotteryTarget = 100_000

// Lottery errors a fan or admin can see.
var (
	ErrLotteryNotFound    = apperr.E(apperr.NotFound, "lottery_not_found", "this event has no lottery")
	ErrLotteryExists      = apperr.E(apperr.Conflict, "lottery_exists", "this event already has a lottery")
	ErrRegistrationClosed = apperr.E(apperr.Conflict, "registration_closed", "registration for this lottery has closed")
	ErrNotRegistered      = apperr.E(apperr.NotFound, "registration_not_found", "you are not registered for this lottery")
)

// LotterySpec is what an admin gives to set up an event's lottery.
type LotterySpec struct {
	// PresaleID is the window the winners' codes open.
	PresaleID int64
	// Target is how many fans are drawn at most.
	Target int
	// ClosesAt ends registration; DrawsAt (not before it) is the draw.
	ClosesAt, DrawsAt time.Time
}

// Lottery is an event's lottery as anyone may see it: the proof that lets
// an outsider recompute the draw (Verify). The registrant list appears
// once registration closed, the seed and the winners once drawn.
type Lottery struct {
	EventID   int64  `json:"event_id,string"`
	PresaleID int64  `json:"presale_id,string"`
	Algorithm string `json:"algorithm"`
	State     string `json:"state"`
	Target    int    `json:"target"`
	// Registered counts the registrations so far.
	Registered int       `json:"registered"`
	ClosesAt   time.Time `json:"closes_at"`
	DrawsAt    time.Time `json:"draws_at"`
	// SeedCommitment is hex SHA-256 of the seed, public from creation.
	SeedCommitment string    `json:"seed_commitment"`
	CommittedAt    time.Time `json:"committed_at"`
	// Registrants are the hashed account ids, sorted, once closed.
	Registrants []string `json:"registrants,omitzero"`
	// DrawnAt, Seed and Winners (in draw order) are set once drawn.
	DrawnAt *time.Time `json:"drawn_at,omitempty"`
	Seed    string     `json:"seed,omitempty"`
	Winners []string   `json:"winners,omitzero"`
}

// Verify recomputes the winners from the lottery's own published fields:
// the seed checked against the commitment, then Draw over the registrants
// with the target. It returns the recomputed winners, and an error when
// the lottery is not drawn, the seed does not match, or the published
// winners differ.
func (l Lottery) Verify() ([]string, error) {
	if l.Seed == "" {
		return nil, fairdraw.ErrNotDrawn
	}
	seed, err := fairdraw.ParseSeed(l.Seed, "", l.SeedCommitment)
	if err != nil {
		return nil, err
	}
	want, err := Draw(seed, l.Registrants, l.Target)
	if err != nil {
		return nil, err
	}
	if !slices.Equal(want, l.Winners) {
		return want, fmt.Errorf("%w: %d published, %d recomputed, %d places differ",
			ErrWinnersDiffer, len(l.Winners), len(want), differ(l.Winners, want))
	}
	return want, nil
}

// ErrWinnersDiffer: the published winners are not the ones the published
// seed, registrants and target give.
var ErrWinnersDiffer = errors.New("presale: the published winners are not the recomputed ones")

// differ counts the places where two draw orders differ, and the length
// difference.
func differ(a, b []string) int {
	n := max(len(a), len(b)) - min(len(a), len(b))
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			n++
		}
	}
	return n
}

// Registration is one fan's registration as they see it.
type Registration struct {
	EventID      int64     `json:"event_id,string"`
	EventName    string    `json:"event_name"`
	RegisteredAt time.Time `json:"registered_at"`
	// State is registered, won or not_drawn.
	State string `json:"state"`
	// Hash is this fan's entry in the published registrant list.
	Hash     string    `json:"hash"`
	ClosesAt time.Time `json:"closes_at"`
	DrawsAt  time.Time `json:"draws_at"`
	// Code is the winner's personal access code (grouped by four), and
	// PresaleStartsAt/EndsAt the window it opens.
	Code            string    `json:"code,omitempty"`
	PresaleStartsAt time.Time `json:"presale_starts_at"`
	PresaleEndsAt   time.Time `json:"presale_ends_at"`
	// SaleOpens is when the public sale starts, for those not drawn.
	SaleOpens time.Time `json:"sale_opens"`
}

// MailLotteryResults sets how the draw emails each registrant its result
// (through the outbox, in the draw's transaction). Call it while wiring;
// a draw without it fails and is retried.
func (s *Service) MailLotteryResults(m seatmap.OfferMailer) { s.lotteryMail = m }

// RegisterJobs registers the lottery draw with the job runner.
func (s *Service) RegisterJobs(r *jobs.Runner) {
	r.Register(JobLotteryDraw, func(ctx context.Context, raw json.RawMessage) error {
		var p drawJob
		if err := json.Unmarshal(raw, &p); err != nil {
			return err
		}
		return s.RunDraw(ctx, p.EventID)
	})
}

type drawJob struct {
	EventID int64 `json:"event_id"`
}

// CreateLottery sets up an event's lottery and schedules its draw. The
// seed is drawn here and only its commitment is shown until the draw.
func (s *Service) CreateLottery(ctx context.Context, eventID int64, spec LotterySpec) (Lottery, error) {
	if err := s.eventExists(ctx, eventID); err != nil {
		return Lottery{}, err
	}
	w, err := scanWindow(s.db.QueryRow(ctx, `SELECT `+windowColumns+` FROM presales WHERE id = $1 AND event_id = $2`,
		spec.PresaleID, eventID))
	missing := errors.Is(err, pgx.ErrNoRows)
	if err != nil && !missing {
		return Lottery{}, fmt.Errorf("presale: read window %d: %w", spec.PresaleID, err)
	}
	bad := map[string]string{}
	switch {
	case missing:
		bad["presale_id"] = "must be a presale window of this event"
	case !spec.DrawsAt.Before(w.EndsAt):
		bad["draws_at"] = "must be before the presale window ends, so winners can use their codes"
	}
	if !spec.ClosesAt.After(time.Now()) {
		bad["closes_at"] = "must be in the future"
	}
	if spec.DrawsAt.Before(spec.ClosesAt) {
		bad["draws_at"] = "must not be before closes_at"
	}
	if spec.Target < 1 || spec.Target > MaxLotteryTarget {
		bad["target"] = fmt.Sprintf("must be between 1 and %d", MaxLotteryTarget)
	}
	if len(bad) > 0 {
		return Lottery{}, apperr.E(apperr.Invalid, "validation_failed", "some fields are invalid").With("fields", bad)
	}
	var seed [32]byte
	key := make([]byte, 32)
	if _, err := rand.Read(seed[:]); err != nil {
		return Lottery{}, err
	}
	if _, err := rand.Read(key); err != nil {
		return Lottery{}, err
	}
	err = pg.Transact(ctx, s.db, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO lotteries (event_id, presale_id, target, closes_at, draws_at, seed, commitment, hash_key)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (event_id) DO NOTHING`,
			eventID, spec.PresaleID, spec.Target, spec.ClosesAt, spec.DrawsAt, seed[:], fairdraw.Commitment(seed, ""), key)
		if err != nil {
			return fmt.Errorf("presale: create lottery of event %d: %w", eventID, err)
		}
		if tag.RowsAffected() == 0 {
			return ErrLotteryExists
		}
		_, err = jobs.Enqueue(ctx, tx, jobs.Job{Kind: JobLotteryDraw, DedupeKey: fmt.Sprintf("lottery-draw:%d", eventID),
			Payload: drawJob{EventID: eventID}, At: spec.DrawsAt})
		return err
	})
	if err != nil {
		return Lottery{}, err
	}
	return s.Lottery(ctx, eventID)
}

// lotteryRow is the stored lottery, secrets included.
type lotteryRow struct {
	Lottery
	seed    []byte
	hashKey []byte
	// now is the database's clock, which every time check uses.
	now time.Time
}

func (s *Service) readLottery(ctx context.Context, q pg.Querier, eventID int64, lock string) (lotteryRow, error) {
	var l lotteryRow
	l.EventID, l.Algorithm = eventID, LotteryAlgorithm
	err := q.QueryRow(ctx, `SELECT presale_id, target, closes_at, draws_at, commitment, committed_at, drawn_at, seed, hash_key, now()
		FROM lotteries WHERE event_id = $1 `+lock, eventID).Scan(&l.PresaleID, &l.Target, &l.ClosesAt, &l.DrawsAt,
		&l.SeedCommitment, &l.CommittedAt, &l.DrawnAt, &l.seed, &l.hashKey, &l.now)
	if errors.Is(err, pgx.ErrNoRows) {
		return l, ErrLotteryNotFound
	}
	if err != nil {
		return l, fmt.Errorf("presale: read lottery of event %d: %w", eventID, err)
	}
	switch {
	case l.DrawnAt != nil:
		l.State = LotteryDrawn
	case l.now.Before(l.ClosesAt):
		l.State = LotteryOpen
	default:
		l.State = LotteryClosed
	}
	return l, nil
}

// Lottery returns an event's lottery as published: after close with the
// sorted registrant list, after the draw with the seed and the winners.
func (s *Service) Lottery(ctx context.Context, eventID int64) (Lottery, error) {
	l, err := s.readLottery(ctx, s.db, eventID, "")
	if err != nil {
		return Lottery{}, err
	}
	rows, err := s.db.Query(ctx, `SELECT account_id, coalesce(draw_rank, 0) FROM registrations WHERE event_id = $1`, eventID)
	if err != nil {
		return Lottery{}, fmt.Errorf("presale: registrants of event %d: %w", eventID, err)
	}
	type reg struct {
		hash string
		rank int
	}
	var regs []reg
	for rows.Next() {
		var id int64
		var r reg
		if err := rows.Scan(&id, &r.rank); err != nil {
			return Lottery{}, fmt.Errorf("presale: registrants of event %d: %w", eventID, err)
		}
		r.hash = HashAccount(l.hashKey, id)
		regs = append(regs, r)
	}
	if err := rows.Err(); err != nil {
		return Lottery{}, fmt.Errorf("presale: registrants of event %d: %w", eventID, err)
	}
	out := l.Lottery
	out.Registered = len(regs)
	if l.State == LotteryOpen {
		return out, nil
	}
	out.Registrants = make([]string, 0, len(regs))
	for _, r := range regs {
		out.Registrants = append(out.Registrants, r.hash)
	}
	slices.Sort(out.Registrants)
	if l.State == LotteryDrawn {
		out.Seed = hex.EncodeToString(l.seed)
		slices.SortFunc(regs, func(a, b reg) int { return a.rank - b.rank })
		out.Winners = []string{}
		for _, r := range regs {
			if r.rank > 0 {
				out.Winners = append(out.Winners, r.hash)
			}
		}
	}
	return out, nil
}

// Register puts a fan on an event's lottery while registration is open.
// Registering again is no change; created says whether this call added
// the registration.
func (s *Service) Register(ctx context.Context, eventID, accountID int64) (reg Registration, created bool, err error) {
	err = pg.Transact(ctx, s.db, func(tx pgx.Tx) error {
		// FOR SHARE: the draw (FOR UPDATE) waits for registrations in
		// flight, so none lands after the list was drawn.
		l, err := s.readLottery(ctx, tx, eventID, "FOR SHARE")
		if err != nil {
			return err
		}
		if l.State != LotteryOpen {
			var exists bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM registrations WHERE event_id = $1 AND account_id = $2)`,
				eventID, accountID).Scan(&exists); err != nil {
				return fmt.Errorf("presale: registration: %w", err)
			}
			if !exists {
				return ErrRegistrationClosed.With("closed_at", l.ClosesAt.UTC().Format(time.RFC3339))
			}
			return nil
		}
		tag, err := tx.Exec(ctx, `INSERT INTO registrations (event_id, account_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
			eventID, accountID)
		if err != nil {
			return fmt.Errorf("presale: register account %d for event %d: %w", accountID, eventID, err)
		}
		created = tag.RowsAffected() == 1
		return nil
	})
	if err != nil {
		return Registration{}, false, err
	}
	reg, err = s.Registration(ctx, eventID, accountID)
	return reg, created, err
}

// Withdraw takes a fan off an event's lottery before registration closes.
func (s *Service) Withdraw(ctx context.Context, eventID, accountID int64) error {
	return pg.Transact(ctx, s.db, func(tx pgx.Tx) error {
		l, err := s.readLottery(ctx, tx, eventID, "FOR SHARE")
		if err != nil {
			return err
		}
		if l.State != LotteryOpen {
			return ErrRegistrationClosed.With("closed_at", l.ClosesAt.UTC().Format(time.RFC3339))
		}
		tag, err := tx.Exec(ctx, `DELETE FROM registrations WHERE event_id = $1 AND account_id = $2`, eventID, accountID)
		if err != nil {
			return fmt.Errorf("presale: withdraw account %d from event %d: %w", accountID, eventID, err)
		}
		if tag.RowsAffected() == 0 {
			return ErrNotRegistered
		}
		return nil
	})
}

const registrationQuery = `SELECT r.event_id, e.name, r.created_at, coalesce(r.code, ''), l.drawn_at IS NOT NULL,
		l.hash_key, l.closes_at, l.draws_at, p.starts_at, p.ends_at, e.sale_opens, r.account_id
	FROM registrations r JOIN lotteries l USING (event_id) JOIN events e ON e.id = r.event_id
	JOIN presales p ON p.id = l.presale_id`

func scanRegistration(row pgx.Row) (Registration, error) {
	var r Registration
	var drawn bool
	var key []byte
	var accountID int64
	err := row.Scan(&r.EventID, &r.EventName, &r.RegisteredAt, &r.Code, &drawn, &key, &r.ClosesAt, &r.DrawsAt,
		&r.PresaleStartsAt, &r.PresaleEndsAt, &r.SaleOpens, &accountID)
	if err != nil {
		return r, err
	}
	r.Hash = HashAccount(key, accountID)
	switch {
	case r.Code != "":
		r.State, r.Code = RegistrationWon, FormatCode(r.Code)
	case drawn:
		r.State = RegistrationNotDrawn
	default:
		r.State = RegistrationRegistered
	}
	return r, nil
}

// Registration returns a fan's own registration for an event, or
// ErrNotRegistered (another fan's registration is never shown).
func (s *Service) Registration(ctx context.Context, eventID, accountID int64) (Registration, error) {
	r, err := scanRegistration(s.db.QueryRow(ctx, registrationQuery+` WHERE r.event_id = $1 AND r.account_id = $2`,
		eventID, accountID))
	if errors.Is(err, pgx.ErrNoRows) {
		return r, ErrNotRegistered
	}
	if err != nil {
		return r, fmt.Errorf("presale: registration of account %d for event %d: %w", accountID, eventID, err)
	}
	return r, nil
}

// Registrations lists a fan's registrations, newest first.
func (s *Service) Registrations(ctx context.Context, accountID int64) ([]Registration, error) {
	rows, err := s.db.Query(ctx, registrationQuery+` WHERE r.account_id = $1 ORDER BY r.created_at DESC`, accountID)
	if err != nil {
		return nil, fmt.Errorf("presale: registrations of account %d: %w", accountID, err)
	}
	defer rows.Close()
	out := []Registration{}
	for rows.Next() {
		r, err := scanRegistration(rows)
		if err != nil {
			return nil, fmt.Errorf("presale: registrations of account %d: %w", accountID, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// errDrawNotDue: the job ran before the draw time by the database's clock
// (another node's clock ahead); the runner retries it.
var errDrawNotDue = errors.New("presale: the lottery's draw time has not come")

// RunDraw draws an event's lottery once: in one transaction holding the
// lottery's row, it picks the winners with Draw, issues each a single-use
// code of the window bound to their account, records their rank, enqueues
// every registrant's result email and marks the lottery drawn. A second
// run, at once or after a crash, finds it drawn (or rolled back) and does
// nothing more.
func (s *Service) RunDraw(ctx context.Context, eventID int64) error {
	if s.lotteryMail == nil {
		return errors.New("presale: no lottery mailer: results cannot be sent")
	}
	err := pg.Transact(ctx, s.db, func(tx pgx.Tx) error {
		l, err := s.readLottery(ctx, tx, eventID, "FOR UPDATE")
		if err != nil {
			return err
		}
		if l.DrawnAt != nil {
			return nil
		}
		if l.now.Before(l.DrawsAt) {
			return errDrawNotDue
		}
		var ev struct {
			name      string
			saleOpens time.Time
		}
		var w Window
		if err := tx.QueryRow(ctx, `SELECT name, sale_opens FROM events WHERE id = $1`, eventID).Scan(&ev.name, &ev.saleOpens); err != nil {
			return fmt.Errorf("presale: read event %d: %w", eventID, err)
		}
		if w, err = scanWindow(tx.QueryRow(ctx, `SELECT `+windowColumns+` FROM presales WHERE id = $1`, l.PresaleID)); err != nil {
			return fmt.Errorf("presale: read window %d: %w", l.PresaleID, err)
		}
		var ids []int64
		if err := tx.QueryRow(ctx, `SELECT coalesce(array_agg(account_id), '{}') FROM registrations WHERE event_id = $1`,
			eventID).Scan(&ids); err != nil {
			return fmt.Errorf("presale: registrants of event %d: %w", eventID, err)
		}
		byHash := make(map[string]int64, len(ids))
		hashes := make([]string, len(ids))
		for i, id := range ids {
			hashes[i] = HashAccount(l.hashKey, id)
			byHash[hashes[i]] = id
		}
		winners, err := Draw([32]byte(l.seed), hashes, l.Target)
		if err != nil {
			return err
		}
		codes := make(map[int64]string, len(winners))
		winnerIDs, winnerCodes, ranks := make([]int64, len(winners)), make([]string, len(winners)), make([]int, len(winners))
		for i, h := range winners {
			winnerIDs[i], winnerCodes[i], ranks[i] = byHash[h], newCode(), i+1
			codes[winnerIDs[i]] = winnerCodes[i]
		}
		// A code collision among 2^60 fails the transaction, and the
		// job's retry draws the same winners with fresh codes.
		if _, err := tx.Exec(ctx, `INSERT INTO presale_codes (code, presale_id, account_id)
			SELECT unnest($2::text[]), $1, unnest($3::bigint[])`, l.PresaleID, winnerCodes, winnerIDs); err != nil {
			return fmt.Errorf("presale: issue lottery codes of event %d: %w", eventID, err)
		}
		if _, err := tx.Exec(ctx, `UPDATE registrations r SET code = w.code, draw_rank = w.rank
			FROM unnest($2::bigint[], $3::text[], $4::int[]) AS w(account_id, code, rank)
			WHERE r.event_id = $1 AND r.account_id = w.account_id`, eventID, winnerIDs, winnerCodes, ranks); err != nil {
			return fmt.Errorf("presale: record winners of event %d: %w", eventID, err)
		}
		for _, id := range ids {
			subject, body := lotteryResultMail(ev.name, w, ev.saleOpens, codes[id])
			if err := s.lotteryMail(ctx, tx, id, fmt.Sprintf("lottery:%d:%d", eventID, id), subject, body); err != nil {
				return fmt.Errorf("presale: lottery mail to %d: %w", id, err)
			}
		}
		_, err = tx.Exec(ctx, `UPDATE lotteries SET drawn_at = now() WHERE event_id = $1`, eventID)
		return err
	})
	if err != nil && !errors.Is(err, ErrLotteryNotFound) {
		return err
	}
	// A lottery deleted with its event has nothing left to draw.
	return nil
}

// lotteryResultMail is the email of one registrant's result; code is ""
// for a fan who was not drawn.
func lotteryResultMail(event string, w Window, saleOpens time.Time, code string) (subject, body string) {
	const layout = "Mon 2 Jan 2006 15:04 MST"
	if code != "" {
		return "You won the presale lottery for " + event, fmt.Sprintf(
			"You were drawn in the lottery for %s.\n\nYour personal access code: %s\n\n"+
				"It works for your account only, in the presale %q from %s to %s.\n"+
				"It is also shown on your account page.\n",
			event, FormatCode(code), w.Name, w.StartsAt.UTC().Format(layout), w.EndsAt.UTC().Format(layout))
	}
	return "Presale lottery result for " + event, fmt.Sprintf(
		"The lottery for %s has been drawn, and you were not among the fans selected this time.\n\n"+
			"You can still try the public sale, which opens %s.\n",
		event, saleOpens.UTC().Format(layout))
}
