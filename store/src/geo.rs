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
        let r = self.encoded();
        let lat = i64::from(qlat);
        let lon = i64::from(qlon);
        if lat < r.min_lat || lat > r.max_lat {
            return false;
        }
        if r.crosses {
            lon >= r.min_lon || lon <= r.max_lon
        } else {
            lon >= r.min_lon && lon <= r.max_lon
        }
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
}
