// Command go-reference is the Go side of the side-by-side benchmark in
// ../timing.rs: the same measurements made with Go's net/http and
// net/http/httptrace, printed as JSON for the Rust bench to read.
//
//	-mode overhead: N keep-alive GETs on one http.Client without a trace and
//	  N with a ClientTrace recording every hook, interleaved; prints
//	  {"plain_ns":[...],"traced_ns":[...]}.
//	-mode accuracy: N sequential GETs, each on a new connection, each traced;
//	  prints one JSON line per request with the wall clock (Unix ns) of
//	  connect_done, got_conn, wrote_headers and first_byte, to be compared
//	  with the server's own wall-clock marks.
//
// Standard library only, so it builds offline.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"os"
	"sync"
	"time"
)

func main() {
	mode := flag.String("mode", "", "overhead or accuracy")
	url := flag.String("url", "", "URL to GET")
	n := flag.Int("n", 100, "requests per variant")
	warmup := flag.Int("warmup", 50, "overhead mode: untimed requests per variant first")
	cacert := flag.String("cacert", "", "PEM file of the CA to trust for https")
	flag.Parse()
	if *url == "" || *n <= 0 {
		fail(fmt.Errorf("need -url and -n > 0"))
	}
	tlsConfig, err := tlsConfig(*cacert)
	if err != nil {
		fail(err)
	}
	switch *mode {
	case "overhead":
		err = overhead(*url, *n, *warmup, tlsConfig)
	case "accuracy":
		err = accuracy(*url, *n, tlsConfig)
	default:
		err = fmt.Errorf("unknown -mode %q (overhead or accuracy)", *mode)
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "go-reference:", err)
	os.Exit(1)
}

// tlsConfig trusts only the given CA, as the Rust clients in the bench do;
// nil without -cacert (plain http).
func tlsConfig(cacert string) (*tls.Config, error) {
	if cacert == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(cacert)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("no certificate in %s", cacert)
	}
	return &tls.Config{RootCAs: roots}, nil
}

// newTransport is Go's default transport without a proxy: HTTP/1.1 (a custom
// TLS config and no ForceAttemptHTTP2), like the raw server speaks.
func newTransport(tlsConfig *tls.Config, keepAlive bool) *http.Transport {
	return &http.Transport{
		Proxy:               nil,
		TLSClientConfig:     tlsConfig,
		DisableKeepAlives:   !keepAlive,
		MaxIdleConnsPerHost: 2,
		IdleConnTimeout:     90 * time.Second,
	}
}

// get performs one GET and reads the body to the end, as the Rust bench's
// `.bytes()` does, so the connection goes back to the pool.
func get(ctx context.Context, client *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("status %s", resp.Status)
	}
	return err
}

// event is one recorded hook: the counterpart of cloning httptrace::Event
// into a Vec in the Rust bench's recorder.
type event struct {
	name string
	at   time.Time
	info any
}

// recorder collects events under a mutex: Go calls the hooks from the
// caller's, the write loop's and the read loop's goroutines.
type recorder struct {
	mu     sync.Mutex
	events []event
}

func (r *recorder) add(name string, info any) {
	at := time.Now()
	r.mu.Lock()
	r.events = append(r.events, event{name, at, info})
	r.mu.Unlock()
}

// headerField is WroteHeaderField's arguments, kept like any other event.
type headerField struct {
	key   string
	value []string
}

// trace sets every hook of httptrace.ClientTrace (as of Go 1.22) to record.
func (r *recorder) trace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		GetConn:              func(hostPort string) { r.add("get_conn", hostPort) },
		GotConn:              func(i httptrace.GotConnInfo) { r.add("got_conn", i) },
		PutIdleConn:          func(err error) { r.add("put_idle_conn", err) },
		GotFirstResponseByte: func() { r.add("got_first_response_byte", nil) },
		Got100Continue:       func() { r.add("got_100_continue", nil) },
		Got1xxResponse: func(code int, header textproto.MIMEHeader) error {
			r.add("got_1xx_response", code)
			return nil
		},
		DNSStart:          func(i httptrace.DNSStartInfo) { r.add("dns_start", i) },
		DNSDone:           func(i httptrace.DNSDoneInfo) { r.add("dns_done", i) },
		ConnectStart:      func(network, addr string) { r.add("connect_start", addr) },
		ConnectDone:       func(network, addr string, err error) { r.add("connect_done", err) },
		TLSHandshakeStart: func() { r.add("tls_handshake_start", nil) },
		TLSHandshakeDone:  func(s tls.ConnectionState, err error) { r.add("tls_handshake_done", s) },
		WroteHeaderField: func(key string, value []string) {
			r.add("wrote_header_field", headerField{key, value})
		},
		WroteHeaders:    func() { r.add("wrote_headers", nil) },
		Wait100Continue: func() { r.add("wait_100_continue", nil) },
		WroteRequest:    func(i httptrace.WroteRequestInfo) { r.add("wrote_request", i) },
	}
}

// overhead mirrors the Rust overhead section: one keep-alive client, plain
// and traced requests alternating so drift on the machine hits both alike.
func overhead(url string, n, warmup int, tlsConfig *tls.Config) error {
	client := &http.Client{Transport: newTransport(tlsConfig, true)}
	plain := make([]int64, 0, n)
	traced := make([]int64, 0, n)
	var sink int
	for i := 0; i < warmup+n; i++ {
		t := time.Now()
		if err := get(context.Background(), client, url); err != nil {
			return err
		}
		dPlain := time.Since(t)

		// The recorder is made before the clock starts, as in the Rust bench;
		// attaching it to the request is timed.
		rec := &recorder{}
		ct := rec.trace()
		t = time.Now()
		if err := get(httptrace.WithClientTrace(context.Background(), ct), client, url); err != nil {
			return err
		}
		dTraced := time.Since(t)
		sink += len(rec.events)
		if i >= warmup {
			plain = append(plain, dPlain.Nanoseconds())
			traced = append(traced, dTraced.Nanoseconds())
		}
	}
	if sink == 0 {
		return fmt.Errorf("the trace recorded nothing")
	}
	return json.NewEncoder(os.Stdout).Encode(map[string][]int64{
		"plain_ns":  plain,
		"traced_ns": traced,
	})
}

// stamps are the wall-clock instants (Unix ns; 0 = hook not called) of the
// hooks the accuracy section compares with the server's marks.
type stamps struct {
	mu            sync.Mutex
	ConnectDone   int64 `json:"connect_done"`
	GotConn       int64 `json:"got_conn"`
	WroteHeaders  int64 `json:"wrote_headers"`
	FirstByte     int64 `json:"first_byte"`
	RequestNumber int   `json:"request"`
}

// set stores the first call only (a dial to one address calls each once).
func (s *stamps) set(field *int64) {
	now := time.Now().UnixNano()
	s.mu.Lock()
	if *field == 0 {
		*field = now
	}
	s.mu.Unlock()
}

// accuracy makes n requests strictly one after another, each on a new
// connection, so the server's marks in accept order match them one to one.
func accuracy(url string, n int, tlsConfig *tls.Config) error {
	client := &http.Client{Transport: newTransport(tlsConfig, false)}
	out := json.NewEncoder(os.Stdout)
	for i := 0; i < n; i++ {
		s := &stamps{RequestNumber: i}
		ct := &httptrace.ClientTrace{
			ConnectDone:          func(string, string, error) { s.set(&s.ConnectDone) },
			GotConn:              func(httptrace.GotConnInfo) { s.set(&s.GotConn) },
			WroteHeaders:         func() { s.set(&s.WroteHeaders) },
			GotFirstResponseByte: func() { s.set(&s.FirstByte) },
		}
		if err := get(httptrace.WithClientTrace(context.Background(), ct), client, url); err != nil {
			return err
		}
		s.mu.Lock()
		err := out.Encode(s)
		s.mu.Unlock()
		if err != nil {
			return err
		}
		// The Rust accuracy runs pause 2 ms between requests too.
		time.Sleep(2 * time.Millisecond)
	}
	return nil
}
