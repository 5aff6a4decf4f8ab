#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

#[doc(hidden)]
pub mod cli;
mod client;
mod error;
mod help;
mod hop;
mod local_dns;
mod output;
mod pin;
mod proxy;
mod redact;
mod redirect;
#[doc(hidden)]
pub mod run;
#[doc(hidden)]
pub mod shared;
mod summary;
mod via_hyper;
mod via_reqwest;
mod write_out;
