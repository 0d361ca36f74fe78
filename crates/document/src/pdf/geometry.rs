//! Page geometry: the visible box (CropBox within MediaBox) and `/Rotate`, and
//! the mapping between what a reader sees (from the top-left corner, in
//! points) and PDF user space.

use crate::error::{Error, Result};
use lopdf::{Document, Object, ObjectId};

/// The visible area of one page and its display rotation.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PageGeometry {
    /// `[llx, lly, urx, ury]` in user space.
    pub bbox: [f64; 4],
    /// 0, 90, 180 or 270: clockwise rotation when displayed.
    pub rotate: i64,
}

/// An attribute of a page, looked up through the page tree (inheritable ones).
fn inherited<'a>(doc: &'a Document, page: ObjectId, key: &[u8]) -> Option<&'a Object> {
    let mut id = page;
    for _ in 0..64 {
        let dict = doc.get_dictionary(id).ok()?;
        if let Ok(v) = dict.get(key) {
            return match v {
                Object::Reference(r) => doc.get_object(*r).ok(),
                v => Some(v),
            };
        }
        id = dict.get(b"Parent").and_then(Object::as_reference).ok()?;
    }
    None
}

fn rect_of(obj: &Object) -> Option<[f64; 4]> {
    let a = obj.as_array().ok()?;
    if a.len() != 4 {
        return None;
    }
    let mut v = [0.0; 4];
    for (slot, o) in v.iter_mut().zip(a) {
        *slot = f64::from(o.as_float().ok()?);
    }
    Some([
        v[0].min(v[2]),
        v[1].min(v[3]),
        v[0].max(v[2]),
        v[1].max(v[3]),
    ])
}

impl PageGeometry {
    /// The geometry of `page`.
    pub fn of(doc: &Document, page: ObjectId) -> Result<Self> {
        let media = inherited(doc, page, b"MediaBox")
            .and_then(rect_of)
            .ok_or_else(|| Error::Pdf("the page has no valid /MediaBox".into()))?;
        let bbox = match inherited(doc, page, b"CropBox").and_then(rect_of) {
            Some(c) => [
                c[0].max(media[0]),
                c[1].max(media[1]),
                c[2].min(media[2]),
                c[3].min(media[3]),
            ],
            None => media,
        };
        if bbox[2] <= bbox[0] || bbox[3] <= bbox[1] {
            return Err(Error::Pdf("the page's visible box is empty".into()));
        }
        let rotate = inherited(doc, page, b"Rotate")
            .and_then(|o| o.as_i64().ok())
            .unwrap_or(0)
            .rem_euclid(360);
        let rotate = if rotate % 90 == 0 { rotate } else { 0 };
        Ok(Self { bbox, rotate })
    }

    /// User-space point of the displayed point `u` from the left, `v` from the top (points).
    pub fn to_user(self, u: f64, v: f64) -> (f64, f64) {
        let [llx, lly, urx, ury] = self.bbox;
        match self.rotate {
            90 => (llx + v, lly + u),
            180 => (urx - u, lly + v),
            270 => (urx - v, ury - u),
            _ => (llx + u, ury - v),
        }
    }

    /// Displayed point (from the left, from the top) of the user-space point `(x, y)`.
    pub fn to_display(self, x: f64, y: f64) -> (f64, f64) {
        let [llx, lly, urx, ury] = self.bbox;
        match self.rotate {
            90 => (y - lly, x - llx),
            180 => (urx - x, y - lly),
            270 => (ury - y, urx - x),
            _ => (x - llx, ury - y),
        }
    }

    /// The user-space rectangle of a displayed box with top-left `(u, v)`, size `w` × `h`.
    pub fn user_rect(&self, u: f64, v: f64, w: f64, h: f64) -> [f64; 4] {
        let (x0, y0) = self.to_user(u, v);
        let (x1, y1) = self.to_user(u + w, v + h);
        [x0.min(x1), y0.min(y1), x0.max(x1), y0.max(y1)]
    }

    /// The `/Matrix` of an appearance so that it shows upright on the rotated page.
    pub fn appearance_matrix(&self) -> [f64; 6] {
        match self.rotate {
            90 => [0.0, 1.0, -1.0, 0.0, 0.0, 0.0],
            180 => [-1.0, 0.0, 0.0, -1.0, 0.0, 0.0],
            270 => [0.0, -1.0, 1.0, 0.0, 0.0, 0.0],
            _ => [1.0, 0.0, 0.0, 1.0, 0.0, 0.0],
        }
    }
}

/// Deepest page tree walked by [`page_numbers`].
const MAX_PAGE_TREE_DEPTH: usize = 256;

/// Page number (1-based) of every page object: the leaves of the page tree
/// in order (`/Type /Page`, or a kid that is no dictionary with a `/Type`, as
/// lopdf counts a blank stand-in), each node counted at its first sighting
/// only, so a repeated or cyclic kid adds nothing. It depends only on the
/// objects the tree reaches, so a document loaded in part
/// ([`super::load_for_signatures`]) numbers its pages as a full load does.
pub(crate) fn page_numbers(doc: &Document) -> std::collections::HashMap<ObjectId, usize> {
    let mut numbers = std::collections::HashMap::new();
    let mut seen = std::collections::HashSet::new();
    let Ok(root) = doc
        .catalog()
        .and_then(|c| c.get(b"Pages"))
        .and_then(Object::as_reference)
    else {
        return numbers;
    };
    let kids_of = |id: ObjectId| -> &[Object] {
        doc.get_dictionary(id)
            .and_then(|node| node.get_deref(b"Kids", doc))
            .and_then(Object::as_array)
            .map_or(&[], Vec::as_slice)
    };
    seen.insert(root);
    let mut stack: Vec<&[Object]> = vec![kids_of(root)];
    while let Some(level) = stack.last_mut() {
        let Some((kid, rest)) = level.split_first() else {
            stack.pop();
            continue;
        };
        *level = rest;
        let Ok(id) = kid.as_reference() else {
            continue;
        };
        if !seen.insert(id) {
            continue;
        }
        match doc.get_dictionary(id).and_then(lopdf::Dictionary::get_type) {
            Ok(b"Pages") if stack.len() < MAX_PAGE_TREE_DEPTH => stack.push(kids_of(id)),
            Ok(b"Page") | Err(_) => {
                let n = numbers.len() + 1;
                numbers.insert(id, n);
            }
            Ok(_) => {}
        }
    }
    numbers
}
