package main

import (
	"errors"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	runpprof "runtime/pprof"
	"time"
)

// startCPUProfile profiles this process into path until the returned stop
// is called: how the flash-sale driver shows where its own CPU goes, which
// on a shared box is taken from the server it measures.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := runpprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		runpprof.StopCPUProfile()
		f.Close()
	}, nil
}

// servePprof serves Go's profiler on PPROF_ADDR, a separate listener so
// profiles never share the public port (keep it on loopback): operators
// profile a node under a load test with
// `go tool pprof http://127.0.0.1:6060/debug/pprof/profile?seconds=30`.
// The listener closes with the app.
func (a *App) servePprof() error {
	if a.Config.PprofAddr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", a.Config.PprofAddr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	a.closers = append(a.closers, srv.Close)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.Log.Error("pprof server stopped", "err", err)
		}
	}()
	a.Log.Info("profiler listening", "addr", ln.Addr().String())
	return nil
}
