//! The `add-checkpoint` request body (c2sp.org/tlog-witness): an old size
//! line, at most 63 consistency proof lines, an empty line, the checkpoint.

use crate::error::{Error, Result};
use yinzheng_anchor::Hash;

/// Most consistency proof lines a client may send.
pub const MAX_PROOF_LINES: usize = 63;

/// A parsed `add-checkpoint` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// The size of the checkpoint the client believes the witness cosigned last.
    pub old: u64,
    /// The consistency proof from `old` to the checkpoint's size.
    pub proof: Vec<Hash>,
    /// The signed checkpoint note, as sent.
    pub checkpoint: String,
}

impl AddCheckpoint {
    /// Parse a request body; anything off the grammar is a bad request.
    pub fn parse(body: &[u8]) -> Result<Self> {
        let bad = |why: &str| Error::BadRequest(why.to_string());
        if body.len() > crate::MAX_BODY {
            return Err(bad("the request is larger than a checkpoint and its proof"));
        }
        let text = std::str::from_utf8(body).map_err(|_| bad("the request is not UTF-8"))?;
        let (head, checkpoint) = text
            .split_once("\n\n")
            .ok_or_else(|| bad("no empty line before the checkpoint"))?;
        let mut lines = head.split('\n');
        let old_line = lines.next().unwrap_or_default();
        let old = old_line
            .strip_prefix("old ")
            .filter(|d| {
                !d.is_empty()
                    && d.bytes().all(|b| b.is_ascii_digit())
                    && (d == &"0" || !d.starts_with('0'))
            })
            .and_then(|d| d.parse::<u64>().ok())
            .ok_or_else(|| bad("the first line is not `old <size>` in decimal"))?;
        let mut proof = Vec::new();
        for line in lines {
            if proof.len() == MAX_PROOF_LINES {
                return Err(bad("more than 63 consistency proof lines"));
            }
            let hash: Hash = yinzheng_anchor::base64::decode(line)
                .and_then(|h| h.try_into().ok())
                .ok_or_else(|| bad("a proof line is not a base64 hash of 32 bytes"))?;
            proof.push(hash);
        }
        if checkpoint.is_empty() {
            return Err(bad("no checkpoint after the empty line"));
        }
        Ok(AddCheckpoint {
            old,
            proof,
            checkpoint: checkpoint.to_string(),
        })
    }

    /// The request body for this request.
    pub fn to_body(&self) -> String {
        let mut s = format!("old {}\n", self.old);
        for h in &self.proof {
            s.push_str(&yinzheng_anchor::base64::encode(h));
            s.push('\n');
        }
        s.push('\n');
        s.push_str(&self.checkpoint);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse_and_round_trip_and_junk_is_a_bad_request() {
        let h = [7u8; 32];
        let r = AddCheckpoint {
            old: 20,
            proof: vec![h, h],
            checkpoint: "o\n30\nroot\n\n\u{2014} o sig\n".into(),
        };
        assert_eq!(AddCheckpoint::parse(r.to_body().as_bytes()).ok(), Some(r));
        for junk in [
            "",
            "old 1\n",
            "old 01\n\nx",
            "old -1\n\nx",
            "old  1\n\nx",
            "new 1\n\nx",
            "old 1\nnot base64!\n\nx",
            "old 1\nAAAA\n\nx",
            "old 1\n\n",
        ] {
            let e = AddCheckpoint::parse(junk.as_bytes());
            assert!(matches!(e, Err(Error::BadRequest(_))), "{junk:?}: {e:?}");
        }
        let long = format!(
            "old 1\n{}\nx",
            format!("{}\n", yinzheng_anchor::base64::encode(&h)).repeat(64)
        );
        assert!(matches!(
            AddCheckpoint::parse(long.as_bytes()),
            Err(Error::BadRequest(_))
        ));
    }
}
