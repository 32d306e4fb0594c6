package checkout

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/boxoffice/boxoffice/internal/apperr"
	"github.com/boxoffice/boxoffice/internal/pg"
	"github.com/boxoffice/boxoffice/seatmap"
)

// ProviderCounter is the provider of a payment taken at the box office:
// no card processor is asked, the operator says the money was taken (and
// gives it back over the counter for a refund).
const ProviderCounter = "counter"

// Payment methods of a counter sale.
const (
	MethodCash        = "cash"
	MethodCardPresent = "card_present"
)

// ErrCounterMethod names no counter payment method.
var ErrCounterMethod = apperr.E(apperr.Invalid, "invalid_payment_method", "method must be cash or card_present")

// CounterSaleRequest is a sale at the door: the operator picks seats (or
// asks for the best available, or for standing places), takes the money
// (cash, or on the venue's own card terminal) and sells.
type CounterSaleRequest struct {
	// Hold is what to sell, for the operator's account (AccountID) at
	// EventID; Counter is set by CounterSale.
	Hold   seatmap.HoldRequest
	Method string
	// Types chooses each seat's price type (seat id → key), as a fan's
	// checkout does; nil gives every seat the event's first.
	Types map[int64]string
	// HolderName is printed on the tickets; empty: "Box office".
	HolderName string
}

// CounterSale holds and sells seats in one step for a box office operator.
// The seats are held for the operator's account (the per-account cap does
// not apply: an operator sells for many people), priced as a fan's
// checkout would price them, and sold in one transaction with a payment
// already succeeded (provider counter, the method the operator marked) and
// its order, so the ledger counts the money like any other sale. If
// anything fails after the hold, the hold is released. The order belongs
// to the operator's account; its tickets carry the holder's name.
func (s *Service) CounterSale(ctx context.Context, req CounterSaleRequest) (Order, error) {
	if req.Method != MethodCash && req.Method != MethodCardPresent {
		return Order{}, ErrCounterMethod
	}
	hr := req.Hold
	hr.Counter = true
	h, err := s.seats.Hold(ctx, hr)
	if err != nil {
		return Order{}, err
	}
	operator := hr.AccountID
	holder := strings.TrimSpace(req.HolderName)
	if holder == "" {
		holder = "Box office"
	}
	var orderID string
	var out seatmap.Outcome
	err = pg.Transact(ctx, s.db, func(tx pgx.Tx) error {
		pending, err := s.seats.StartPayment(ctx, tx, operator, h.ID, s.cfg.PaymentGrace, req.Types)
		if err != nil {
			return err
		}
		p := Payment{ID: uuid.NewString(), HoldID: h.ID, Provider: ProviderCounter, Status: StatusSucceeded,
			AmountCents: pending.TotalCents, Currency: pending.Currency, eventID: pending.EventID, accountID: operator}
		if _, err := tx.Exec(ctx, `
			INSERT INTO payments (id, hold_id, event_id, account_id, provider, method, amount_cents, currency, status)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'succeeded')`,
			p.ID, p.HoldID, p.eventID, operator, ProviderCounter, req.Method, p.AmountCents, p.Currency); err != nil {
			return fmt.Errorf("checkout: counter payment for %s: %w", h.ID, err)
		}
		sale, o, err := s.seats.Convert(ctx, tx, h.ID)
		if err != nil {
			return err
		}
		out = o
		if orderID, err = writeOrder(ctx, tx, p, sale, nil); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE tickets SET holder_name = $2 WHERE order_id = $1`, orderID, holder); err != nil {
			return fmt.Errorf("checkout: holder of counter order %s: %w", orderID, err)
		}
		// Nobody is emailed: the buyer is at the counter and gets the
		// tickets printed there.
		_, err = tx.Exec(ctx, `UPDATE orders SET confirmation_sent_at = now() WHERE id = $1`, orderID)
		if err != nil {
			return fmt.Errorf("checkout: counter order %s: %w", orderID, err)
		}
		return addNote(ctx, tx, orderID, operator, "Counter sale, paid "+strings.ReplaceAll(req.Method, "_", " "))
	})
	if err != nil {
		if rerr := s.seats.Release(context.WithoutCancel(ctx), operator, h.ID); rerr != nil {
			s.log.Warn("checkout: release a counter hold", "hold", h.ID, "err", rerr)
		}
		return Order{}, err
	}
	s.seats.AfterCommit(ctx, out)
	s.log.Info("checkout: counter sale", "event", hr.EventID, "order", orderID, "operator", operator, "method", req.Method)
	return s.order(ctx, s.db, `o.id = $1`, orderID)
}
