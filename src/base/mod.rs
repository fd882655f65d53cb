//! Small pure tools every layer uses; imports nothing else of the crate.

pub mod diagnostic;
pub mod guard;
pub mod number;
pub mod random;
pub mod text;
pub mod time;
pub mod url;
