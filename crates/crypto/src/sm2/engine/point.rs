//! Points of y² = x³ − 3x + b over GF(p): affine and Jacobian coordinates
//! (x = X/Z², y = Y/Z³; Z = 0 is the point at infinity).
//!
//! The plain methods are variable time and handle every exceptional case (infinity,
//! P = Q, P = −Q): they serve verification, where all inputs are public. The
//! constant-time addition for signing is [`Jacobian::add_complete_ct`].

use super::field::Fe;

/// The curve coefficient b in Montgomery form.
pub(crate) const B: Fe = Fe::from_be_const(&crate::sm2::CURVE_B);

/// An affine point (never the point at infinity).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct Affine {
    pub(crate) x: Fe,
    pub(crate) y: Fe,
}

impl Affine {
    /// The base point G.
    pub(crate) const GENERATOR: Affine = Affine {
        x: Fe::from_be_const(&crate::sm2::GEN_X),
        y: Fe::from_be_const(&crate::sm2::GEN_Y),
    };

    /// The point with big-endian coordinates `(x, y)`, if both are below p and the
    /// point is on the curve.
    pub(crate) fn from_be_bytes(x: &[u8; 32], y: &[u8; 32]) -> Option<Affine> {
        let p = Affine {
            x: Fe::from_be_bytes(x)?,
            y: Fe::from_be_bytes(y)?,
        };
        p.is_on_curve().then_some(p)
    }

    /// y² = x³ − 3x + b.
    pub(crate) fn is_on_curve(&self) -> bool {
        let x2 = self.x.square();
        let rhs = x2.mul(&self.x).sub(&self.x.double().add(&self.x)).add(&B);
        self.y.square() == rhs
    }

    /// −P.
    #[inline(always)]
    pub(crate) fn neg(&self) -> Affine {
        Affine {
            x: self.x,
            y: self.y.neg(),
        }
    }
}

/// A point in Jacobian coordinates.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Jacobian {
    pub(crate) x: Fe,
    pub(crate) y: Fe,
    pub(crate) z: Fe,
}

impl Jacobian {
    /// The point at infinity (1 : 1 : 0).
    pub(crate) const IDENTITY: Jacobian = Jacobian {
        x: Fe::ONE,
        y: Fe::ONE,
        z: Fe::ZERO,
    };

    /// True for the point at infinity.
    #[inline(always)]
    pub(crate) fn is_identity(&self) -> bool {
        self.z.is_zero()
    }

    /// Affine coordinates, `None` for the point at infinity (one inversion).
    #[cfg(test)]
    pub(crate) fn to_affine(self) -> Option<Affine> {
        if self.is_identity() {
            return None;
        }
        let zi = self.z.invert();
        let zi2 = zi.square();
        Some(Affine {
            x: self.x.mul(&zi2),
            y: self.y.mul(&zi2.mul(&zi)),
        })
    }

    /// 2P with a = −3 (dbl-2001-b, 3M + 5S). Infinity stays infinity (Z3 = 2·Y·Z);
    /// no point of this odd-order curve has Y = 0. Constant time.
    #[inline]
    pub(crate) fn double(&self) -> Jacobian {
        let delta = self.z.square();
        let gamma = self.y.square();
        let beta = self.x.mul(&gamma);
        let t0 = self.x.sub(&delta);
        let t1 = self.x.add(&delta);
        let t2 = t0.mul(&t1);
        let alpha = t2.double().add(&t2);
        let beta4 = beta.double().double();
        let x3 = alpha.square().sub(&beta4.double());
        let z3 = self.y.add(&self.z).square().sub(&gamma).sub(&delta);
        let gamma2 = gamma.square();
        let g8 = gamma2.double().double().double();
        let y3 = alpha.mul(&beta4.sub(&x3)).sub(&g8);
        Jacobian {
            x: x3,
            y: y3,
            z: z3,
        }
    }

    /// P + Q for affine Q (madd-2007-bl, 7M + 4S), variable time, all cases.
    #[inline]
    pub(crate) fn add_affine(&self, q: &Affine) -> Jacobian {
        if self.is_identity() {
            return Jacobian::from(*q);
        }
        let z1z1 = self.z.square();
        let u2 = q.x.mul(&z1z1);
        let s2 = q.y.mul(&self.z).mul(&z1z1);
        let h = u2.sub(&self.x);
        let r = s2.sub(&self.y).double();
        if h.is_zero() {
            return if r.is_zero() {
                self.double()
            } else {
                Jacobian::IDENTITY
            };
        }
        let hh = h.square();
        let i = hh.double().double();
        let j = h.mul(&i);
        let v = self.x.mul(&i);
        let x3 = r.square().sub(&j).sub(&v.double());
        let y3 = r.mul(&v.sub(&x3)).sub(&self.y.mul(&j).double());
        let z3 = self.z.add(&h).square().sub(&z1z1).sub(&hh);
        Jacobian {
            x: x3,
            y: y3,
            z: z3,
        }
    }

    /// P + Q, both Jacobian (add-2007-bl, 11M + 5S), variable time, all cases.
    pub(crate) fn add(&self, q: &Jacobian) -> Jacobian {
        if self.is_identity() {
            return *q;
        }
        if q.is_identity() {
            return *self;
        }
        let z1z1 = self.z.square();
        let z2z2 = q.z.square();
        let u1 = self.x.mul(&z2z2);
        let u2 = q.x.mul(&z1z1);
        let s1 = self.y.mul(&q.z).mul(&z2z2);
        let s2 = q.y.mul(&self.z).mul(&z1z1);
        let h = u2.sub(&u1);
        let r = s2.sub(&s1).double();
        if h.is_zero() {
            return if r.is_zero() {
                self.double()
            } else {
                Jacobian::IDENTITY
            };
        }
        let i = h.double().square();
        let j = h.mul(&i);
        let v = u1.mul(&i);
        let x3 = r.square().sub(&j).sub(&v.double());
        let y3 = r.mul(&v.sub(&x3)).sub(&s1.mul(&j).double());
        let z3 = self.z.add(&q.z).square().sub(&z1z1).sub(&z2z2).mul(&h);
        Jacobian {
            x: x3,
            y: y3,
            z: z3,
        }
    }

    /// Equality as points (variable time).
    #[cfg(test)]
    pub(crate) fn eq_point(&self, q: &Jacobian) -> bool {
        match (self.is_identity(), q.is_identity()) {
            (true, true) => true,
            (false, false) => {
                let z1z1 = self.z.square();
                let z2z2 = q.z.square();
                self.x.mul(&z2z2) == q.x.mul(&z1z1)
                    && self.y.mul(&z2z2.mul(&q.z)) == q.y.mul(&z1z1.mul(&self.z))
            }
            _ => false,
        }
    }
}

impl From<Affine> for Jacobian {
    fn from(p: Affine) -> Jacobian {
        Jacobian {
            x: p.x,
            y: p.y,
            z: Fe::ONE,
        }
    }
}

/// Affine forms of many Jacobian points (none at infinity) with one inversion
/// (Montgomery's trick), variable time.
pub(crate) fn batch_to_affine(points: &[Jacobian]) -> Vec<Affine> {
    let n = points.len();
    if n == 0 {
        return Vec::new();
    }
    // prefix[i] = z0·z1·…·zi
    let mut prefix = Vec::with_capacity(n);
    let mut acc = Fe::ONE;
    for p in points {
        acc = acc.mul(&p.z);
        prefix.push(acc);
    }
    let mut inv = acc.invert();
    let mut out = vec![Affine::default(); n];
    for i in (0..n).rev() {
        let zi = if i == 0 { inv } else { inv.mul(&prefix[i - 1]) };
        if i > 0 {
            inv = inv.mul(&points[i].z);
        }
        let zi2 = zi.square();
        out[i] = Affine {
            x: points[i].x.mul(&zi2),
            y: points[i].y.mul(&zi2.mul(&zi)),
        };
    }
    out
}
