//! Typed reads of JSON fields, each naming its dotted path in errors.

use serde_json::{Map, Value};

use crate::Error;

pub(crate) type Obj = Map<String, Value>;

/// A JSON object together with the dotted path it was found at.
#[derive(Clone)]
pub(crate) struct At<'a> {
    pub obj: &'a Obj,
    pub path: String,
}

impl<'a> At<'a> {
    pub fn root(obj: &'a Obj) -> Self {
        At {
            obj,
            path: String::new(),
        }
    }

    pub fn path_of(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// The value at `key`, treating JSON `null` as absent.
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.obj.get(key).filter(|v| !v.is_null())
    }

    pub fn opt_str(&self, key: &str) -> Result<Option<&'a str>, Error> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.wrong_type(key, "a string")),
        }
    }

    pub fn req_str(&self, key: &str) -> Result<&'a str, Error> {
        self.opt_str(key)?.ok_or_else(|| self.missing(key))
    }

    pub fn opt_obj(&self, key: &str) -> Result<Option<At<'a>>, Error> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Object(o)) => Ok(Some(At {
                obj: o,
                path: self.path_of(key),
            })),
            Some(_) => Err(self.wrong_type(key, "an object")),
        }
    }

    pub fn opt_array(&self, key: &str) -> Result<&'a [Value], Error> {
        match self.get(key) {
            None => Ok(&[]),
            Some(Value::Array(a)) => Ok(a),
            Some(_) => Err(self.wrong_type(key, "an array")),
        }
    }

    /// An id given as a decimal string (`key`) or, failing that, a number (`num_key`).
    pub fn id(&self, key: &str, num_key: Option<&str>) -> Result<Option<String>, Error> {
        if let Some(s) = self.opt_str(key)? {
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(self.invalid(key, format!("{s:?} is not a decimal id")));
            }
            return Ok(Some(s.to_owned()));
        }
        let Some(num_key) = num_key else {
            return Ok(None);
        };
        match self.get(num_key) {
            None => Ok(None),
            Some(Value::Number(n)) => match n.as_u64() {
                Some(id) => Ok(Some(id.to_string())),
                None => Err(self.invalid(num_key, format!("{n} is not a non-negative integer id"))),
            },
            Some(_) => Err(self.wrong_type(num_key, "a number")),
        }
    }

    pub fn missing(&self, key: &str) -> Error {
        Error::MissingField {
            field: self.path_of(key),
        }
    }

    pub fn wrong_type(&self, key: &str, expected: &'static str) -> Error {
        Error::WrongType {
            field: self.path_of(key),
            expected,
        }
    }

    pub fn invalid(&self, key: &str, reason: String) -> Error {
        Error::InvalidValue {
            field: self.path_of(key),
            reason,
        }
    }
}

pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Reads a `[a, b]` (or longer) array of numbers.
pub(crate) fn number_pair(v: &Value, field: &str) -> Result<(f64, f64), Error> {
    let wrong = || Error::WrongType {
        field: field.to_owned(),
        expected: "an array of two numbers",
    };
    let arr = v.as_array().ok_or_else(wrong)?;
    match arr.as_slice() {
        [a, b, ..] => Ok((a.as_f64().ok_or_else(wrong)?, b.as_f64().ok_or_else(wrong)?)),
        _ => Err(wrong()),
    }
}

/// Checks that a latitude and longitude are on Earth.
pub(crate) fn check_lat_lon(lat: f64, lon: f64, field: &str) -> Result<(f64, f64), Error> {
    let invalid = |reason: String| Error::InvalidValue {
        field: field.to_owned(),
        reason,
    };
    if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
        return Err(invalid(format!("latitude {lat} is outside -90..=90")));
    }
    if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
        return Err(invalid(format!("longitude {lon} is outside -180..=180")));
    }
    Ok((lat, lon))
}

/// A GeoJSON `Point` (`{"type":"Point","coordinates":[lon, lat]}`) as `(lat, lon)`.
pub(crate) fn geojson_point(at: &At<'_>, key: &str) -> Result<Option<(f64, f64)>, Error> {
    let Some(point) = at.opt_obj(key)? else {
        return Ok(None);
    };
    let Some(coords) = point.get("coordinates") else {
        return Err(point.missing("coordinates"));
    };
    let field = point.path_of("coordinates");
    let (lon, lat) = number_pair(coords, &field)?;
    check_lat_lon(lat, lon, &field).map(Some)
}

/// The centre of a `west, south, east, north` box, taking the short way across the antimeridian.
pub(crate) fn bbox_centre(
    west: f64,
    south: f64,
    east: f64,
    north: f64,
    field: &str,
) -> Result<(f64, f64), Error> {
    check_lat_lon(south, west, field)?;
    check_lat_lon(north, east, field)?;
    if south > north {
        return Err(Error::InvalidValue {
            field: field.to_owned(),
            reason: format!("south {south} is north of north {north}"),
        });
    }
    let lat = (south + north) / 2.0;
    let mut lon = (west + east) / 2.0;
    if west > east {
        // The box crosses the antimeridian: its centre is on the far side.
        lon += if lon > 0.0 { -180.0 } else { 180.0 };
    }
    Ok((lat, lon))
}

/// Decodes the HTML entities X puts in post text (`&amp;`, `&lt;`, `&gt;` and any other).
pub(crate) fn decode_entities(s: &str) -> String {
    if s.contains('&') {
        html_escape::decode_html_entities(s).into_owned()
    } else {
        s.to_owned()
    }
}

/// Strings at `key` inside each object of `items`, e.g. `entities.hashtags[].text`.
pub(crate) fn strings_in(items: &[Value], key: &str, field: &str) -> Result<Vec<String>, Error> {
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        match item.get(key) {
            Some(Value::String(s)) if !s.is_empty() => out.push(s.clone()),
            None | Some(Value::Null) => {}
            Some(Value::String(_)) => {}
            Some(_) => {
                return Err(Error::WrongType {
                    field: format!("{field}[].{key}"),
                    expected: "a string",
                })
            }
        }
    }
    Ok(out)
}
