// Package loadtest is the flash-sale load driver behind `boxoffice flashsale`
// (Run) and, in loadtest/k6, the k6 scripts whose scenario logic `make test`
// also runs under Node.
//
// Run drives one event over HTTP and WebSocket the way fans do: proof of
// work, queue, admission, hold, checkout, pay; watchers follow the seat map
// and time commit → socket. Given several nodes (Config.Nodes), fans and
// watchers spread over them and move on when one dies, as behind a load
// balancer: the fault drills in cmd/boxoffice rely on it. It is bounded in fans and in time, and refuses
// targets that are not on this machine unless told otherwise (Config.
// AllowRemote), because pointed at someone else's site it is a denial of
// service.
//
// Concurrency: Run starts at most Config.Concurrency fan goroutines at once
// plus one goroutine per watcher and a sell-out monitor; all shared figures
// sit behind the recorder's mutex.
package loadtest
