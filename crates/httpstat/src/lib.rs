#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub mod cli;
pub mod client;
pub mod error;
mod help;
pub mod hop;
pub mod local_dns;
pub mod output;
pub mod pin;
pub mod proxy;
pub mod redact;
pub mod redirect;
pub mod run;
pub mod shared;
pub mod summary;
pub mod via_hyper;
pub mod via_reqwest;
pub mod write_out;
