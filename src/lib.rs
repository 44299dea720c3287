//! Herald: a self-hosted dealership Communications API.
//!
//! A connection enters at [`server`], its requests at [`api`], which hands them to the use
//! cases of [`service`]; they are judged by [`domain`] and kept by [`store`]. [`app`] wires them into one process; [`config`] says how it is set
//! up.

pub mod api;
pub mod app;
pub mod callbacks;
pub mod clock;
pub mod config;
mod console;
pub mod delivery;
pub mod demo;
pub mod domain;
pub mod observability;
pub mod providers;
pub mod server;
pub mod service;
pub mod startup;
pub mod store;
pub mod telemetry;

pub use app::Application;
pub use config::Settings;
