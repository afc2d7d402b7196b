//! Geometry shared by both backends: Lucene's point quantisation and OpenSearch's geotile grid.
//!
//! OpenSearch stores a `geo_point` as two 32-bit integers and runs every query and aggregation on the
//! decoded (quantised) values; the SQLite store keeps the same integers so that a bounding box and a
//! tile cell select exactly the same documents on both backends.

/// The deepest geotile precision OpenSearch accepts; SQLite stores tile coordinates at this zoom and
/// derives shallower ones by shifting (exact, because scaling by a power of two is exact).
pub const MAX_ZOOM: u8 = 29;

/// Web-mercator latitude limit: tiles above/below it are clamped to the edge rows.
const LATITUDE_MASK: f64 = 85.051_128_779_806_6;

const LAT_DECODE: f64 = 180.0 / 4_294_967_296.0;
const LON_DECODE: f64 = 360.0 / 4_294_967_296.0;

/// Lucene's `encodeLatitude`: floor(lat / step), 90 folded into the last cell.
pub fn encode_lat(lat: f64) -> i32 {
    let lat = if lat >= 90.0 {
        90.0_f64.next_down()
    } else {
        lat
    };
    (lat / LAT_DECODE).floor() as i32
}

/// Lucene's `encodeLongitude`.
pub fn encode_lon(lon: f64) -> i32 {
    let lon = if lon >= 180.0 {
        180.0_f64.next_down()
    } else {
        lon
    };
    (lon / LON_DECODE).floor() as i32
}

/// Lucene's `encodeLatitudeCeil`, used for the lower bound of a box query.
pub fn encode_lat_ceil(lat: f64) -> i64 {
    (lat / LAT_DECODE).ceil() as i64
}

/// Lucene's `encodeLongitudeCeil`.
pub fn encode_lon_ceil(lon: f64) -> i64 {
    (lon / LON_DECODE).ceil() as i64
}

/// Decodes a quantised latitude.
pub fn decode_lat(v: i32) -> f64 {
    f64::from(v) * LAT_DECODE
}

/// Decodes a quantised longitude.
pub fn decode_lon(v: i32) -> f64 {
    f64::from(v) * LON_DECODE
}

/// The tile column at `zoom` of a (decoded) longitude, as OpenSearch's `GeoTileUtils.getXTile`.
pub fn tile_x(lon: f64, zoom: u8) -> u32 {
    let tiles = (1u64 << zoom) as f64;
    let x = ((lon + 180.0) / 360.0 * tiles).floor();
    x.clamp(0.0, tiles - 1.0) as u32
}

/// The tile row at `zoom` of a (decoded) latitude, as OpenSearch's `GeoTileUtils.getYTile` (which
/// takes the sine as the cosine of the complement).
pub fn tile_y(lat: f64, zoom: u8) -> u32 {
    let tiles = (1u64 << zoom) as f64;
    let lat = lat.clamp(-LATITUDE_MASK, LATITUDE_MASK);
    let sin = (std::f64::consts::FRAC_PI_2 - lat.to_radians()).cos();
    let y =
        ((0.5 - ((1.0 + sin) / (1.0 - sin)).ln() / (4.0 * std::f64::consts::PI)) * tiles).floor();
    if y.is_nan() {
        return 0;
    }
    y.clamp(0.0, tiles - 1.0) as u32
}

/// A geotile cell: `zoom/x/y` in the slippy-map scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tile {
    /// Precision.
    pub zoom: u8,
    /// Column, 0 at longitude -180.
    pub x: u32,
    /// Row, 0 at the north.
    pub y: u32,
}

impl Tile {
    /// The cell holding a quantised point.
    pub fn of(qlat: i32, qlon: i32, zoom: u8) -> Tile {
        Tile {
            zoom,
            x: tile_x(decode_lon(qlon), zoom),
            y: tile_y(decode_lat(qlat), zoom),
        }
    }

    /// Parses OpenSearch's `"z/x/y"` key.
    pub fn parse(key: &str) -> Option<Tile> {
        let mut it = key.split('/');
        let zoom: u8 = it.next()?.parse().ok()?;
        let x: u32 = it.next()?.parse().ok()?;
        let y: u32 = it.next()?.parse().ok()?;
        if it.next().is_some()
            || zoom > MAX_ZOOM
            || u64::from(x) >= 1u64 << zoom
            || u64::from(y) >= 1u64 << zoom
        {
            return None;
        }
        Some(Tile { zoom, x, y })
    }

    /// The `"z/x/y"` key.
    pub fn key(&self) -> String {
        format!("{}/{}/{}", self.zoom, self.x, self.y)
    }

    /// `[west, south, east, north]` in degrees.
    pub fn bounds(&self) -> [f64; 4] {
        let tiles = (1u64 << self.zoom) as f64;
        let lon = |x: f64| x / tiles * 360.0 - 180.0;
        let lat = |y: f64| {
            let n = std::f64::consts::PI - 2.0 * std::f64::consts::PI * y / tiles;
            n.sinh().atan().to_degrees()
        };
        let (x, y) = (f64::from(self.x), f64::from(self.y));
        [lon(x), lat(y + 1.0), lon(x + 1.0), lat(y)]
    }

    /// The cell's centre in web-mercator (where the map draws it).
    pub fn center(&self) -> (f64, f64) {
        let tiles = (1u64 << self.zoom) as f64;
        let x = f64::from(self.x) + 0.5;
        let y = f64::from(self.y) + 0.5;
        let n = std::f64::consts::PI - 2.0 * std::f64::consts::PI * y / tiles;
        (n.sinh().atan().to_degrees(), x / tiles * 360.0 - 180.0)
    }
}

/// A bounding box `w,s,e,n` in degrees; `w > e` crosses the antimeridian.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bbox {
    /// West.
    pub west: f64,
    /// South.
    pub south: f64,
    /// East.
    pub east: f64,
    /// North.
    pub north: f64,
}

impl Bbox {
    /// The whole world.
    pub const WORLD: Bbox = Bbox {
        west: -180.0,
        south: -90.0,
        east: 180.0,
        north: 90.0,
    };

    /// Whether a quantised point is inside, exactly as Lucene's `LatLonPoint.newBoxQuery` decides.
    pub fn contains_q(&self, qlat: i32, qlon: i32) -> bool {
        self.encoded().contains(qlat, qlon)
    }

    /// Ranges `[start, end)` of level-[`MAX_ZOOM`] Morton keys ([`morton`]), sorted and disjoint,
    /// whose tiles hold every point inside the box: the tiles of the finest level at which the box
    /// (widened by far more than float error) touches at most `max_tiles` of them, adjacent ones
    /// merged. A reader of points kept in Morton order reads these ranges, then checks each point
    /// against the box.
    pub fn morton_ranges(&self, max_tiles: u64) -> Vec<(u64, u64)> {
        let (w, e) = (self.west - COVER_MARGIN_DEG, self.east + COVER_MARGIN_DEG);
        let (s, n) = (self.south - COVER_MARGIN_DEG, self.north + COVER_MARGIN_DEG);
        let crosses = self.west > self.east;
        let span = |z: u8| {
            let last = (1u32 << z) - 1;
            let cols = if crosses {
                vec![(tile_x(w, z), last), (0, tile_x(e, z))]
            } else {
                vec![(tile_x(w, z), tile_x(e, z))]
            };
            (cols, (tile_y(n, z), tile_y(s, z)))
        };
        let count = |z: u8| {
            let (cols, (y0, y1)) = span(z);
            let w: u64 = cols.iter().map(|(a, b)| u64::from(b - a) + 1).sum();
            w * (u64::from(y1 - y0) + 1)
        };
        let mut z = 0;
        while z < MAX_ZOOM && count(z + 1) <= max_tiles {
            z += 1;
        }
        let (cols, (y0, y1)) = span(z);
        let shift = 2 * u32::from(MAX_ZOOM - z);
        let mut keys: Vec<u64> = Vec::new();
        for (x0, x1) in cols {
            for x in x0..=x1 {
                keys.extend((y0..=y1).map(|y| morton(x, y)));
            }
        }
        keys.sort_unstable();
        let mut out: Vec<(u64, u64)> = Vec::new();
        for k in keys {
            let (a, b) = (k << shift, (k + 1) << shift);
            match out.last_mut() {
                Some(last) if a <= last.1 => last.1 = last.1.max(b),
                _ => out.push((a, b)),
            }
        }
        out
    }

    /// The encoded bounds a box query compares quantised values with.
    pub fn encoded(&self) -> EncodedBox {
        EncodedBox {
            min_lat: encode_lat_ceil(self.south),
            max_lat: i64::from(encode_lat(self.north)),
            min_lon: encode_lon_ceil(self.west),
            max_lon: i64::from(encode_lon(self.east)),
            crosses: self.west > self.east,
        }
    }

    /// The number of tiles at `zoom` this box touches (an upper bound of the cells it can return).
    pub fn tile_span(&self, zoom: u8) -> u64 {
        let x0 = u64::from(tile_x(self.west, zoom));
        let x1 = u64::from(tile_x(self.east, zoom));
        let y0 = u64::from(tile_y(self.north, zoom));
        let y1 = u64::from(tile_y(self.south, zoom));
        let tiles = 1u64 << zoom;
        let w = if x1 >= x0 {
            x1 - x0 + 1
        } else {
            tiles - x0 + x1 + 1
        };
        w * (y1.saturating_sub(y0) + 1)
    }
}

/// Degrees a box is widened by before the tiles holding its points are listed
/// ([`Bbox::morton_ranges`]): far above the float error of decoding a point and of [`tile_y`].
const COVER_MARGIN_DEG: f64 = 1e-6;

/// The Morton (Z-order) key of a tile: the column's bits in the even places, the row's in the odd
/// ones. A level-`z` tile's key shifted left by `2 * (MAX_ZOOM - z)` is the first key of the
/// level-[`MAX_ZOOM`] tiles inside it, and those keys run up to the next tile's.
pub fn morton(x: u32, y: u32) -> u64 {
    spread(x) | (spread(y) << 1)
}

/// The column and row of a Morton key ([`morton`]).
pub fn unmorton(m: u64) -> (u32, u32) {
    (squeeze(m), squeeze(m >> 1))
}

fn spread(v: u32) -> u64 {
    let mut v = u64::from(v);
    v = (v | (v << 16)) & 0x0000_ffff_0000_ffff;
    v = (v | (v << 8)) & 0x00ff_00ff_00ff_00ff;
    v = (v | (v << 4)) & 0x0f0f_0f0f_0f0f_0f0f;
    v = (v | (v << 2)) & 0x3333_3333_3333_3333;
    (v | (v << 1)) & 0x5555_5555_5555_5555
}

fn squeeze(m: u64) -> u32 {
    let mut v = m & 0x5555_5555_5555_5555;
    v = (v | (v >> 1)) & 0x3333_3333_3333_3333;
    v = (v | (v >> 2)) & 0x0f0f_0f0f_0f0f_0f0f;
    v = (v | (v >> 4)) & 0x00ff_00ff_00ff_00ff;
    v = (v | (v >> 8)) & 0x0000_ffff_0000_ffff;
    ((v | (v >> 16)) & 0xffff_ffff) as u32
}

/// Encoded box bounds (inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodedBox {
    /// Lowest encoded latitude.
    pub min_lat: i64,
    /// Highest encoded latitude.
    pub max_lat: i64,
    /// Lowest encoded longitude (the western edge).
    pub min_lon: i64,
    /// Highest encoded longitude (the eastern edge).
    pub max_lon: i64,
    /// Whether west > east.
    pub crosses: bool,
}

impl EncodedBox {
    /// Whether a quantised point is inside, exactly as Lucene's `LatLonPoint.newBoxQuery` decides.
    pub fn contains(&self, qlat: i32, qlon: i32) -> bool {
        let lat = i64::from(qlat);
        let lon = i64::from(qlon);
        if lat < self.min_lat || lat > self.max_lat {
            return false;
        }
        if self.crosses {
            lon >= self.min_lon || lon <= self.max_lon
        } else {
            lon >= self.min_lon && lon <= self.max_lon
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_match_known_cells() {
        // Paris at zoom 10 is tile 518/352 in every slippy-map implementation.
        let (lat, lon) = (48.8566, 2.3522);
        let t = Tile::of(encode_lat(lat), encode_lon(lon), 10);
        assert_eq!(t.key(), "10/518/352");
        assert_eq!(Tile::of(encode_lat(lat), encode_lon(lon), 0).key(), "0/0/0");
    }

    #[test]
    fn shifting_equals_direct_computation() {
        for &(lat, lon) in &[
            (48.8566, 2.3522),
            (-33.86, 151.2),
            (40.71, -74.0),
            (85.0, 179.99),
            (-89.9, -180.0),
        ] {
            let deep = Tile::of(encode_lat(lat), encode_lon(lon), MAX_ZOOM);
            for z in 0..=MAX_ZOOM {
                let t = Tile::of(encode_lat(lat), encode_lon(lon), z);
                assert_eq!(t.x, deep.x >> (MAX_ZOOM - z), "x at {z} for {lat},{lon}");
                assert_eq!(t.y, deep.y >> (MAX_ZOOM - z), "y at {z} for {lat},{lon}");
            }
        }
    }

    #[test]
    fn keys_round_trip_and_bounds_contain_the_point() {
        let t = Tile::of(encode_lat(51.5), encode_lon(-0.12), 7);
        assert_eq!(Tile::parse(&t.key()), Some(t));
        let [w, s, e, n] = t.bounds();
        assert!(
            w <= -0.12 && -0.12 < e && s <= 51.5 && 51.5 < n,
            "{:?}",
            t.bounds()
        );
        assert_eq!(Tile::parse("3/8/0"), None);
        assert_eq!(Tile::parse("x"), None);
    }

    #[test]
    fn box_follows_lucene_on_edges_and_antimeridian() {
        let b = Bbox {
            west: 170.0,
            south: -10.0,
            east: -170.0,
            north: 10.0,
        };
        assert!(b.contains_q(encode_lat(0.0), encode_lon(175.0)));
        assert!(b.contains_q(encode_lat(0.0), encode_lon(-175.0)));
        assert!(!b.contains_q(encode_lat(0.0), encode_lon(0.0)));
        assert!(Bbox::WORLD.contains_q(encode_lat(90.0), encode_lon(180.0)));
        assert!(Bbox::WORLD.contains_q(encode_lat(-90.0), encode_lon(-180.0)));
        assert_eq!(Bbox::WORLD.tile_span(2), 16);
    }

    #[test]
    fn morton_keys_round_trip_and_nest() {
        for (x, y) in [
            (0, 0),
            (1, 0),
            (0, 1),
            (5, 9),
            ((1 << 29) - 1, (1 << 29) - 1),
        ] {
            assert_eq!(unmorton(morton(x, y)), (x, y));
        }
        let (x, y) = (123_456_789 >> 2, 98_765_432 >> 2);
        assert_eq!(morton(x, y) >> (2 * 20), morton(x >> 20, y >> 20));
    }

    /// Every point a box holds (edges and corners included, on both sides of the antimeridian)
    /// lies in one of its Morton ranges, and the ranges stay few.
    #[test]
    fn morton_ranges_hold_every_point_of_the_box() {
        let boxes = [
            Bbox::WORLD,
            Bbox {
                west: -12.0,
                south: 35.0,
                east: 20.0,
                north: 60.0,
            },
            Bbox {
                west: -0.3,
                south: 51.4,
                east: 0.1,
                north: 51.6,
            },
            Bbox {
                west: 170.0,
                south: -10.0,
                east: -170.0,
                north: 10.0,
            },
            Bbox {
                west: -180.0,
                south: 84.0,
                east: 180.0,
                north: 90.0,
            },
            Bbox {
                west: 0.0,
                south: 0.0,
                east: 0.0,
                north: 0.0,
            },
        ];
        let mut seed = 7u64;
        let mut unit = || {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (seed >> 11) as f64 / (1u64 << 53) as f64
        };
        for b in boxes {
            let ranges = b.morton_ranges(64);
            assert!(!ranges.is_empty() && ranges.len() <= 64, "{b:?} {ranges:?}");
            assert!(ranges.windows(2).all(|w| w[0].1 < w[1].0), "{ranges:?}");
            let e = b.encoded();
            let lats = [e.min_lat, e.min_lat + 1, e.max_lat - 1, e.max_lat];
            let lons = [e.min_lon, e.min_lon + 1, e.max_lon - 1, e.max_lon];
            let mut points: Vec<(i64, i64)> = Vec::new();
            for la in lats {
                points.extend(lons.iter().map(|lo| (la, *lo)));
            }
            for _ in 0..2_000 {
                let la = e.min_lat + ((e.max_lat - e.min_lat) as f64 * unit()) as i64;
                let lo = if e.crosses {
                    e.min_lon + ((1i64 << 32) as f64 * unit()) as i64
                } else {
                    e.min_lon + ((e.max_lon - e.min_lon) as f64 * unit()) as i64
                };
                points.push((la, lo));
            }
            for (la, lo) in points {
                let wrap = |v: i64| ((v + (1 << 31)).rem_euclid(1 << 32) - (1 << 31)) as i32;
                let (qlat, qlon) = (wrap(la), wrap(lo));
                if !b.contains_q(qlat, qlon) {
                    continue;
                }
                let t = Tile::of(qlat, qlon, MAX_ZOOM);
                let k = morton(t.x, t.y);
                assert!(
                    ranges.iter().any(|(a, z)| (*a..*z).contains(&k)),
                    "{b:?}: {qlat},{qlon}"
                );
            }
        }
    }
}
