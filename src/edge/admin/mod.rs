//! The admin worker (feature `admin`): the dashboard's API (`api`), the queue consumer (`consumer`) and the D1
//! statements it and the others write (`ledger`), replay (`replay`), the scheduled job (`scheduled`).

pub(crate) mod api;
pub(crate) mod consumer;
pub(crate) mod ledger;
pub(crate) mod replay;
pub(crate) mod scheduled;
