package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/boxoffice/boxoffice/fairdraw"
	"github.com/boxoffice/boxoffice/presale"
)

const verifyLotteryHelp = `Usage: boxoffice verify-lottery EVENT [-url BASE] [-hash HASH] [-timeout D]

Checks a registered-fan lottery's draw: fetches the event's public lottery
(GET BASE/api/events/EVENT/lottery), checks the revealed seed against the
commitment published when the lottery was set up, redraws the winners from
the seed, the published list of hashed registrants and the target
(docs/presales.md) and compares them with the winners the server
published. Prints OK and exits 0 when they match; says what differs and
exits 1 when they do not, or when the lottery is not drawn yet. With
-hash (yours, shown on your account page) it also says whether you won.
It needs no account and no database: anyone can run it.

`

// cmdVerifyLottery is the outside check of a lottery's draw; the recompute
// is presale.Draw, the same code the server draws with.
func cmdVerifyLottery(ctx context.Context, args []string, _ func(string) string, stdout, stderr io.Writer) error {
	event, server, hash, err := verifyArgs("verify-lottery", verifyLotteryHelp, args, stderr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, server.timeout)
	defer cancel()
	l, err := fetchPublic[presale.Lottery](ctx, server.url+"/api/events/"+event+"/lottery")
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "event %s: lottery %s, target %d, commitment %s (made %s), %d registered\n",
		event, l.State, l.Target, l.SeedCommitment, l.CommittedAt.Format(time.RFC3339), l.Registered)
	want, err := l.Verify()
	switch {
	case errors.Is(err, fairdraw.ErrNotDrawn):
		return fmt.Errorf("nothing to verify yet: the seed is revealed when the lottery is drawn (%s)", l.DrawsAt.Format(time.RFC3339))
	case errors.Is(err, presale.ErrWinnersDiffer):
		fmt.Fprintf(stdout, "DIFFERS: %s\n", strings.TrimPrefix(err.Error(), "presale: "))
		return errors.New("the published winners are not the ones the published data give")
	case err != nil:
		return fmt.Errorf("the lottery does not check out: %w", err)
	}
	fmt.Fprintf(stdout, "OK: the seed matches the commitment and the %d published winners among %d registrants are the recomputed ones (drawn %s)\n",
		len(want), len(l.Registrants), l.DrawnAt.Format(time.RFC3339))
	if hash == "" {
		return nil
	}
	h := strings.ToLower(strings.TrimSpace(hash))
	switch i := slices.Index(want, h); {
	case i >= 0:
		fmt.Fprintf(stdout, "%s… won: drawn number %d of %d\n", h[:12], i+1, len(want))
	case slices.Contains(l.Registrants, h):
		fmt.Fprintf(stdout, "%s… was registered and not drawn\n", h[:12])
	default:
		return fmt.Errorf("the hash %q is not among this lottery's registrants", hash)
	}
	return nil
}
