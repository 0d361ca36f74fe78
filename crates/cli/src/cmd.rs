//! One module per subcommand.

pub mod digest;
pub mod key;
pub mod sign;
pub mod verify;
