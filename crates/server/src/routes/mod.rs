//! One module per HTTP surface; each exposes `route(Router) -> Router`.

pub mod files;
pub mod oci;
pub mod ops;
pub mod packages;
pub mod token;
pub mod web;
pub mod wellknown;
