package salestats

import (
	"context"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Lease is a Publisher that publishes an event's stats frames only while
// this node holds the event's Redis lease: every node with an admin
// watching builds the frame each second, and only the lease holder sends
// it, so admins on several nodes get one frame a second, not one per node.
// The holder keeps the lease as long as it publishes (a late tick followed
// by a quick one must not lose a frame: the lost frame was the one carrying
// the holds of its second); another node takes over once the holder has
// been silent for the lease's length. When Redis does not answer the frame
// goes out anyway (the broker is Redis too, so it likely fails the same
// way).
type Lease struct {
	pub    Publisher
	rdb    redis.UniversalClient
	prefix string
	node   string // this node's lease value
	ttl    time.Duration
}

var _ Publisher = (*Lease)(nil)

// LeaseTTL is how long a silent holder keeps the lease: two ticks.
const LeaseTTL = 2 * time.Second

// NewLease returns a Lease over pub whose keys start with prefix; node
// names this node among those sharing the Redis (unique per process).
func NewLease(pub Publisher, rdb redis.UniversalClient, prefix, node string) *Lease {
	return &Lease{pub: pub, rdb: rdb, prefix: prefix, node: node, ttl: LeaseTTL}
}

// leaseScript takes or renews the lease for ARGV[1]: 1 when this node
// holds it now.
var leaseScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v == false or v == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
`)

// PublishStats publishes when this node holds the event's lease.
func (l *Lease) PublishStats(ctx context.Context, eventID int64, frame []byte) error {
	key := l.prefix + "ev:{" + strconv.FormatInt(eventID, 10) + "}:statslease"
	if n, err := leaseScript.Run(ctx, l.rdb, []string{key}, l.node, l.ttl.Milliseconds()).Int(); err == nil && n == 0 {
		return nil
	}
	return l.pub.PublishStats(ctx, eventID, frame)
}
