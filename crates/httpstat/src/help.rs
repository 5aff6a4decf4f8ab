//! The long `--help` text: phases, output, transports, exit statuses.

pub(crate) const AFTER_LONG_HELP: &str = "\
PHASES (per round trip, from the hook events' own timestamps)
  DNS Lookup         dns_start -> dns_done
  TCP Connection     connect_start -> connect_done
  TLS Handshake      tls_handshake_start -> tls_handshake_done (the first
                     start to the last done: through an https:// proxy, its
                     handshake, the CONNECT and the origin's)
  Server Processing  wrote_request -> got_first_response_byte   (ttfb)
  Content Transfer   got_first_response_byte -> body_done
  total              round_trip_start -> body_done (-> round_trip_done if it failed)

  A phase that did not happen is shown as '-' (null in --json): no DNS for an
  IP-literal host, no TLS for http://, no DNS/TCP/TLS on a reused connection.
  A host pinned with --resolve/--connect-to has no DNS phase (shown 'pinned',
  dns_pinned true in --json).

OUTPUT
  Each round trip (every redirect hop with -L, every repetition with -n) is
  reported on its own. Humans get the status line, the response headers and a
  waterfall; the body is read and discarded (its size is shown) unless -o/-O
  save it. With -o - the body goes to stdout and the report to stderr. -s
  prints no report, only errors and -w's text. Several URLs are sent one
  after the other, each -n times, on one client.

  --json prints one object per round trip, one per line:
    url, method, status (number|null), http_version (\"HTTP/1.1\"|\"HTTP/2\"|null),
    remote_addr (\"ip:port\"|null), local_addr, proxy (\"host:port\"|null: the
    proxy the hop went through), conn_reused (bool),
    idle_ms (number|null), dns_ms, tcp_ms, tls_ms, ttfb_ms, transfer_ms,
    total_ms (number|null), body_bytes (number|null), resend_count,
    request_index (which -n repetition, from 0), dns_pinned (bool),
    error (null | {\"phase\",\"kind\",\"message\"}),
    events: [{\"name\", \"offset_ms\" (from this hop's round_trip_start), details...}]
  Times are milliseconds (f64, microsecond precision). URL credentials are
  printed as REDACTED:REDACTED.

  With -n COUNT > 1, each URL's runs end with a summary over their round
  trips, per phase: n, min, median, p90 (nearest rank), max; with --json one
  line {\"summary\": {url, requests, dns_ms: {n,min,median,p90,max}|null,
  tcp_ms, tls_ms, ttfb_ms, transfer_ms, total_ms, round_trips, reused,
  not_reused: {reason: count}}}. It says how many round trips reused a
  connection and, when none did, the likely reason seen: the request or the
  server sent Connection: close, the server answered HTTP/1.0 without
  keep-alive, the round trip before failed, or the connection was closed
  between runs (reasons: request_connection_close, server_connection_close,
  http_1_0, previous_failed, closed_between_runs).

WRITE-OUT (-w FORMAT, after each request, to stdout; curl's names and units)
  %{time_namelookup} %{time_connect} %{time_appconnect} %{time_pretransfer}
  %{time_starttransfer} %{time_total} %{time_redirect}: seconds from the start
  of the round trip, summed over redirects as curl does; %{http_code}
  %{response_code} %{http_version} %{remote_ip} %{remote_port} %{local_ip}
  %{local_port} %{num_connects} %{num_redirects} %{size_download}
  %{speed_download} %{url} %{url_effective} %{redirect_url} %{method}
  %{scheme} %{content_type} %{exitcode} %{errormsg}, %header{NAME}, %{json}
  (all of them), %{stderr}/%{stdout} (where the rest goes); \\n \\t \\r, %%.

TRANSPORTS (--transport)
  reqwest (default)  httptrace's reqwest transport. reqwest hides its sockets:
                     connect_start, tls_handshake_start, wrote_headers,
                     wrote_request and got_first_response_byte are
                     approximations (ttfb includes parsing the response head),
                     one connect pair per dial without the address at start,
                     no 1xx responses.
  hyper              httptrace's hyper-util transport: those hooks come from
                     the socket itself (exact on HTTP/1.1), one
                     connect_start/connect_done pair per address tried, and
                     got_1xx_response events. Redirects (-L) are followed by
                     httpstat, hop by hop, with the same rules.
  Every option works with both, except --http2-prior-knowledge (reqwest
  only). With hyper, --resolve, --connect-to, -4 and -6 go through a DNS
  responder inside httpstat (the DNS phase is its local answer), and
  --connect-to cannot change the port. Both honour HTTP_PROXY and HTTPS_PROXY unless
  -x names a proxy, and NO_PROXY either way (as curl); through a proxy the DNS
  and TCP phases are the proxy's. See the table \"Hooks, exact or approximate\" in
  the project README for the measured error of each hook.

EXIT STATUS
  0 the request(s) completed (whatever the HTTP status)
  1 a request failed; stderr has one line:
      httpstat: <phase> failed: <kind>: <message>
    phase is dns, connect, tls, request, response, body or redirect
  2 usage error, one line naming the flag (bad argument, unreadable or empty
    --cacert file, a flag the transport cannot honour)
  3 with -L, a redirect that cannot be followed
  22 with -f, the server answered 400 or more (the report is still printed)
  23 the body could not be written (-o)

EXAMPLES
  httpstat https://example.com/
  httpstat -L -n 3 --json http://127.0.0.1:8080/redirect/2
  httpstat --transport hyper --json https://example.com/
  httpstat --resolve example.com:443:127.0.0.1 https://example.com/
  httpstat -s -o page.html -w '%{http_code} %{time_total}\\n' https://example.com/
  httpstat -n 20 --json https://a.test/ https://b.test/
  httpstat -X PUT -H 'Content-Type: application/json' -d '{\"a\":1}' https://api.test/x";
