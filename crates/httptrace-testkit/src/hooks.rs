//! The order of hooks tests expect, by `Event::name`, written once.

/// A new HTTPS connection being dialed: lookup, one connect attempt, handshake.
pub const HTTPS_DIAL: [&str; 6] = [
    "dns_start",
    "dns_done",
    "connect_start",
    "connect_done",
    "tls_handshake_start",
    "tls_handshake_done",
];

/// A round trip on a new HTTPS connection with one connect attempt, body read
/// to the end, without `wrote_header_field`. No `put_idle_conn`: HTTP/2
/// connections are never put idle, and over HTTP/1.1 it comes after.
pub const HTTPS_NEW_CONNECTION: [&str; 14] = [
    "round_trip_start",
    "get_conn",
    HTTPS_DIAL[0],
    HTTPS_DIAL[1],
    HTTPS_DIAL[2],
    HTTPS_DIAL[3],
    HTTPS_DIAL[4],
    HTTPS_DIAL[5],
    "got_conn",
    "wrote_headers",
    "wrote_request",
    "got_first_response_byte",
    "round_trip_done",
    "body_done",
];
