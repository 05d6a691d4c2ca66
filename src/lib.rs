//! adminibot: `sudo` for MediaWiki admin actions.
//!
//! A request flows through [`config`] (where the wiki is), [`wiki`] (the only
//! HTTP: identity and [`facts::PageFacts`]), [`rules`] (pure safety rules giving a
//! [`rules::Verdict`]) and [`report`] (text and JSON for people and scripts).
//! [`error`] maps every failure to one message and exit code.

// Every public item says what it is; clippy's `-D warnings` holds it.
#![warn(missing_docs)]

pub mod authority;
pub mod broker;
pub mod charter;
pub mod cli;
pub mod client;
pub mod commands;
pub mod config;
pub mod error;
pub mod facts;
pub mod kept_session;
pub mod located;
pub mod man;
pub mod model;
pub mod owner;
pub mod permit;
pub mod policy;
pub mod progress;
pub mod prompt;
pub mod protocol;
pub mod recovery;
pub mod report;
pub mod reviews;
pub mod rules;
pub mod service;
pub mod session;
pub mod signature;
pub mod stages;
pub mod store;
pub mod style;
pub mod when;
pub mod wiki;
