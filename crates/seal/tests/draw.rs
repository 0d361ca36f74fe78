//! Drawn seal pictures: real size, transparent background, red strokes where a
//! seal has them. Needs a CJK font (scripts/test.sh installs fonts-wqy-microhei).

#![allow(clippy::unwrap_used)]

use tiny_skia::Pixmap;
use yinzheng_seal::{PX_PER_MM, SealFont, draw_round, draw_square};

fn font() -> SealFont {
    SealFont::find().unwrap_or_else(|e| panic!("{e} (scripts/test.sh installs fonts-wqy-microhei)"))
}

fn pixel(p: &Pixmap, x: u32, y: u32) -> (u8, u8, u8, u8) {
    let c = p.pixel(x, y).unwrap().demultiply();
    (c.red(), c.green(), c.blue(), c.alpha())
}

#[test]
fn round_seal_is_40mm_red_on_transparent_with_a_star_and_a_ring() {
    let png = draw_round(&font(), "示例科技有限公司", "合同专用章", 40.0).unwrap();
    let p = Pixmap::decode_png(&png).unwrap();
    assert_eq!(p.width(), (40.0 * PX_PER_MM) as u32);
    assert_eq!(pixel(&p, 2, 2).3, 0, "corners are transparent");
    let c = p.width() / 2;
    let (r, g, b, a) = pixel(&p, c, c);
    assert!(
        a > 200 && r > 200 && g < 40 && b < 60,
        "the star fills the centre: {:?}",
        (r, g, b, a)
    );
    // The ring: the leftmost column at mid-height is red.
    let ring = (0..p.width() / 8)
        .map(|x| pixel(&p, x, c))
        .find(|px| px.3 > 200);
    assert!(ring.is_some_and(|(r, g, _, _)| r > 200 && g < 40));
    // Text above the star: some red pixels in the upper band between ring and star.
    let red_above = (0..p.width())
        .filter(|&x| pixel(&p, x, p.height() / 6).3 > 128)
        .count();
    assert!(red_above > 20, "the name is drawn along the rim");
}

#[test]
fn square_seal_and_limits() {
    let png = draw_square(&font(), "张三之印", 20.0).unwrap();
    let p = Pixmap::decode_png(&png).unwrap();
    assert_eq!(p.width(), (20.0 * PX_PER_MM) as u32);
    assert!(pixel(&p, 5, p.height() / 2).3 > 200, "the border");
    assert!(draw_square(&font(), "", 20.0).is_err());
    assert!(draw_round(&font(), "x", "", 100.0).is_err());
    assert!(draw_round(&font(), &"长".repeat(30), "", 40.0).is_err());
}
