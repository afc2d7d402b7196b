//! Pure helpers behind the SQLite store's rollups: how a time range splits into whole hours, whole
//! minutes and raw edges, and which geotiles of a level lie wholly inside a box.
//!
//! The rollup tables hold counts per (hour x label), (minute x label), (hour x hashtag x label) and
//! (geotile level x hour x tile x label). A query over a time range sums the rollup rows of the whole
//! buckets it covers and reads only the partial buckets at its edges from the posts table, so its
//! work is bounded by the number of buckets, not of posts.

use crate::geo::{encode_lat, encode_lat_ceil, encode_lon, encode_lon_ceil, Bbox, Tile};

/// Milliseconds in a minute bucket.
pub const MINUTE: i64 = 60_000;
/// Milliseconds in an hour bucket.
pub const HOUR: i64 = 3_600_000;
/// Geotile levels kept in the geo rollup: 0 to this one.
pub const GEO_MAX_LEVEL: u8 = 8;
/// How many levels finer than the answer's precision the geo rollup is read at (thinner edges).
pub const GEO_FINER: u8 = 2;
/// Degrees a tile must keep from a box's edge to count as inside (far above float error).
const MARGIN_DEG: f64 = 1e-6;

/// One piece of a time range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece {
    /// Whole hour buckets starting in `[lo, hi)` (`lo`, `hi` hour-aligned or unbounded).
    Hours(i64, i64),
    /// Whole minute buckets starting in `[lo, hi)`.
    Minutes(i64, i64),
    /// Posts with `t` in `[lo, hi)`, read from the posts table.
    Raw(i64, i64),
}

fn floor_to(t: i64, step: i64) -> i64 {
    if t == i64::MIN || t == i64::MAX {
        return t;
    }
    t - t.rem_euclid(step)
}

fn ceil_to(t: i64, step: i64) -> i64 {
    if t == i64::MIN || t == i64::MAX {
        return t;
    }
    let f = floor_to(t, step);
    if f == t {
        t
    } else {
        f.saturating_add(step)
    }
}

/// Splits `[from, to)` (unbounded where `None`) into whole hours, whole minutes (when `minutes`)
/// and raw edges. The pieces are disjoint and cover the range.
pub fn split(from: Option<i64>, to: Option<i64>, minutes: bool) -> Vec<Piece> {
    let f = from.unwrap_or(i64::MIN);
    let t = to.unwrap_or(i64::MAX);
    let mut out = Vec::new();
    if f >= t {
        return out;
    }
    let (hf, ht) = (ceil_to(f, HOUR), floor_to(t, HOUR));
    let mut rest = Vec::new();
    if hf < ht {
        out.push(Piece::Hours(hf, ht));
        rest.push((f, hf));
        rest.push((ht, t));
    } else {
        rest.push((f, t));
    }
    for (a, b) in rest.into_iter().filter(|(a, b)| a < b) {
        let (mf, mt) = (ceil_to(a, MINUTE), floor_to(b, MINUTE));
        if minutes && mf < mt {
            out.push(Piece::Minutes(mf, mt));
            for (x, y) in [(a, mf), (mt, b)] {
                if x < y {
                    out.push(Piece::Raw(x, y));
                }
            }
        } else {
            out.push(Piece::Raw(a, b));
        }
    }
    out
}

/// Tiles of one level wholly inside a box, and the encoded core of the box whose points surely
/// fall in those tiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interior {
    /// Level.
    pub zoom: u8,
    /// Columns `x0..=x1`.
    pub x0: u32,
    /// Last column.
    pub x1: u32,
    /// Rows `y0..=y1`.
    pub y0: u32,
    /// Last row.
    pub y1: u32,
    /// Encoded latitudes `lat_lo..=lat_hi` lie in rows `y0..=y1` (with the box's longitudes core).
    pub lat_lo: i64,
    /// Upper encoded latitude of the core.
    pub lat_hi: i64,
    /// Encoded longitudes `lon_lo..=lon_hi` lie in columns `x0..=x1`.
    pub lon_lo: i64,
    /// Upper encoded longitude of the core.
    pub lon_hi: i64,
}

impl Interior {
    /// Whether a tile of this level is one of the interior ones.
    pub fn holds(&self, x: u32, y: u32) -> bool {
        (self.x0..=self.x1).contains(&x) && (self.y0..=self.y1).contains(&y)
    }
}

/// The tiles of level `zoom` wholly inside `b` (which must not cross the antimeridian), or `None`.
pub fn interior(b: &Bbox, zoom: u8) -> Option<Interior> {
    let last = (1u32 << zoom) - 1;
    let tile = |x: u32, y: u32| Tile { zoom, x, y }.bounds();
    let col_in = |x: u32| {
        let [w, _, e, _] = tile(x, 0);
        (if x == 0 {
            b.west <= -180.0
        } else {
            w >= b.west + MARGIN_DEG
        }) && (if x == last {
            b.east >= 180.0
        } else {
            e <= b.east - MARGIN_DEG
        })
    };
    let row_in = |y: u32| {
        let [_, s, _, n] = tile(0, y);
        (if y == 0 {
            b.north >= 90.0
        } else {
            n <= b.north - MARGIN_DEG
        }) && (if y == last {
            b.south <= -90.0
        } else {
            s >= b.south + MARGIN_DEG
        })
    };
    let x0 = (0..=last).find(|&x| col_in(x))?;
    let x1 = (x0..=last).take_while(|&x| col_in(x)).last()?;
    let y0 = (0..=last).find(|&y| row_in(y))?;
    let y1 = (y0..=last).take_while(|&y| row_in(y)).last()?;
    let [w, _, _, n] = tile(x0, y0);
    let [_, s, e, _] = tile(x1, y1);
    let e_box = b.encoded();
    // The core: points strictly inside the interior tiles' bounds, kept MARGIN_DEG away from them.
    let lat_lo = if y1 == last {
        e_box.min_lat
    } else {
        encode_lat_ceil(s + MARGIN_DEG)
    };
    let lat_hi = if y0 == 0 {
        e_box.max_lat
    } else {
        i64::from(encode_lat(n - MARGIN_DEG))
    };
    let lon_lo = if x0 == 0 {
        e_box.min_lon
    } else {
        encode_lon_ceil(w + MARGIN_DEG)
    };
    let lon_hi = if x1 == last {
        e_box.max_lon
    } else {
        i64::from(encode_lon(e - MARGIN_DEG))
    };
    Some(Interior {
        zoom,
        x0,
        x1,
        y0,
        y1,
        lat_lo,
        lat_hi,
        lon_lo,
        lon_hi,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_covers_the_range_once() {
        assert_eq!(
            split(None, None, true),
            vec![Piece::Hours(i64::MIN, i64::MAX)]
        );
        let from = 3 * HOUR + 90_500;
        let to = 7 * HOUR + 5 * MINUTE + 10;
        assert_eq!(
            split(Some(from), Some(to), true),
            vec![
                Piece::Hours(4 * HOUR, 7 * HOUR),
                Piece::Minutes(3 * HOUR + 2 * MINUTE, 4 * HOUR),
                Piece::Raw(from, 3 * HOUR + 2 * MINUTE),
                Piece::Minutes(7 * HOUR, 7 * HOUR + 5 * MINUTE),
                Piece::Raw(7 * HOUR + 5 * MINUTE, to),
            ]
        );
        assert_eq!(
            split(Some(from), Some(from + 10), true),
            vec![Piece::Raw(from, from + 10)]
        );
        assert_eq!(
            split(Some(-HOUR - 1), None, false),
            vec![Piece::Hours(-HOUR, i64::MAX), Piece::Raw(-HOUR - 1, -HOUR)]
        );
        assert!(split(Some(5), Some(5), true).is_empty());
    }

    #[test]
    fn interior_tiles_lie_inside_the_box() {
        let all = interior(&Bbox::WORLD, 3).unwrap();
        assert_eq!((all.x0, all.x1, all.y0, all.y1), (0, 7, 0, 7));
        let b = Bbox {
            west: -12.0,
            south: 35.0,
            east: 20.0,
            north: 60.0,
        };
        let i = interior(&b, 6).unwrap();
        let [w, s, _, n] = Tile {
            zoom: 6,
            x: i.x0,
            y: i.y0,
        }
        .bounds();
        assert!(w >= b.west && n <= b.north && s >= b.south);
        let [_, s, e, _] = Tile {
            zoom: 6,
            x: i.x1,
            y: i.y1,
        }
        .bounds();
        assert!(e <= b.east && s >= b.south);
        assert!(i.lat_lo > b.encoded().min_lat && i.lon_hi < b.encoded().max_lon);
        let tiny = Bbox {
            west: 0.1,
            south: 0.1,
            east: 0.2,
            north: 0.2,
        };
        assert_eq!(interior(&tiny, 4), None);
    }
}
