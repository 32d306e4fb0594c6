package checkout

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// EntranceCount is the check-ins of one entrance ("" for scans that named
// none) and when the last one was.
type EntranceCount struct {
	Entrance  string    `json:"entrance"`
	CheckedIn int64     `json:"checked_in"`
	LastAt    time.Time `json:"last_at"`
}

// CheckInSummary is how far an event's doors are: tickets that admit
// (valid or already checked in), those checked in, and the check-ins of
// each entrance, busiest first.
type CheckInSummary struct {
	Event     string          `json:"event"`
	Tickets   int64           `json:"tickets"`
	CheckedIn int64           `json:"checked_in"`
	Entrances []EntranceCount `json:"entrances"`
}

// CheckInSummary counts an event's check-ins per entrance. It reads the
// tickets of the event through their (event_id, status) index, so it costs
// the event's tickets, not the table's.
func (s *Service) CheckInSummary(ctx context.Context, eventID int64) (CheckInSummary, error) {
	out := CheckInSummary{Event: fmt.Sprint(eventID), Entrances: []EntranceCount{}}
	if err := s.db.QueryRow(ctx, `
		SELECT count(*) FROM tickets WHERE event_id = $1 AND status = ANY($2)`,
		eventID, []string{TicketValid, TicketCheckedIn}).Scan(&out.Tickets); err != nil {
		return out, fmt.Errorf("checkout: tickets of event %d: %w", eventID, err)
	}
	rows, err := s.db.Query(ctx, `
		SELECT coalesce(checked_in_entrance, ''), count(*), max(checked_in_at)
		FROM tickets WHERE event_id = $1 AND status = $2 AND checked_in_at IS NOT NULL
		GROUP BY 1 ORDER BY 2 DESC, 1`, eventID, TicketCheckedIn)
	if err != nil {
		return out, fmt.Errorf("checkout: check-ins of event %d: %w", eventID, err)
	}
	ents, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (EntranceCount, error) {
		var e EntranceCount
		err := r.Scan(&e.Entrance, &e.CheckedIn, &e.LastAt)
		return e, err
	})
	if err != nil {
		return out, fmt.Errorf("checkout: check-ins of event %d: %w", eventID, err)
	}
	for _, e := range ents {
		out.CheckedIn += e.CheckedIn
	}
	out.Entrances = append(out.Entrances, ents...)
	return out, nil
}

// PaymentWindow is the span the dashboard's payment figures cover.
const PaymentWindow = 10 * time.Minute

// Funnel is the middle of a sale's funnel, between the waiting room's
// admitted shoppers and the sold seats: fans holding seats (holds not yet
// checked out), fans paying (holds whose payment is under way), and the
// payments started in the last PaymentWindow with those that failed
// (declined by the card's bank).
type Funnel struct {
	Holding         int64 `json:"holding"`
	Paying          int64 `json:"paying"`
	PaymentsRecent  int64 `json:"payments_recent"`
	PaymentFailures int64 `json:"payment_failures_recent"`
}

// Funnel counts an event's live holds and recent payments. It is read once
// a second per event an admin watches: the holds come from the partial
// indexes of live holds (the few holds in flight, not the table), the
// payments from their (event_id, created_at) index.
func (s *Service) Funnel(ctx context.Context, eventID int64) (Funnel, error) {
	var f Funnel
	err := s.db.QueryRow(ctx, `
		SELECT (SELECT count(*) FROM holds WHERE status = 'active' AND expires_at > now() AND event_id = $1),
		       (SELECT count(*) FROM holds WHERE status = 'payment_pending' AND payment_deadline IS NOT NULL AND event_id = $1),
		       count(*), count(*) FILTER (WHERE decline_code IS NOT NULL)
		FROM payments WHERE event_id = $1 AND created_at > now() - make_interval(secs => $2)`,
		eventID, PaymentWindow.Seconds()).Scan(&f.Holding, &f.Paying, &f.PaymentsRecent, &f.PaymentFailures)
	if err != nil {
		return f, fmt.Errorf("checkout: funnel of event %d: %w", eventID, err)
	}
	return f, nil
}
