package server

import (
	"errors"
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"
)

// TestUnavailable: an exhausted Redis pool is "try again" (503), not a bug.
func TestUnavailable(t *testing.T) {
	if !unavailable(fmt.Errorf("waitingroom: status: %w", redis.ErrPoolTimeout)) {
		t.Error("a Redis pool timeout is not unavailable")
	}
	if unavailable(errors.New("boom")) {
		t.Error("any error is unavailable")
	}
}
