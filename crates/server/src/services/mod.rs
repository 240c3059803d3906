//! Services: rules shared by several surfaces, between the route handlers and the stores.

pub mod artifact;
pub mod packages;
