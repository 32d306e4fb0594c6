package seatmap

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/boxoffice/boxoffice/internal/apperr"
	"github.com/boxoffice/boxoffice/internal/jobs"
	"github.com/boxoffice/boxoffice/internal/pg"
)

// Waiting lists. When an event, a section or a price range is sold out, a
// fan joins the event's list with the number of places they want. Seats
// that come back later (a hold released or expired, a payment failed, an
// order rejected on review, held-back seats put on sale) do not go back on
// the public map while the list has takers: offerFreed, which every step
// that frees seats calls inside its own transaction before it commits,
// moves them straight from that step into a hold of the first fan in line
// whose request they fit. The seats' only published change is "held", so
// no snapshot and no diff ever shows them available.
//
// That hold is the offer: an ordinary hold with a shorter life (OfferTTL).
// The fan accepts it by checking it out like any hold; declining (releasing
// it) or letting it expire frees its seats through the same steps, so they
// pass on to the next fan in line. An entry is offered once: what became
// of the offer is the status of its hold.
//
// Lock order, after the package's: hold rows, seats by id, then the
// event's line in order (FOR UPDATE: two freeing steps of one event take
// turns, so offers go out in line order), then account counters.

// Errors of the waiting list.
var (
	ErrNotSoldOut      = apperr.E(apperr.Conflict, "not_sold_out", "places matching this request are still on sale: hold them instead")
	ErrAlreadyWaiting  = apperr.E(apperr.Conflict, "already_waiting", "you are already on this event's waiting list or have an open offer")
	ErrWaitlistMissing = apperr.E(apperr.NotFound, "waitlist_entry_not_found", "you are not on this event's waiting list")
)

// Waiting-list entry states as the API reports them. Stored are only
// waiting, offered and left; an offered entry reads as the fate of its
// offer hold.
const (
	WaitWaiting   = "waiting"
	WaitOffered   = "offered"
	WaitFulfilled = "fulfilled"
	WaitLapsed    = "lapsed"
	WaitLeft      = "left"
)

// JobWaitlistOffer sends an offer's live message to the fan's sockets
// once the transaction that made it committed.
const JobWaitlistOffer = "seatmap.waitlist_offer"

// waitlistScan bounds how many fans of the line one freeing step looks at:
// a freed seat that fits none of the first ones goes back on sale.
const waitlistScan = 64

// WaitlistRequest asks for Quantity places of an event, in Section (any
// when empty; a general-admission area is a section) at MaxPriceCents
// each at most (0: any price).
type WaitlistRequest struct {
	EventID       int64
	AccountID     int64
	Section       string
	MaxPriceCents int64
	Quantity      int
}

// WaitlistEntry is a fan's place on an event's waiting list.
type WaitlistEntry struct {
	ID            string    `json:"id"`
	EventID       int64     `json:"event_id,string"`
	Section       string    `json:"section,omitempty"`
	MaxPriceCents int64     `json:"max_price_cents"`
	Quantity      int       `json:"quantity"`
	Status        string    `json:"status"`
	CreatedAt     time.Time `json:"created_at"`
	// Position is 1 for the next fan to be offered places; 0 unless waiting.
	Position int `json:"position,omitempty"`
	// Offer is the hold offered to the fan, once offered.
	Offer *Offer `json:"offer,omitempty"`
}

// Offer is the hold a waiting-list entry was offered: Seats places held
// for the fan until ExpiresAt. Check out HoldID to accept it; release it
// to decline.
type Offer struct {
	HoldID    string    `json:"hold_id"`
	Seats     int       `json:"seats"`
	ExpiresAt time.Time `json:"expires_at"`
}

// OfferMailer enqueues an email to an account inside q's transaction (the
// outbox); checkout provides it, as seatmap sends no mail itself.
type OfferMailer func(ctx context.Context, q pg.Querier, accountID int64, key, subject, body string) error

// AccountPublisher sends a frame to one account's live sockets.
type AccountPublisher interface {
	PublishAccount(ctx context.Context, accountID int64, frame []byte) error
}

// NotifyOffers sets how fans hear of their offers: mail by email through
// the outbox, live on their sockets. Either may be nil. Call it while
// wiring, before serving.
func (s *Service) NotifyOffers(mail OfferMailer, live AccountPublisher) {
	s.offerMail, s.offerLive = mail, live
}

// JoinWaitlist puts a fan at the end of an event's waiting list. The event
// must be on sale or sold out, and what the fan asks for sold out (fewer than Quantity
// matching places available); one waiting entry or open offer per fan and
// event.
func (s *Service) JoinWaitlist(ctx context.Context, req WaitlistRequest) (WaitlistEntry, error) {
	ev, err := s.event(ctx, req.EventID)
	if err != nil {
		return WaitlistEntry{}, err
	}
	if st := effectiveStatus(ev.storedStatus, ev.paused, ev.SaleOpens, time.Now()); st != StatusOnSale && st != StatusSoldOut {
		return WaitlistEntry{}, ErrNotOnSale
	}
	if req.Quantity < 1 || req.Quantity > ev.MaxSeatsPerAccount {
		return WaitlistEntry{}, ErrSeatCount.With("max", ev.MaxSeatsPerAccount)
	}
	if req.MaxPriceCents < 0 {
		return WaitlistEntry{}, apperr.E(apperr.Invalid, "invalid_max_price", "max_price_cents must not be negative")
	}
	if req.Section != "" {
		l, err := s.layout(ctx, req.EventID)
		if err != nil {
			return WaitlistEntry{}, err
		}
		if !slices.ContainsFunc(l.sections, func(sec SectionInfo) bool { return sec.ID == req.Section }) {
			return WaitlistEntry{}, ErrUnknownSection.With("section", req.Section)
		}
	}
	id := uuid.NewString()
	err = pg.Transact(ctx, s.db, func(tx pgx.Tx) error {
		var free int
		if err := tx.QueryRow(ctx, `
			SELECT count(*) FROM seats WHERE event_id = $1 AND status = 'available'
			AND ($2 = '' OR section = $2) AND ($3 = 0 OR price_cents <= $3)`,
			req.EventID, req.Section, req.MaxPriceCents).Scan(&free); err != nil {
			return fmt.Errorf("seatmap: waitlist availability of %d: %w", req.EventID, err)
		}
		if free >= req.Quantity {
			return ErrNotSoldOut.With("available", free)
		}
		var open bool
		if err := tx.QueryRow(ctx, `
			SELECT EXISTS (SELECT 1 FROM waitlist_entries w LEFT JOIN holds h ON h.id = w.hold_id
			WHERE w.event_id = $1 AND w.account_id = $2
			AND (w.status = 'waiting' OR (w.status = 'offered' AND h.status IN ('active', 'payment_pending'))))`,
			req.EventID, req.AccountID).Scan(&open); err != nil {
			return fmt.Errorf("seatmap: waitlist entries of %d: %w", req.AccountID, err)
		}
		if open {
			return ErrAlreadyWaiting
		}
		_, err := tx.Exec(ctx, `
			INSERT INTO waitlist_entries (id, event_id, account_id, section, max_price_cents, quantity)
			VALUES ($1, $2, $3, $4, $5, $6)`, id, req.EventID, req.AccountID, req.Section, req.MaxPriceCents, req.Quantity)
		if pg.IsUniqueViolation(err, "waitlist_one_waiting_idx") {
			return ErrAlreadyWaiting
		}
		if err != nil {
			return fmt.Errorf("seatmap: join waitlist of %d: %w", req.EventID, err)
		}
		return nil
	})
	if err != nil {
		return WaitlistEntry{}, err
	}
	return s.Waitlist(ctx, req.EventID, req.AccountID)
}

// Waitlist returns the fan's latest entry on an event's waiting list, with
// its position while waiting and its offer once offered. A fan who never
// joined, or left, gets ErrWaitlistMissing.
func (s *Service) Waitlist(ctx context.Context, eventID, accountID int64) (WaitlistEntry, error) {
	e := WaitlistEntry{EventID: eventID}
	var holdID, holdStatus *string
	var expiresAt *time.Time
	var offered int
	err := s.db.QueryRow(ctx, `
		SELECT w.id, w.section, w.max_price_cents, w.quantity, w.status, w.created_at, w.offered,
		       w.hold_id::text, CASE WHEN h.status = 'active' AND h.expires_at <= now() THEN 'expired' ELSE h.status END,
		       h.expires_at,
		       CASE WHEN w.status = 'waiting' THEN (SELECT count(*) FROM waitlist_entries o
		            WHERE o.event_id = w.event_id AND o.status = 'waiting' AND o.seq <= w.seq) ELSE 0 END
		FROM waitlist_entries w LEFT JOIN holds h ON h.id = w.hold_id
		WHERE w.event_id = $1 AND w.account_id = $2 AND w.status <> 'left'
		ORDER BY w.seq DESC LIMIT 1`, eventID, accountID).Scan(
		&e.ID, &e.Section, &e.MaxPriceCents, &e.Quantity, &e.Status, &e.CreatedAt, &offered,
		&holdID, &holdStatus, &expiresAt, &e.Position)
	if errors.Is(err, pgx.ErrNoRows) {
		return WaitlistEntry{}, ErrWaitlistMissing
	}
	if err != nil {
		return WaitlistEntry{}, fmt.Errorf("seatmap: waitlist entry of %d: %w", accountID, err)
	}
	if holdID != nil && holdStatus != nil && expiresAt != nil {
		e.Offer = &Offer{HoldID: *holdID, Seats: offered, ExpiresAt: *expiresAt}
		switch *holdStatus {
		case HoldConverted:
			e.Status = WaitFulfilled
		case HoldReleased, HoldExpired:
			e.Status = WaitLapsed
		}
	}
	return e, nil
}

// LeaveWaitlist takes the fan off an event's waiting list. A fan holding
// an open offer declines it: its seats pass to the next fan in line.
func (s *Service) LeaveWaitlist(ctx context.Context, eventID, accountID int64) error {
	tag, err := s.db.Exec(ctx, `
		UPDATE waitlist_entries SET status = 'left', ended_at = now()
		WHERE event_id = $1 AND account_id = $2 AND status = 'waiting'`, eventID, accountID)
	if err != nil {
		return fmt.Errorf("seatmap: leave waitlist of %d: %w", eventID, err)
	}
	if tag.RowsAffected() > 0 {
		return nil
	}
	e, err := s.Waitlist(ctx, eventID, accountID)
	if err != nil {
		return err
	}
	if e.Status != WaitOffered || e.Offer == nil {
		return ErrWaitlistMissing
	}
	if err := s.Release(ctx, accountID, e.Offer.HoldID); err != nil {
		if errors.Is(err, ErrHoldNotActive) || errors.Is(err, ErrHoldExpired) {
			return ErrWaitlistMissing
		}
		return err
	}
	return nil
}

// waiter is a waiting-list entry a freeing step looks at.
type waiter struct {
	id            string
	accountID     int64
	section       string
	maxPriceCents int64
	quantity      int
}

func (w waiter) fits(st SeatInfo) bool {
	return (w.section == "" || st.Section == w.section) && (w.maxPriceCents == 0 || st.PriceCents <= w.maxPriceCents)
}

// offerFreed is where freed seats are routed: every step that makes seats
// available calls it inside its transaction, with the changes it made
// (by event), before committing. Seats that became available and fit a
// fan waiting in line are held for that fan at once (the offer); their
// changes in changes become "held" at the offer's versions, so what the
// caller publishes after the commit never shows them available. Seats that
// fit nobody stay available. An event with nobody waiting costs one
// indexed read.
func (s *Service) offerFreed(ctx context.Context, tx pgx.Tx, changes map[int64][]SeatChange) error {
	for eventID, cs := range changes {
		if !slices.ContainsFunc(cs, func(c SeatChange) bool { return c.State == StateAvailable }) {
			continue
		}
		if err := s.offerEvent(ctx, tx, eventID, cs); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) offerEvent(ctx context.Context, tx pgx.Tx, eventID int64, cs []SeatChange) error {
	rows, err := tx.Query(ctx, `
		SELECT w.id, w.account_id, w.section, w.max_price_cents, w.quantity FROM waitlist_entries w
		WHERE w.event_id = $1 AND w.status = 'waiting' AND EXISTS (
			SELECT 1 FROM events e WHERE e.id = $1 AND NOT e.paused
			AND (e.status IN ('on_sale', 'sold_out') OR (e.status = 'upcoming' AND e.sale_opens <= now())))
		ORDER BY w.seq LIMIT $2 FOR UPDATE OF w`, eventID, waitlistScan)
	if err != nil {
		return fmt.Errorf("seatmap: waitlist of %d: %w", eventID, err)
	}
	line, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (waiter, error) {
		var w waiter
		err := r.Scan(&w.id, &w.accountID, &w.section, &w.maxPriceCents, &w.quantity)
		return w, err
	})
	if err != nil {
		return fmt.Errorf("seatmap: waitlist of %d: %w", eventID, err)
	}
	if len(line) == 0 {
		return nil
	}
	ev, err := s.eventIn(ctx, tx, eventID)
	if err != nil {
		return err
	}
	l, err := s.layoutIn(ctx, tx, eventID)
	if err != nil {
		return err
	}
	// The freed seats, best first; pos finds a seat's change again.
	pos := make(map[int32]int)
	var freed []SeatInfo
	for i, c := range cs {
		if c.State == StateAvailable {
			pos[c.Idx] = i
			freed = append(freed, l.seats[c.Idx])
		}
	}
	slices.SortFunc(freed, func(a, b SeatInfo) int { return cmp.Or(cmp.Compare(a.Rank, b.Rank), cmp.Compare(a.ID, b.ID)) })
	for _, w := range line {
		if len(freed) == 0 {
			return nil
		}
		var picked []SeatInfo
		for _, st := range freed {
			if len(picked) < w.quantity && w.fits(st) {
				picked = append(picked, st)
			}
		}
		if len(picked) == 0 {
			continue
		}
		room, err := s.lockAllowance(ctx, tx, w.accountID, eventID, ev.MaxSeatsPerAccount)
		if err != nil {
			return err
		}
		if room <= 0 {
			continue // the fan holds their share already: the next one
		}
		picked = picked[:min(len(picked), room)]
		got, err := s.makeOffer(ctx, tx, ev, w, picked)
		if err != nil {
			return err
		}
		for _, c := range got {
			cs[pos[c.Idx]] = c
		}
		freed = slices.DeleteFunc(freed, func(st SeatInfo) bool {
			return slices.ContainsFunc(picked, func(p SeatInfo) bool { return p.ID == st.ID })
		})
	}
	return nil
}

// lockAllowance locks the account's counter for the event (creating it at
// zero) and returns how many more seats the cap allows.
func (s *Service) lockAllowance(ctx context.Context, tx pgx.Tx, accountID, eventID int64, limit int) (int, error) {
	var n int
	err := tx.QueryRow(ctx, `
		INSERT INTO account_event_seats AS c (account_id, event_id, seats) VALUES ($1, $2, 0)
		ON CONFLICT (account_id, event_id) DO UPDATE SET seats = c.seats
		RETURNING seats`, accountID, eventID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("seatmap: allowance of %d: %w", accountID, err)
	}
	return limit - n, nil
}

// offerSQL holds the freed seats for the fan whose turn it is, in one
// statement: the seats (still locked by the freeing step, and available
// in this transaction) become held by a new hold, the fan's counter takes
// them, and the entry records its offer. A seat that is not available
// leaves the hold unmade and the statement reports it.
const offerSQL = `
WITH upd AS (
	UPDATE seats s SET status = 'held', hold_id = $3, holder_account_id = $2, version = s.version + 1
	WHERE s.event_id = $1 AND s.id = ANY($4::bigint[]) AND s.status = 'available'
	RETURNING s.id, s.idx, s.version),
ins AS (
	INSERT INTO holds (id, event_id, account_id, status, seat_ids, seat_versions, total_cents, currency, expires_at)
	SELECT $3, $1, $2, 'active', array_agg(id ORDER BY id), array_agg(version ORDER BY id), $5, $6,
	       now() + make_interval(secs => $7)
	FROM upd HAVING count(*) = cardinality($4::bigint[])
	RETURNING expires_at),
cnt AS (
	UPDATE account_event_seats SET seats = seats + cardinality($4::bigint[])
	WHERE account_id = $2 AND event_id = $1 AND EXISTS (SELECT 1 FROM ins)),
ent AS (
	UPDATE waitlist_entries SET status = 'offered', hold_id = $3, offered = cardinality($4::bigint[]), ended_at = now()
	WHERE id = $8 AND EXISTS (SELECT 1 FROM ins))
SELECT (SELECT expires_at FROM ins), coalesce(array_agg(idx), '{}'), coalesce(array_agg(version), '{}') FROM upd`

// makeOffer holds picked for w and enqueues the fan's messages, inside tx.
// It returns the seats' new changes.
func (s *Service) makeOffer(ctx context.Context, tx pgx.Tx, ev eventRow, w waiter, picked []SeatInfo) ([]SeatChange, error) {
	ids := make([]int64, len(picked))
	for i, st := range picked {
		ids[i] = st.ID
	}
	slices.Sort(ids)
	_, total, err := linesFor(ev.Event, picked, nil)
	if err != nil {
		return nil, err
	}
	holdID := uuid.NewString()
	var expiresAt *time.Time
	var idxs []int32
	var versions []int64
	if err := tx.QueryRow(ctx, offerSQL, ev.ID, w.accountID, holdID, ids, total, ev.Currency,
		s.cfg.OfferTTL.Seconds(), w.id).Scan(&expiresAt, &idxs, &versions); err != nil {
		return nil, fmt.Errorf("seatmap: offer to %s: %w", w.id, err)
	}
	if expiresAt == nil {
		// The freeing step locked these seats and made them available:
		// anything else is a bug, and the whole step rolls back.
		return nil, fmt.Errorf("seatmap: offer to %s: %d of %d freed seats were not available", w.id, len(idxs), len(ids))
	}
	out := make([]SeatChange, len(idxs))
	for i := range idxs {
		out[i] = SeatChange{Idx: idxs[i], State: StateHeld, Version: versions[i]}
	}
	offer := offerJob{EventID: ev.ID, AccountID: w.accountID, EntryID: w.id, HoldID: holdID, Seats: len(ids),
		ExpiresAt: *expiresAt}
	if _, err := jobs.Enqueue(ctx, tx, jobs.Job{Kind: JobWaitlistOffer, DedupeKey: "waitlist-offer:" + holdID, Payload: offer}); err != nil {
		return nil, fmt.Errorf("seatmap: offer to %s: %w", w.id, err)
	}
	if s.offerMail != nil {
		subject := fmt.Sprintf("Places for %s are yours to take", ev.Name)
		body := fmt.Sprintf("Good news: %d place(s) for %s came back and are held for you until %s UTC.\n\n"+
			"Open the event page to check out, or decline to pass them on to the next fan in line:\n/events/%d\n",
			len(ids), ev.Name, expiresAt.UTC().Format("15:04"), ev.ID)
		if err := s.offerMail(ctx, tx, w.accountID, "waitlist-offer:"+holdID, subject, body); err != nil {
			return nil, fmt.Errorf("seatmap: offer mail to %s: %w", w.id, err)
		}
	}
	return out, nil
}

// offerJob is the payload of JobWaitlistOffer.
type offerJob struct {
	EventID   int64     `json:"event_id"`
	AccountID int64     `json:"account_id"`
	EntryID   string    `json:"entry_id"`
	HoldID    string    `json:"hold_id"`
	Seats     int       `json:"seats"`
	ExpiresAt time.Time `json:"expires_at"`
}

// offerFrame is the live message of an offer on the fan's sockets.
type offerFrame struct {
	Type    string `json:"type"` // "waitlist_offer"
	EventID int64  `json:"event_id,string"`
	Offer
}

// sendOfferLive is JobWaitlistOffer's handler: it tells the fan's open
// sockets. A fan with none sees the offer on the event page (and in the
// email) instead, so nothing is retried for them. An offer already ended
// is not announced.
func (s *Service) sendOfferLive(ctx context.Context, raw json.RawMessage) error {
	var j offerJob
	if err := json.Unmarshal(raw, &j); err != nil {
		return fmt.Errorf("seatmap: waitlist offer payload: %w", err)
	}
	if s.offerLive == nil || !time.Now().Before(j.ExpiresAt) {
		return nil
	}
	frame, err := json.Marshal(offerFrame{Type: "waitlist_offer", EventID: j.EventID,
		Offer: Offer{HoldID: j.HoldID, Seats: j.Seats, ExpiresAt: j.ExpiresAt}})
	if err != nil {
		return err
	}
	return s.offerLive.PublishAccount(ctx, j.AccountID, frame)
}
