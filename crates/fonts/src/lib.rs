//! The CJK font used to draw seal pictures and to write OFD documents.
//!
//! An installed system font wins (the Debian packages fonts-wqy-microhei,
//! fonts-wqy-zenhei, fonts-noto-cjk, in that order); with none installed, the
//! embedded default is used, so a machine with nothing but the program can
//! still draw seals and write licenses. The embedded font is a subset of
//! WenQuanYi Micro Hei (Apache-2.0) holding every character of GB 2312; its
//! provenance and licence are in this crate's `data/` folder. Callers that take
//! a font path from their user (a `--font` flag, an environment variable) load
//! that file themselves: this crate reads no environment.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::path::{Path, PathBuf};

/// Installed CJK font files tried, in order (Debian packages
/// fonts-wqy-microhei, fonts-wqy-zenhei, fonts-noto-cjk). All are free to
/// embed in documents.
pub const SYSTEM_CJK_FONTS: &[&str] = &[
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
];

/// The embedded default: WenQuanYi Micro Hei, GB 2312 subset (TrueType).
pub const EMBEDDED_CJK_FONT: &[u8] = include_bytes!("../data/wqy-microhei-gb2312.ttf");

/// How errors and reports name the embedded font.
pub const EMBEDDED_CJK_FONT_NAME: &str = "embedded WenQuanYi Micro Hei (GB 2312 subset)";

/// Where a CJK font comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CjkFont {
    /// An installed font file (use its first face).
    File(PathBuf),
    /// [`EMBEDDED_CJK_FONT`].
    Embedded,
}

impl CjkFont {
    /// The first installed [`SYSTEM_CJK_FONTS`] file, else the embedded font.
    pub fn default_source() -> CjkFont {
        Self::first_of(SYSTEM_CJK_FONTS)
    }

    /// The first of `candidates` that is a file, else the embedded font.
    pub fn first_of<P: AsRef<Path>>(candidates: &[P]) -> CjkFont {
        candidates
            .iter()
            .map(AsRef::as_ref)
            .find(|p| p.is_file())
            .map_or(CjkFont::Embedded, |p| CjkFont::File(p.to_path_buf()))
    }

    /// The file's bytes, or the embedded font's.
    pub fn read(&self) -> std::io::Result<Vec<u8>> {
        match self {
            CjkFont::File(p) => std::fs::read(p),
            CjkFont::Embedded => Ok(EMBEDDED_CJK_FONT.to_vec()),
        }
    }

    /// A name for reports and errors: the path, or [`EMBEDDED_CJK_FONT_NAME`].
    pub fn name(&self) -> String {
        match self {
            CjkFont::File(p) => p.display().to_string(),
            CjkFont::Embedded => EMBEDDED_CJK_FONT_NAME.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A TrueType font that maps GB 2312's first and last hanzi, and the
    /// characters seals and licenses use most, to real glyphs.
    #[test]
    fn embedded_font_covers_gb2312() {
        let face = ttf_parser::Face::parse(EMBEDDED_CJK_FONT, 0).expect("parses");
        assert!(face.tables().glyf.is_some(), "TrueType outlines");
        for c in "啊齄国家市场监督管理总局电子营业执照印章有限公司（）：、。〇０９ＡａAz1 ".chars()
        {
            let g = face
                .glyph_index(c)
                .unwrap_or_else(|| panic!("no glyph for {c:?}"));
            assert!(
                c == ' ' || c == '\u{3000}' || face.outline_glyph(g, &mut Sink).is_some(),
                "{c:?} has no outline"
            );
        }
        assert!(face.glyph_index('𠀀').is_none(), "outside the subset");
        assert_eq!(
            CjkFont::Embedded.read().expect("bytes").len(),
            EMBEDDED_CJK_FONT.len()
        );
    }

    /// No installed candidate: the embedded font; an installed one wins.
    #[test]
    fn an_installed_font_wins_else_the_embedded_one() {
        let none: [&str; 2] = ["/nonexistent/a.ttc", "/nonexistent/b.ttf"];
        assert_eq!(CjkFont::first_of(&none), CjkFont::Embedded);
        let me = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs");
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf();
        let missing = dir.join("no-such-font.ttc");
        assert_eq!(
            CjkFont::first_of(&[missing, dir, me.clone()]),
            CjkFont::File(me),
            "directories and missing files are skipped"
        );
    }

    struct Sink;
    impl ttf_parser::OutlineBuilder for Sink {
        fn move_to(&mut self, _: f32, _: f32) {}
        fn line_to(&mut self, _: f32, _: f32) {}
        fn quad_to(&mut self, _: f32, _: f32, _: f32, _: f32) {}
        fn curve_to(&mut self, _: f32, _: f32, _: f32, _: f32, _: f32, _: f32) {}
        fn close(&mut self) {}
    }
}
