//! The bodies of Yinzheng's fuzz targets, one module per target.
//!
//! `fuzz/fuzz_targets/<name>.rs` (cargo-fuzz, nightly, libFuzzer) is one line
//! that calls `<name>::run`; keeping the bodies in this workspace crate means
//! they build with every `cargo test --workspace`, and the seed corpora
//! (`fuzz/seeds/<name>/`, which `cargo fuzz run <name> fuzz/corpus/<name>
//! fuzz/seeds/<name>` starts from) run as
//! ordinary tests (`tests/seeds.rs`): every seed, and every truncation and a
//! few byte flips of it, must go through without a panic.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod anchor_note;
pub mod anchor_proof;
pub mod anchor_tile_path;
pub mod archive_package;
pub mod cms;
pub mod license_csv;
pub mod license_id;
pub mod ofd;
pub mod pdf_signatures;
pub mod pki_objects;
pub mod private_key;
pub mod public_key;
pub mod receipt;
pub mod seal;
pub mod signature;
pub mod witness_request;

/// A target's body: one input, no panic.
pub type Target = fn(&[u8]);

/// Every target: its name (the `fuzz/fuzz_targets/<name>.rs` file and the
/// `fuzz/seeds/<name>/` directory) and its body.
pub const TARGETS: &[(&str, Target)] = &[
    ("signature", signature::run),
    ("private_key", private_key::run),
    ("public_key", public_key::run),
    ("pki_objects", pki_objects::run),
    ("seal", seal::run),
    ("anchor_note", anchor_note::run),
    ("anchor_tile_path", anchor_tile_path::run),
    ("anchor_proof", anchor_proof::run),
    ("ofd", ofd::run),
    ("cms", cms::run),
    ("pdf_signatures", pdf_signatures::run),
    ("license_id", license_id::run),
    ("license_csv", license_csv::run),
    ("receipt", receipt::run),
    ("witness_request", witness_request::run),
    ("archive_package", archive_package::run),
];
