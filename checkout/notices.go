package checkout

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/boxoffice/boxoffice/internal/apperr"
	"github.com/boxoffice/boxoffice/internal/pg"
	"github.com/boxoffice/boxoffice/seatmap"
)

// Notices to ticket holders when their event changes: a cancellation
// (what they get back), a postponement or move (the new time and place,
// and a refund they may choose until a deadline instead of keeping their
// tickets). Each is one email per account, written in the transaction of
// the change (enqueueNotice), deduplicated by event (or reschedule) and
// account, so a retried change mails nobody twice. The holder is whoever
// holds the ticket now: a transferred ticket's notice goes to the fan it
// was given to, a resold one's to its buyer.

// Errors of the notices.
var (
	ErrOfferNotFound = apperr.E(apperr.NotFound, "refund_offer_not_found", "no such refund offer: the link is not valid for this event")
	ErrOfferClosed   = apperr.E(apperr.Gone, "refund_offer_closed", "the time to ask for a refund instead of the new date is over")
	ErrOfferUsed     = apperr.E(apperr.Conflict, "refund_offer_used", "you already chose a refund for this change of date")
	ErrRescheduleAt  = apperr.E(apperr.Invalid, "invalid_dates",
		"event_date must be in the future and after the sale opens; refund_until after now and before event_date")
	ErrBadUnsubscribe = apperr.E(apperr.NotFound, "invalid_token", "this unsubscribe link is not valid")
)

// noticeToken signs a mailed link's purpose, ids and expiry (zero: none)
// as "payload.mac": a link only we could have made, which names what it is
// for and stops working when it should. The MAC is keyed with SecretKey
// under its own label, so it is never a valid barcode or anything else.
func (s *Service) noticeToken(purpose string, exp time.Time, ids ...int64) string {
	parts := []string{purpose, strconv.FormatInt(expUnix(exp), 10)}
	for _, id := range ids {
		parts = append(parts, strconv.FormatInt(id, 10))
	}
	payload := base64.RawURLEncoding.EncodeToString([]byte(strings.Join(parts, ".")))
	return payload + "." + s.noticeMAC(payload)
}

func expUnix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func (s *Service) noticeMAC(payload string) string {
	m := hmac.New(sha256.New, s.cfg.SecretKey)
	m.Write([]byte("notice\x00" + payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

// openNoticeToken checks a token of purpose and returns its ids and
// expiry; ok is false for anything forged, malformed or for another
// purpose (expiry is the caller's to judge: it says why).
func (s *Service) openNoticeToken(purpose, token string, n int) (ids []int64, exp time.Time, ok bool) {
	payload, mac, found := strings.Cut(token, ".")
	if !found || len(token) > 256 || !hmac.Equal([]byte(mac), []byte(s.noticeMAC(payload))) {
		return nil, time.Time{}, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return nil, time.Time{}, false
	}
	parts := strings.Split(string(raw), ".")
	if len(parts) != 2+n || parts[0] != purpose {
		return nil, time.Time{}, false
	}
	unix, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return nil, time.Time{}, false
	}
	if unix != 0 {
		exp = time.Unix(unix, 0)
	}
	for _, p := range parts[2:] {
		id, err := strconv.ParseInt(p, 10, 64)
		if err != nil {
			return nil, time.Time{}, false
		}
		ids = append(ids, id)
	}
	return ids, exp, true
}

// tokenLink is an absolute link into the web app with a token in its
// fragment, which no server logs.
func (s *Service) tokenLink(path, token string) string {
	return strings.TrimRight(s.cfg.BaseURL, "/") + path + "#token=" + token
}

// eventFacts are what a notice says of its event.
type eventFacts struct {
	name, timeZone, currency, status string
	date, saleOpens                  time.Time
}

func readEventFacts(ctx context.Context, q pg.Querier, eventID int64, lock bool) (eventFacts, error) {
	sql := `SELECT e.name, v.time_zone, e.currency, e.status, e.event_date, e.sale_opens
		FROM events e JOIN venues v ON v.id = e.venue_id WHERE e.id = $1`
	if lock {
		sql += ` FOR UPDATE OF e`
	}
	var f eventFacts
	err := q.QueryRow(ctx, sql, eventID).Scan(&f.name, &f.timeZone, &f.currency, &f.status, &f.date, &f.saleOpens)
	if errors.Is(err, pgx.ErrNoRows) {
		return f, seatmap.ErrEventNotFound
	}
	if err != nil {
		return f, fmt.Errorf("checkout: event %d: %w", eventID, err)
	}
	return f, nil
}

// liveTickets are an event's tickets that are not void and were not sold
// at the box office: those are the operator's account's, and their buyers
// left no address.
const liveTickets = `SELECT t.account_id FROM tickets t JOIN orders o ON o.id = t.order_id JOIN payments p ON p.id = o.payment_id
	WHERE t.event_id = $1 AND t.status <> 'void' AND p.provider <> 'counter'`

// paidOrders are an event's orders whose money a cancellation gives back
// by card (counter sales are settled at the box office).
const paidOrders = `SELECT o.id, o.payment_id, o.account_id FROM orders o JOIN payments p ON p.id = o.payment_id
	WHERE o.event_id = $1 AND o.status IN ('paid', 'review') AND p.provider <> 'counter'`

// holdersQuery lists the accounts holding a live ticket of the event, with
// how many: the people a change of the event concerns.
const holdersQuery = `SELECT account_id, count(*) FROM (` + liveTickets + `) t GROUP BY account_id ORDER BY account_id`

func eventHolders(ctx context.Context, q pg.Querier, eventID int64) (map[int64]int, error) {
	rows, err := q.Query(ctx, holdersQuery, eventID)
	if err != nil {
		return nil, fmt.Errorf("checkout: holders of event %d: %w", eventID, err)
	}
	out := map[int64]int{}
	var id int64
	var n int
	_, err = pgx.ForEachRow(rows, []any{&id, &n}, func() error { out[id] = n; return nil })
	if err != nil {
		return nil, fmt.Errorf("checkout: holders of event %d: %w", eventID, err)
	}
	return out, nil
}

// HolderCounts is how many accounts a notice about an event would reach
// now: those holding a live ticket, and those the cancellation would mail
// (the holders and the buyers of paid orders, who get the money back).
type HolderCounts struct {
	Holders   int `json:"holders"`
	Cancelled int `json:"cancel_recipients"`
}

// EventHolderCounts counts the recipients of an event's notices, for the
// admin deciding to postpone or cancel.
func (s *Service) EventHolderCounts(ctx context.Context, eventID int64) (HolderCounts, error) {
	var c HolderCounts
	if _, err := readEventFacts(ctx, s.db, eventID, false); err != nil {
		return c, err
	}
	err := s.db.QueryRow(ctx, `
		SELECT (SELECT count(DISTINCT account_id) FROM (`+liveTickets+`) t),
		       (SELECT count(*) FROM (SELECT account_id FROM (`+liveTickets+`) t UNION SELECT account_id FROM (`+paidOrders+`) o) a)`,
		eventID).Scan(&c.Holders, &c.Cancelled)
	if err != nil {
		return c, fmt.Errorf("checkout: holders of event %d: %w", eventID, err)
	}
	return c, nil
}

// cancelRefund is what one account gets back of a cancelled event.
type cancelRefund struct {
	orderID      string
	amount       int64
	charged      bool // false: a capture never made, the authorization is released
	keptFeeCents int64
}

// enqueueCancelNotices writes, inside the cancellation's transaction and
// before its tickets are voided, one notice per account the cancellation
// concerns: each holder of a live ticket and each buyer of a paid order or
// one under review (box-office sales aside: liveTickets). It says what they get back, worked out as the refund
// job will fix it (refundDue), and to which card. Deduplicated by event and
// account: a retried or swept cancellation mails nobody twice.
func (s *Service) enqueueCancelNotices(ctx context.Context, tx pgx.Tx, eventID int64) error {
	ev, err := readEventFacts(ctx, tx, eventID, false)
	if err != nil {
		return err
	}
	holders, err := eventHolders(ctx, tx, eventID)
	if err != nil {
		return err
	}
	rows, err := tx.Query(ctx, paidOrders+` ORDER BY o.id`, eventID)
	if err != nil {
		return fmt.Errorf("checkout: orders of event %d: %w", eventID, err)
	}
	type buyer struct {
		order, payment string
		account        int64
	}
	orders, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (buyer, error) {
		var b buyer
		return b, r.Scan(&b.order, &b.payment, &b.account)
	})
	if err != nil {
		return fmt.Errorf("checkout: orders of event %d: %w", eventID, err)
	}
	refunds := map[int64][]cancelRefund{}
	for _, o := range orders {
		p, err := payment(ctx, tx, `p.id = $1`, false, o.payment)
		if err != nil {
			return err
		}
		r := cancelRefund{orderID: o.order, charged: p.Status == StatusSucceeded}
		if r.charged {
			due, err := refundDue(ctx, tx, p, o.order)
			if err != nil {
				return err
			}
			r.amount, r.keptFeeCents = due.amount, due.kept
		}
		refunds[o.account] = append(refunds[o.account], r)
	}
	accounts := make([]int64, 0, len(holders)+len(refunds))
	for id := range holders {
		accounts = append(accounts, id)
	}
	for id := range refunds {
		if _, ok := holders[id]; !ok {
			accounts = append(accounts, id)
		}
	}
	slices.Sort(accounts)
	for _, id := range accounts {
		body := cancelNoticeText(ev, holders[id], refunds[id])
		if err := enqueueNotice(ctx, tx, id, fmt.Sprintf("event-cancelled:%d:%d", eventID, id), "Cancelled: "+oneLine(ev.name), body); err != nil {
			return err
		}
	}
	return nil
}

func cancelNoticeText(ev eventFacts, tickets int, refunds []cancelRefund) string {
	var b strings.Builder
	fmt.Fprintf(&b, "We are sorry: %s, %s, is cancelled and will not take place.\n\n", oneLine(ev.name), venueTime(ev.date, ev.timeZone))
	if tickets > 0 {
		fmt.Fprintf(&b, "Your %d ticket(s) for it no longer admit.\n\n", tickets)
	}
	cur := strings.ToUpper(ev.currency)
	for _, r := range refunds {
		switch {
		case !r.charged:
			fmt.Fprintf(&b, "Order %s: you were not charged; the amount held on your card is released.\n", r.orderID)
		default:
			fmt.Fprintf(&b, "Order %s: we are refunding %s %s to the card you paid with.\n", r.orderID, cents(r.amount), cur)
		}
		if r.keptFeeCents > 0 {
			fmt.Fprintf(&b, "  (the organizer keeps the booking fees of %s %s)\n", cents(r.keptFeeCents), cur)
		}
	}
	if len(refunds) > 0 {
		b.WriteString("\nA refund can take a few days to show on your statement.\n")
	} else if tickets > 0 {
		b.WriteString("Your tickets were given to you by the fan who bought them: the money goes back to the card that paid for them.\n")
	}
	return b.String()
}

// RescheduleRequest moves an event to a new time or place.
type RescheduleRequest struct {
	EventID   int64
	AdminID   int64
	EventDate time.Time
	// Place says where, when it changes (a new venue, other doors); empty
	// keeps the place.
	Place string
	// Reason is told to the holders.
	Reason string
	// RefundUntil is until when a holder may ask for a refund instead of
	// keeping the tickets; zero means DefaultRefundWindow from now (or up
	// to an hour before the show, if that is sooner).
	RefundUntil time.Time
}

// DefaultRefundWindow is how long holders may choose a refund after a
// reschedule when the admin does not say.
const DefaultRefundWindow = 14 * 24 * time.Hour

// Reschedule is one change of an event's time or place.
type Reschedule struct {
	ID          int64     `json:"id,string"`
	EventID     int64     `json:"event_id,string"`
	OldDate     time.Time `json:"old_date"`
	EventDate   time.Time `json:"event_date"`
	Place       string    `json:"place"`
	Reason      string    `json:"reason"`
	RefundUntil time.Time `json:"refund_until"`
	// Notified is how many holders are emailed.
	Notified int `json:"notified"`
}

// RescheduleEvent moves an event. In one transaction, under the event's
// row lock (a cancellation waits for it, and a cancelled event cannot be
// moved), it sets the new date, records the change and enqueues one notice
// per holder with a signed link to choose a refund before RefundUntil, and
// the reminder of the day before the new date (the old date's reminder
// finds the date changed and sends nothing).
func (s *Service) RescheduleEvent(ctx context.Context, req RescheduleRequest) (Reschedule, error) {
	now := time.Now()
	if req.RefundUntil.IsZero() {
		req.RefundUntil = now.Add(DefaultRefundWindow)
		if last := req.EventDate.Add(-time.Hour); last.Before(req.RefundUntil) {
			req.RefundUntil = last
		}
	}
	if !req.EventDate.After(now) || !req.RefundUntil.After(now) || req.RefundUntil.After(req.EventDate) {
		return Reschedule{}, ErrRescheduleAt
	}
	r := Reschedule{EventID: req.EventID, EventDate: req.EventDate.UTC(), Place: oneLine(req.Place), Reason: strings.TrimSpace(req.Reason),
		RefundUntil: req.RefundUntil.UTC().Truncate(time.Second)}
	err := pg.Transact(ctx, s.db, func(tx pgx.Tx) error {
		ev, err := readEventFacts(ctx, tx, req.EventID, true)
		if err != nil {
			return err
		}
		if ev.status == seatmap.StatusCancelled {
			return ErrEventCancelled
		}
		if !ev.saleOpens.Before(req.EventDate) {
			return ErrRescheduleAt
		}
		r.OldDate = ev.date
		if _, err := tx.Exec(ctx, `UPDATE events SET event_date = $2 WHERE id = $1`, req.EventID, r.EventDate); err != nil {
			return fmt.Errorf("checkout: reschedule event %d: %w", req.EventID, err)
		}
		var by *int64
		if req.AdminID != 0 {
			by = &req.AdminID
		}
		if err := tx.QueryRow(ctx, `INSERT INTO event_reschedules (event_id, old_date, new_date, place, reason, refund_until, created_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`, req.EventID, r.OldDate, r.EventDate, r.Place, r.Reason, r.RefundUntil, by).Scan(&r.ID); err != nil {
			return fmt.Errorf("checkout: record reschedule of %d: %w", req.EventID, err)
		}
		holders, err := eventHolders(ctx, tx, req.EventID)
		if err != nil {
			return err
		}
		ev.date = r.EventDate
		for id, n := range holders {
			link := s.tokenLink(fmt.Sprintf("/events/%d/refund-choice", req.EventID), s.noticeToken(purposeRefundChoice, r.RefundUntil, r.ID, id))
			if err := enqueueNotice(ctx, tx, id, fmt.Sprintf("event-rescheduled:%d:%d", r.ID, id), "New date: "+oneLine(ev.name),
				rescheduleText(ev, r, n, link)); err != nil {
				return err
			}
		}
		r.Notified = len(holders)
		return scheduleDayBefore(ctx, tx, req.EventID, r.EventDate)
	})
	if err != nil {
		return Reschedule{}, err
	}
	s.seats.ForgetEvent(req.EventID)
	s.log.Info("checkout: event rescheduled", "event", req.EventID, "reschedule", r.ID, "date", r.EventDate, "holders", r.Notified)
	return r, nil
}

const purposeRefundChoice = "reschedule-refund"

func rescheduleText(ev eventFacts, r Reschedule, tickets int, link string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s has moved.\n\nWas: %s\nNow: %s\n", oneLine(ev.name), venueTime(r.OldDate, ev.timeZone), venueTime(r.EventDate, ev.timeZone))
	if r.Place != "" {
		fmt.Fprintf(&b, "Where: %s\n", r.Place)
	}
	if r.Reason != "" {
		fmt.Fprintf(&b, "\nWhy: %s\n", oneLine(r.Reason))
	}
	fmt.Fprintf(&b, "\nYou hold %d ticket(s). You have two choices:\n\n", tickets)
	b.WriteString("  Keep them: nothing to do. They admit on the new date.\n\n")
	fmt.Fprintf(&b, "  Get your money back: until %s, follow this link (it works once):\n  %s\n",
		venueTime(r.RefundUntil, ev.timeZone), link)
	b.WriteString("\nThe refund goes to the card that paid for the tickets.\n")
	return b.String()
}

// RefundOffer is what a holder's refund link offers: the change, and the
// tickets a refund would cancel with what they cost.
type RefundOffer struct {
	EventID     int64     `json:"event_id,string"`
	EventName   string    `json:"event_name"`
	OldDate     time.Time `json:"old_date"`
	EventDate   time.Time `json:"event_date"`
	Place       string    `json:"place"`
	Reason      string    `json:"reason"`
	RefundUntil time.Time `json:"refund_until"`
	TimeZone    string    `json:"time_zone"`
	Currency    string    `json:"currency"`
	Tickets     int       `json:"tickets"`
	AmountCents int64     `json:"amount_cents"`
	// Status is open (the refund can be chosen), closed (past the
	// deadline) or refunded (chosen already).
	Status string `json:"status"`
}

// offerTicket is one of a holder's tickets a refund choice covers: valid, of a
// paid order. A listed ticket or one being transferred must come back
// first.
type offerTicket struct {
	id, order string
	total     int64
}

// RefundOfferFor opens a refund link for the event in the path: the
// offer as it stands. A token forged, for another purpose or another
// event is ErrOfferNotFound.
func (s *Service) RefundOfferFor(ctx context.Context, eventID int64, token string) (RefundOffer, error) {
	o, _, _, err := s.refundOffer(ctx, s.db, eventID, token)
	return o, err
}

func (s *Service) refundOffer(ctx context.Context, q pg.Querier, eventID int64, token string) (RefundOffer, [2]int64, []offerTicket, error) {
	ids, _, ok := s.openNoticeToken(purposeRefundChoice, token, 2)
	if !ok {
		return RefundOffer{}, [2]int64{}, nil, ErrOfferNotFound
	}
	rescheduleID, accountID := ids[0], ids[1]
	o := RefundOffer{EventID: eventID}
	var chosen *int64
	err := q.QueryRow(ctx, `
		SELECT e.name, r.old_date, r.new_date, r.place, r.reason, r.refund_until, v.time_zone, e.currency,
		       (SELECT amount_cents FROM reschedule_refunds c WHERE c.reschedule_id = r.id AND c.account_id = $3)
		FROM event_reschedules r JOIN events e ON e.id = r.event_id JOIN venues v ON v.id = e.venue_id
		WHERE r.id = $1 AND r.event_id = $2`, rescheduleID, eventID, accountID).
		Scan(&o.EventName, &o.OldDate, &o.EventDate, &o.Place, &o.Reason, &o.RefundUntil, &o.TimeZone, &o.Currency, &chosen)
	if errors.Is(err, pgx.ErrNoRows) {
		return RefundOffer{}, [2]int64{}, nil, ErrOfferNotFound
	}
	if err != nil {
		return RefundOffer{}, [2]int64{}, nil, fmt.Errorf("checkout: refund offer: %w", err)
	}
	rows, err := q.Query(ctx, `SELECT t.id::text, t.order_id::text, t.total_cents FROM tickets t JOIN orders o ON o.id = t.order_id
		WHERE t.event_id = $1 AND t.account_id = $2 AND t.status = 'valid' AND o.status = 'paid' ORDER BY t.order_id, t.id`, eventID, accountID)
	if err != nil {
		return RefundOffer{}, [2]int64{}, nil, fmt.Errorf("checkout: tickets of a refund offer: %w", err)
	}
	tickets, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (offerTicket, error) {
		var t offerTicket
		return t, r.Scan(&t.id, &t.order, &t.total)
	})
	if err != nil {
		return RefundOffer{}, [2]int64{}, nil, fmt.Errorf("checkout: tickets of a refund offer: %w", err)
	}
	for _, t := range tickets {
		o.Tickets++
		o.AmountCents += t.total
	}
	switch {
	case chosen != nil:
		o.Status, o.AmountCents = "refunded", *chosen
	case !time.Now().Before(o.RefundUntil):
		o.Status = "closed"
	default:
		o.Status = "open"
	}
	return o, [2]int64{rescheduleID, accountID}, tickets, nil
}

// ChooseRefund refunds the holder of a refund link: every valid ticket
// they hold of the event, order by order, through the admin refund path
// (RefundByAdmin: the amount fixed and the tickets voided in one
// transaction under the payment's lock, the money sent by an outbox job
// to the card that paid, the seats back on sale). It works once, and only
// before the deadline. A second click while the first runs finds the
// tickets void and refunds nothing twice.
func (s *Service) ChooseRefund(ctx context.Context, eventID int64, token string) (RefundOffer, error) {
	o, who, tickets, err := s.refundOffer(ctx, s.db, eventID, token)
	if err != nil {
		return o, err
	}
	switch o.Status {
	case "refunded":
		return o, ErrOfferUsed
	case "closed":
		return o, ErrOfferClosed
	}
	if len(tickets) == 0 {
		return o, ErrNothingToRefund
	}
	var total int64
	for i := 0; i < len(tickets); {
		j := i
		var ids []string
		for ; j < len(tickets) && tickets[j].order == tickets[i].order; j++ {
			ids = append(ids, tickets[j].id)
		}
		v, err := s.RefundByAdmin(ctx, AdminRefundRequest{OrderID: tickets[i].order, AdminID: who[1], TicketIDs: ids,
			Reason: "The ticket holder chose a refund after the event moved", ReleaseSeats: true})
		if errors.Is(err, ErrTicketBusy) {
			return o, ErrOfferUsed
		}
		if err != nil {
			return o, err
		}
		total += v.AmountCents
		i = j
	}
	if _, err := s.db.Exec(ctx, `INSERT INTO reschedule_refunds (reschedule_id, account_id, tickets, amount_cents) VALUES ($1, $2, $3, $4)
		ON CONFLICT DO NOTHING`, who[0], who[1], len(tickets), total); err != nil {
		return o, fmt.Errorf("checkout: record refund choice: %w", err)
	}
	s.log.Info("checkout: holder chose a refund after a reschedule", "event", eventID, "account", who[1], "tickets", len(tickets), "amount", total)
	o.Status, o.AmountCents = "refunded", total
	return o, nil
}

// Reschedules lists an event's changes of date, newest first.
func (s *Service) Reschedules(ctx context.Context, eventID int64) ([]Reschedule, error) {
	rows, err := s.db.Query(ctx, `SELECT id, event_id, old_date, new_date, place, reason, refund_until FROM event_reschedules
		WHERE event_id = $1 ORDER BY id DESC`, eventID)
	if err != nil {
		return nil, fmt.Errorf("checkout: reschedules of %d: %w", eventID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Reschedule, error) {
		var x Reschedule
		return x, r.Scan(&x.ID, &x.EventID, &x.OldDate, &x.EventDate, &x.Place, &x.Reason, &x.RefundUntil)
	})
	if err != nil {
		return nil, fmt.Errorf("checkout: reschedules of %d: %w", eventID, err)
	}
	return out, nil
}
