//! What the marketer writes: when a tag fires (`trigger`) and what it sends (`mapping`).

pub mod mapping;
pub mod trigger;
