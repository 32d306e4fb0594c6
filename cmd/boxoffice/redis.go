package main

import (
	"errors"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// The Redis of a deployment is one server or a Redis Cluster, both named by
// REDIS_URL, so that a deployment changes one variable to move between them:
//
//	redis://[user:password@]host:port/DB     one server (rediss:// with TLS,
//	unix:///path/to/redis.sock?db=N)         go-redis's own URL syntax)
//	redis+cluster://[user:password@]host:port,host:port,...[?options]
//	                                          a Redis Cluster (rediss+cluster://
//	                                          with TLS); any reachable masters
//	                                          seed the client, which learns the
//	                                          rest of the topology itself
//
// The cluster form's options are go-redis's ClusterOptions query parameters
// (snake_case, like max_redirects=8). Redis Cluster has database 0 only, so
// the cluster URL has no path.
//
// The app does not care which it gets: every multi-key script keeps its keys
// under one hash tag per event ({E} for seats, {wr:E} for the waiting room),
// and pub/sub is classic PUBLISH/SUBSCRIBE, which a cluster broadcasts to
// all its nodes (realtime.RedisBroker says why not sharded pub/sub).

// redisTimeouts bound every Redis call: Redis is an accelerator, and a slow
// one must cost a request little before it falls back to Postgres.
const (
	redisDialTimeout = time.Second
	redisIOTimeout   = 500 * time.Millisecond
)

// clusterSchemes map the cluster URL schemes to go-redis's.
var clusterSchemes = map[string]string{"redis+cluster": "redis", "rediss+cluster": "rediss"}

// errRedisURL is the shape a REDIS_URL must have; configError shows it.
var errRedisURL = errors.New("want redis://host:port/DB, rediss://..., unix:///path, or redis+cluster://host:port,host:port,... for a Redis Cluster")

// newRedis builds the client rawURL names: a *redis.Client for one server or
// a *redis.ClusterClient for a cluster. It does not connect.
func newRedis(rawURL string) (redis.UniversalClient, error) {
	single, cluster, err := parseRedisURL(rawURL)
	if err != nil {
		return nil, err
	}
	if cluster != nil {
		cluster.DialTimeout, cluster.ReadTimeout, cluster.WriteTimeout = redisDialTimeout, redisIOTimeout, redisIOTimeout
		return redis.NewClusterClient(cluster), nil
	}
	single.DialTimeout, single.ReadTimeout, single.WriteTimeout = redisDialTimeout, redisIOTimeout, redisIOTimeout
	return redis.NewClient(single), nil
}

// parseRedisURL returns the options of one server or of a cluster (exactly
// one is non-nil), or an error that says what a valid URL looks like.
func parseRedisURL(rawURL string) (*redis.Options, *redis.ClusterOptions, error) {
	scheme, rest, ok := strings.Cut(rawURL, "://")
	base, isCluster := clusterSchemes[scheme]
	if !ok || !isCluster {
		opt, err := redis.ParseURL(rawURL)
		if err != nil {
			return nil, nil, errRedisURL
		}
		return opt, nil, nil
	}
	// The host part lists the seed nodes; go-redis's cluster URL takes the
	// first as the host and the others as addr= parameters.
	authority, query, _ := strings.Cut(rest, "?")
	if i := strings.IndexAny(authority, "/#"); i >= 0 {
		if path := authority[i:]; path != "/" && path != "/0" {
			return nil, nil, errors.New("a Redis Cluster has database 0 only: no path after the hosts")
		}
		authority = authority[:i]
	}
	userinfo, hosts := "", authority
	if i := strings.LastIndexByte(authority, '@'); i >= 0 {
		userinfo, hosts = authority[:i+1], authority[i+1:]
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return nil, nil, errRedisURL
	}
	var addrs []string
	for _, h := range strings.Split(hosts, ",") {
		host, port, err := net.SplitHostPort(strings.TrimSpace(h))
		if err != nil || host == "" || port == "" {
			return nil, nil, errors.New("a Redis Cluster URL lists host:port seed nodes, like redis+cluster://10.0.0.1:6379,10.0.0.2:6379")
		}
		addrs = append(addrs, net.JoinHostPort(host, port))
	}
	if q.Has("addr") {
		return nil, nil, errors.New("list a Redis Cluster's nodes in the host part, not as addr= parameters")
	}
	for _, a := range addrs[1:] {
		q.Add("addr", a)
	}
	opt, err := redis.ParseClusterURL(base + "://" + userinfo + addrs[0] + "?" + q.Encode())
	if err != nil {
		return nil, nil, err
	}
	return nil, opt, nil
}
