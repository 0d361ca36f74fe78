//! `#[peer_test(openssl, qpdf)]` marks a test that runs a peer tool.
//!
//! A newcomer's `cargo test --workspace` on a machine with only Rust lists
//! such tests as ignored, each saying which peers it needs; `scripts/test.sh`
//! installs the peers and builds the tests with the `peers` feature
//! (`--features yinzheng-tests/peers`), where they run like any other test and
//! a missing peer fails them — they are never skipped there.
#![forbid(unsafe_code)]

use proc_macro::{Delimiter, Group, Ident, Punct, Spacing, Span, TokenStream, TokenTree};

/// A `#[test]` that needs the named peer tools; ignored (with the reason)
/// unless the `peers` feature is on.
#[proc_macro_attribute]
pub fn peer_test(args: TokenStream, item: TokenStream) -> TokenStream {
    let peers: Vec<String> = args
        .into_iter()
        .filter_map(|t| match t {
            TokenTree::Ident(i) => Some(i.to_string()),
            TokenTree::Literal(l) => Some(l.to_string().trim_matches('"').to_string()),
            _ => None,
        })
        .collect();
    let mut out = attribute(Ident::new("test", Span::call_site()).into(), None);
    if !cfg!(feature = "peers") {
        let reason = format!(
            "needs peer tools ({}): scripts/test.sh installs and runs them \
             (cargo test --features yinzheng-tests/peers)",
            if peers.is_empty() {
                "see the test".to_string()
            } else {
                peers.join(", ")
            }
        );
        out.extend(attribute(
            Ident::new("ignore", Span::call_site()).into(),
            Some(reason),
        ));
    }
    out.extend(item);
    out
}

/// `#[name]`, or `#[name = "value"]`.
fn attribute(name: TokenTree, value: Option<String>) -> TokenStream {
    let mut inner = vec![name];
    if let Some(v) = value {
        inner.push(Punct::new('=', Spacing::Alone).into());
        inner.push(proc_macro::Literal::string(&v).into());
    }
    TokenStream::from_iter([
        TokenTree::from(Punct::new('#', Spacing::Alone)),
        Group::new(Delimiter::Bracket, inner.into_iter().collect()).into(),
    ])
}
