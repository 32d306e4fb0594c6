package main

import (
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// poolCollector reports the Postgres and Redis connection pools at scrape
// time, one Stat of each per scrape. Counters stay counters: waits per
// second and the like are PromQL's rate().
type poolCollector struct {
	db  *pgxpool.Pool
	rdb redis.UniversalClient
}

func pgDesc(name, help string) *prometheus.Desc {
	return prometheus.NewDesc("boxoffice_pg_pool_"+name, help, nil, nil)
}

func redisDesc(name, help string) *prometheus.Desc {
	return prometheus.NewDesc("boxoffice_redis_pool_"+name, help, nil, nil)
}

var (
	descPGMax      = pgDesc("max_conns", "Postgres pool size limit (DB_MAX_CONNS).")
	descPGTotal    = pgDesc("conns", "Postgres connections open (idle, in use or being opened).")
	descPGAcquired = pgDesc("acquired_conns", "Postgres connections in use.")
	descPGIdle     = pgDesc("idle_conns", "Postgres connections idle in the pool.")
	descPGAcquires = pgDesc("acquires_total", "Connections taken from the Postgres pool.")
	descPGWaits    = pgDesc("empty_acquires_total", "Acquires that waited because the Postgres pool had no idle connection.")
	descPGWaitSecs = pgDesc("acquire_wait_seconds_total", "Time spent waiting for a Postgres connection in acquires that had to wait.")
	descPGCanceled = pgDesc("canceled_acquires_total", "Acquires given up (context ended) while waiting for a Postgres connection.")
	descPGNew      = pgDesc("new_conns_total", "Postgres connections opened.")

	descRedisTotal    = redisDesc("conns", "Redis connections open (all nodes of a cluster).")
	descRedisIdle     = redisDesc("idle_conns", "Redis connections idle in the pool.")
	descRedisHits     = redisDesc("hits_total", "Redis commands that found an idle connection.")
	descRedisMisses   = redisDesc("misses_total", "Redis commands that found no idle connection and opened or waited for one.")
	descRedisTimeouts = redisDesc("timeouts_total", "Redis commands that timed out waiting for a connection (a 503 to the client).")
	descRedisStale    = redisDesc("stale_conns_total", "Stale Redis connections removed from the pool.")
)

func (c poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descPGMax, descPGTotal, descPGAcquired, descPGIdle, descPGAcquires, descPGWaits,
		descPGWaitSecs, descPGCanceled, descPGNew, descRedisTotal, descRedisIdle, descRedisHits, descRedisMisses,
		descRedisTimeouts, descRedisStale} {
		ch <- d
	}
}

func (c poolCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	s := c.db.Stat()
	gauge(descPGMax, float64(s.MaxConns()))
	gauge(descPGTotal, float64(s.TotalConns()))
	gauge(descPGAcquired, float64(s.AcquiredConns()))
	gauge(descPGIdle, float64(s.IdleConns()))
	counter(descPGAcquires, float64(s.AcquireCount()))
	counter(descPGWaits, float64(s.EmptyAcquireCount()))
	counter(descPGWaitSecs, s.EmptyAcquireWaitTime().Seconds())
	counter(descPGCanceled, float64(s.CanceledAcquireCount()))
	counter(descPGNew, float64(s.NewConnsCount()))
	r := c.rdb.PoolStats()
	gauge(descRedisTotal, float64(r.TotalConns))
	gauge(descRedisIdle, float64(r.IdleConns))
	counter(descRedisHits, float64(r.Hits))
	counter(descRedisMisses, float64(r.Misses))
	counter(descRedisTimeouts, float64(r.Timeouts))
	counter(descRedisStale, float64(r.StaleConns))
}
