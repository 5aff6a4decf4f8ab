//! Protobuf wire primitives for the traces body: field keys, varints,
//! lengths. proto3 leaves out scalar fields holding their default.

use std::time::{SystemTime, UNIX_EPOCH};

use prost::encoding::encoded_len_varint;

// Wire types.
pub(super) const VARINT: u32 = 0;
pub(super) const FIXED64: u32 = 1;
pub(super) const LEN: u32 = 2;
pub(super) const FIXED32: u32 = 5;

// Field helpers: proto3 leaves out scalar fields holding their default.

/// A varint, pushed byte by byte: prost's `encode_varint` goes through
/// `BufMut`, a capacity check and a one-byte slice copy per byte, and was
/// a fifth of this encoder's instructions (the buffer is sized up front).
#[inline]
pub(super) fn encode_varint(mut v: u64, buf: &mut Vec<u8>) {
    while v >= 0x80 {
        buf.push(v as u8 | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

#[inline]
pub(super) fn key(buf: &mut Vec<u8>, tag: u32, wire: u32) {
    encode_varint(u64::from(tag << 3 | wire), buf);
}

#[inline]
pub(super) fn key_len(tag: u32) -> usize {
    encoded_len_varint(u64::from(tag << 3))
}

#[inline]
pub(super) fn message_field_len(tag: u32, len: usize) -> usize {
    key_len(tag) + encoded_len_varint(len as u64) + len
}

#[inline]
pub(super) fn string_field_len(tag: u32, s: &str) -> usize {
    if s.is_empty() {
        0
    } else {
        message_field_len(tag, s.len())
    }
}

#[inline]
pub(super) fn string_field(buf: &mut Vec<u8>, tag: u32, s: &str) {
    if !s.is_empty() {
        bytes_field(buf, tag, s.as_bytes());
    }
}

#[inline]
pub(super) fn bytes_field_len(tag: u32, len: usize) -> usize {
    message_field_len(tag, len)
}

#[inline]
pub(super) fn bytes_field(buf: &mut Vec<u8>, tag: u32, b: &[u8]) {
    key(buf, tag, LEN);
    encode_varint(b.len() as u64, buf);
    buf.extend_from_slice(b);
}

#[inline]
pub(super) fn varint_field_len(tag: u32, v: u64) -> usize {
    if v == 0 {
        0
    } else {
        key_len(tag) + encoded_len_varint(v)
    }
}

#[inline]
pub(super) fn varint_field(buf: &mut Vec<u8>, tag: u32, v: u64) {
    if v != 0 {
        key(buf, tag, VARINT);
        encode_varint(v, buf);
    }
}

/// A timestamp field's length without converting it: `nanos` is zero, and
/// the field left out, exactly for times not after the epoch.
#[inline]
pub(super) fn time_field_len(tag: u32, t: SystemTime) -> usize {
    if t > UNIX_EPOCH { key_len(tag) + 8 } else { 0 }
}

#[inline]
pub(super) fn fixed64_field(buf: &mut Vec<u8>, tag: u32, v: u64) {
    if v != 0 {
        key(buf, tag, FIXED64);
        buf.extend_from_slice(&v.to_le_bytes());
    }
}
