//! Attributes and their values (`KeyValue`, `AnyValue`), measured and
//! written.

use opentelemetry::{Array, KeyValue, Value};
use prost::encoding::encoded_len_varint;

use super::wire::*;

pub(super) fn attributes_len<'a>(tag: u32, kvs: impl IntoIterator<Item = &'a KeyValue>) -> usize {
    kvs.into_iter()
        .map(|kv| message_field_len(tag, key_value_len(kv.key.as_str(), &kv.value)))
        .sum()
}

// KeyValue { key = 1; AnyValue value = 2 } (the value always present).
#[inline]
pub(super) fn key_value_len(k: &str, v: &Value) -> usize {
    string_field_len(1, k) + message_field_len(2, any_value_len(v))
}

pub(super) fn key_value(buf: &mut Vec<u8>, tag: u32, k: &str, v: &Value) {
    // A scalar (nearly every attribute) is classified and measured once.
    let scalar_value = scalar_of(v);
    let value_len = scalar_value
        .as_ref()
        .map_or_else(|| any_value_len(v), scalar_len);
    key(buf, tag, LEN);
    encode_varint(
        (string_field_len(1, k) + message_field_len(2, value_len)) as u64,
        buf,
    );
    string_field(buf, 1, k);
    key(buf, 2, LEN);
    encode_varint(value_len as u64, buf);
    match &scalar_value {
        Some(s) => scalar(buf, s),
        None => any_value(buf, v),
    }
}

/// One element of an array, as an `AnyValue`.
pub(super) enum Scalar<'a> {
    Bool(bool),
    Int(i64),
    Double(f64),
    Str(&'a str),
}

// AnyValue is a oneof: the variant is written even when it holds the
// default (an empty string, 0, false), as prost does.
#[inline]
pub(super) fn scalar_len(s: &Scalar<'_>) -> usize {
    match s {
        Scalar::Str(v) => 1 + encoded_len_varint(v.len() as u64) + v.len(),
        Scalar::Bool(_) => 2,
        Scalar::Int(v) => 1 + encoded_len_varint(*v as u64),
        Scalar::Double(_) => 9,
    }
}

#[inline]
pub(super) fn scalar(buf: &mut Vec<u8>, s: &Scalar<'_>) {
    match s {
        Scalar::Str(v) => {
            key(buf, 1, LEN);
            encode_varint(v.len() as u64, buf);
            buf.extend_from_slice(v.as_bytes());
        }
        Scalar::Bool(v) => {
            key(buf, 2, VARINT);
            encode_varint(u64::from(*v), buf);
        }
        Scalar::Int(v) => {
            key(buf, 3, VARINT);
            encode_varint(*v as u64, buf);
        }
        Scalar::Double(v) => {
            key(buf, 4, FIXED64);
            buf.extend_from_slice(&v.to_le_bytes());
        }
    }
}

/// The elements of an array value; `None` for a kind this encoder does not
/// know (the API's types are non-exhaustive), which becomes its text.
pub(super) fn array_items(a: &Array) -> Option<Vec<Scalar<'_>>> {
    Some(match a {
        Array::Bool(v) => v.iter().map(|b| Scalar::Bool(*b)).collect(),
        Array::I64(v) => v.iter().map(|i| Scalar::Int(*i)).collect(),
        Array::F64(v) => v.iter().map(|f| Scalar::Double(*f)).collect(),
        Array::String(v) => v.iter().map(|s| Scalar::Str(s.as_str())).collect(),
        _ => return None,
    })
}

pub(super) fn array_len(items: &[Scalar<'_>]) -> usize {
    items
        .iter()
        .map(|s| message_field_len(1, scalar_len(s)))
        .sum()
}

/// The value when it is one scalar (nearly every attribute): the fast path.
#[inline]
pub(super) fn scalar_of(v: &Value) -> Option<Scalar<'_>> {
    match v {
        Value::Bool(b) => Some(Scalar::Bool(*b)),
        Value::I64(i) => Some(Scalar::Int(*i)),
        Value::F64(f) => Some(Scalar::Double(*f)),
        Value::String(s) => Some(Scalar::Str(s.as_str())),
        _ => None,
    }
}

/// A value that is not one scalar: its array elements, or, for a kind this
/// encoder does not know, its text.
pub(super) fn composite(v: &Value) -> Result<Vec<Scalar<'_>>, String> {
    match v {
        Value::Array(a) => array_items(a).ok_or_else(|| a.to_string()),
        other => Err(other.to_string()),
    }
}

pub(super) fn any_value_len(v: &Value) -> usize {
    if let Some(s) = scalar_of(v) {
        return scalar_len(&s);
    }
    match composite(v) {
        Ok(items) => message_field_len(5, array_len(&items)),
        Err(text) => scalar_len(&Scalar::Str(&text)),
    }
}

pub(super) fn any_value(buf: &mut Vec<u8>, v: &Value) {
    if let Some(s) = scalar_of(v) {
        return scalar(buf, &s);
    }
    match composite(v) {
        Ok(items) => {
            key(buf, 5, LEN);
            encode_varint(array_len(&items) as u64, buf);
            for s in &items {
                key(buf, 1, LEN);
                encode_varint(scalar_len(s) as u64, buf);
                scalar(buf, s);
            }
        }
        Err(text) => scalar(buf, &Scalar::Str(&text)),
    }
}
