//! Shared test helpers: a trace that records every event.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use httptrace::{ClientTrace, Event};

/// Records every event delivered to its trace, in delivery order.
#[derive(Clone, Default)]
pub struct Recorder(Arc<Mutex<Vec<Event>>>);

impl Recorder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn trace(&self) -> ClientTrace {
        let log = self.0.clone();
        ClientTrace::new().on_event(move |e| log.lock().unwrap().push(e.clone()))
    }

    pub fn events(&self) -> Vec<Event> {
        self.0.lock().unwrap().clone()
    }

    /// Event names in delivery order, with repeated `wrote_header_field` folded.
    pub fn names(&self) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = Vec::new();
        for e in self.events() {
            if e.name() == "wrote_header_field" && names.last() == Some(&"wrote_header_field") {
                continue;
            }
            names.push(e.name());
        }
        names
    }

    pub fn find<T>(&self, f: impl Fn(&Event) -> Option<T>) -> Vec<T> {
        self.events().iter().filter_map(f).collect()
    }

    /// Panics unless every event's `at` is at or after the previous one's.
    pub fn assert_monotonic(&self) {
        let events = self.events();
        for pair in events.windows(2) {
            assert!(
                pair[1].at() >= pair[0].at(),
                "{} delivered after {} but happened before it",
                pair[1].name(),
                pair[0].name()
            );
        }
    }
}

/// Names without `wrote_header_field`, for order assertions.
pub fn phases(names: &[&'static str]) -> Vec<&'static str> {
    names
        .iter()
        .copied()
        .filter(|n| *n != "wrote_header_field")
        .collect()
}

/// reqwest's error predicates, to compare errors by kind.
#[cfg(feature = "reqwest")]
pub fn kind_of(e: &reqwest::Error) -> [bool; 7] {
    [
        e.is_builder(),
        e.is_connect(),
        e.is_timeout(),
        e.is_request(),
        e.is_body(),
        e.is_decode(),
        e.is_redirect(),
    ]
}
