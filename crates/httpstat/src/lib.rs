#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub mod cli;
pub mod hop;
pub mod output;
pub mod redact;
pub mod redirect;
pub mod run;
pub mod via_hyper;
