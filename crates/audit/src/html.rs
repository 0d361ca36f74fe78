//! The HTML view of an [`Outcome`]: one self-contained file (inline style,
//! the seal picture as a `data:` URI, no script, nothing fetched), with the
//! verdict at the top, for auditors to archive or print.

use crate::outcome::Outcome;
use yinzheng_pki::{CheckStatus, Indication};

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// Render `o` as a self-contained HTML page.
pub fn render_html(o: &Outcome) -> String {
    let r = &o.report;
    let (verdict, colour) = match r.indication() {
        Indication::TotalPassed => ("VALID — every check passed", "#1b7f3b"),
        Indication::TotalFailed => ("INVALID — a check failed", "#b3261e"),
        _ => ("UNDECIDED — information is missing", "#a15c00"),
    };
    let sub = r
        .sub_indication()
        .map(|s| format!(" / {s}"))
        .unwrap_or_default();
    let mut h = String::new();
    h.push_str("<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">");
    h.push_str("<title>yinzheng-audit report</title><style>");
    h.push_str(
        "body{font-family:sans-serif;margin:2em;max-width:60em}\
         .verdict{color:#fff;padding:1em;border-radius:6px;font-size:1.3em}\
         table{border-collapse:collapse;width:100%;margin:1em 0}\
         td,th{border:1px solid #ccc;padding:4px 6px;text-align:left;vertical-align:top;font-size:.9em}\
         .ok{color:#1b7f3b}.fail{color:#b3261e;font-weight:bold}.warn{color:#a15c00}.skip{color:#666}\
         img.seal{float:right;max-width:160px;margin-left:1em}",
    );
    h.push_str("</style></head><body>\n");
    h.push_str(&format!(
        "<div class=\"verdict\" style=\"background:{colour}\">{}{}</div>\n",
        esc(verdict),
        esc(&format!(" ({}{sub})", r.indication()))
    ));
    if let Some((mime, data)) = &o.picture {
        h.push_str(&format!(
            "<img class=\"seal\" alt=\"seal picture\" src=\"data:{};base64,{}\">\n",
            esc(mime),
            yinzheng_crypto::base64::encode(data)
        ));
    }
    let json = serde_json::to_value(r).unwrap_or_default();
    let object = json.get("object").and_then(|v| v.as_str()).unwrap_or("");
    h.push_str(&format!("<h1>{}</h1>\n", esc(object)));
    h.push_str(&format!(
        "<p><b>Judged at</b> {} ({:?}): {}</p>\n",
        esc(&o.time_basis.time),
        o.time_basis.source,
        esc(&o.time_basis.reason)
    ));
    if !o.facts.is_empty() {
        h.push_str("<table>");
        for (k, v) in &o.facts {
            h.push_str(&format!("<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(v)));
        }
        h.push_str("</table>\n");
    }
    if !o.properties.is_empty() {
        h.push_str(
            "<h2>四性检测 Four-property check (DA/T 70)</h2><table><tr><th>property</th>\
             <th>result</th><th>what was checked</th></tr>",
        );
        for p in &o.properties {
            let class = match p.result {
                "passed" => "ok",
                "passed with warnings" => "warn",
                _ => "fail",
            };
            h.push_str(&format!(
                "<tr><td>{} {}</td><td class=\"{class}\">{} ({} passed, {} failed, {} warnings)</td><td><ul>",
                esc(p.name),
                esc(p.key),
                esc(p.result),
                p.passed,
                p.failed,
                p.warnings
            ));
            for f in &p.findings {
                h.push_str(&format!("<li>{}</li>", esc(f)));
            }
            h.push_str("</ul></td></tr>");
        }
        h.push_str("</table>\n");
    }
    if !o.events.is_empty() {
        h.push_str("<h2>Log entries</h2><table><tr><th>#</th><th>time</th><th>kind</th><th>actor</th><th>proof</th></tr>");
        for e in &o.events {
            h.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td></tr>",
                e.index,
                esc(&e.time),
                esc(&e.kind),
                esc(&e.actor),
                if e.proven { "ok" } else { "fail" },
                if e.proven { "proven" } else { "NOT proven" }
            ));
        }
        h.push_str("</table>\n");
    }
    if !r.chain().is_empty() {
        h.push_str("<h2>Certificate chain</h2><table><tr><th>subject</th><th>serial</th><th>validity</th></tr>");
        for c in r.chain() {
            h.push_str(&format!(
                "<tr><td>{}{}</td><td>{}</td><td>{} .. {}</td></tr>",
                esc(&c.subject),
                if c.trust_anchor {
                    " [trust anchor]"
                } else {
                    ""
                },
                esc(&c.serial),
                esc(&c.not_before),
                esc(&c.not_after)
            ));
        }
        h.push_str("</table>\n");
    }
    if !r.revocation().is_empty() {
        h.push_str("<h2>Revocation data used</h2><table>");
        for s in r.revocation() {
            h.push_str(&format!(
                "<tr><td>{}</td><td>{} issued {}</td><td>{}</td></tr>",
                esc(&s.subject),
                esc(&s.kind),
                esc(&s.issued_at),
                esc(&s.status)
            ));
        }
        h.push_str("</table>\n");
    }
    h.push_str(
        "<h2>Checks</h2><table><tr><th></th><th>check</th><th>subject</th><th>result</th></tr>",
    );
    for c in r.checks() {
        let (class, mark) = match c.status {
            CheckStatus::Passed => ("ok", "ok"),
            CheckStatus::Failed => ("fail", "FAIL"),
            CheckStatus::Warning => ("warn", "warn"),
            _ => ("skip", "skip"),
        };
        h.push_str(&format!(
            "<tr><td class=\"{class}\">{mark}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&c.id),
            esc(&c.subject),
            esc(&c.message)
        ));
    }
    h.push_str("</table>\n<p style=\"color:#666\">Produced offline by yinzheng-audit from the trust-anchors file alone.</p></body></html>\n");
    h
}
