//! One module per subcommand.

pub mod ca;
pub mod cert;
pub mod digest;
pub mod key;
pub mod license;
pub mod log;
pub mod seal;
pub mod serve;
pub mod sign;
pub mod trust;
pub mod verify;
