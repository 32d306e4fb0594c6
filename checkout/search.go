package checkout

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// OrderSummary is one order as the admin's order search lists it.
type OrderSummary struct {
	ID         string    `json:"id"`
	Status     string    `json:"status"`
	Email      string    `json:"email"`
	Name       string    `json:"name"`
	TotalCents int64     `json:"total_cents"`
	Currency   string    `json:"currency"`
	Tickets    int       `json:"tickets"`
	CreatedAt  time.Time `json:"created_at"`
	// EventID and EventName name the order's event in a search across
	// events (FindOrders).
	EventID   int64  `json:"event_id,omitempty,string"`
	EventName string `json:"event_name,omitempty"`
}

// maxSearch caps an order search's answer.
const maxSearch = 50

// SearchOrders lists an event's newest orders whose buyer's email contains
// q or whose id starts with q (all when q is empty), at most 50. It is an
// admin tool, off the sale's hot path.
func (s *Service) SearchOrders(ctx context.Context, eventID int64, q string) ([]OrderSummary, error) {
	like := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.TrimSpace(q))
	rows, err := s.db.Query(ctx, `
		SELECT o.id, o.status, a.email, a.name, o.total_cents, o.currency,
		       (SELECT count(*) FROM tickets t WHERE t.order_id = o.id)::int, o.created_at
		FROM orders o JOIN accounts a ON a.id = o.account_id
		WHERE o.event_id = $1 AND ($2 = '' OR a.email ILIKE '%' || $2 || '%' OR o.id::text LIKE lower($2) || '%')
		ORDER BY o.created_at DESC, o.id LIMIT $3`, eventID, like, maxSearch)
	if err != nil {
		return nil, fmt.Errorf("checkout: search orders of event %d: %w", eventID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (OrderSummary, error) {
		var o OrderSummary
		err := r.Scan(&o.ID, &o.Status, &o.Email, &o.Name, &o.TotalCents, &o.Currency, &o.Tickets, &o.CreatedAt)
		return o, err
	})
	if err != nil {
		return nil, fmt.Errorf("checkout: search orders of event %d: %w", eventID, err)
	}
	return out, nil
}
