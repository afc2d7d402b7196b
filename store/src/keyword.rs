//! Keyword search in the SQLite store: a posting list per word and counts per word, hour and label,
//! so a one-word search costs what its answer needs, not a pass over every matching post.
//!
//! - `post_words (word, label, t, rid, qlat, qlon, c32, tags)`, clustered by word, then label, then
//!   time: each word's posting list carries the few columns the aggregations read (`tags`: the
//!   post's hashtags as ids of `tag_ids`, [`tag_blob`]), so a search reads one contiguous range per
//!   label, seeks straight to a time range, and never touches the wide `posts` rows (only the
//!   answer's points and posts are read from there).
//! - `roll_word (word, h, label, n, s)` and `roll_word_tag (word, h, tag, label, n)`: per-word twins
//!   of `roll_hour` and `roll_tag`, kept on every write. Whole hours of a range come from them, the
//!   partial hours at its edges from the posting list.
//! - `roll_word_geo (word, label, h, x, y, n, s)`: counts per hour, geotile (level
//!   [`WORD_GEO_LEVEL`]) and label, for the words found in at least a set number of posts
//!   (`geo_words`; [`WORD_GEO_MIN_POSTS`] by default), kept on every write: the cells of a frequent
//!   word's map that lie wholly inside the box (all of them for the whole world) sum these instead
//!   of reading its postings, when the map's precision is at most that level. A word gets its
//!   rollup (built from its posting list) in the write that brings it to that count.
//! - `word_places (word, m, rid, label, t, qlat, qlon, c32)`: the located postings of the same
//!   frequent words again, clustered by the Morton key `m` of their level-29 tile
//!   ([`crate::geo::morton`]): the rest of a map reads the few key ranges that cover the box
//!   ([`crate::geo::Bbox::morton_ranges`]) and checks each point against it, instead of the word's
//!   whole posting list; finer cells wholly inside the box are one `count` each. Kept, and built,
//!   with `roll_word_geo`.
//! - `posts_words`: FTS5 over the same words (contentless, `detail=none`), for searches of several
//!   words: it gives the posts holding all of them (a set of row ids), and every answer walks the
//!   rarest word's posting list against that list (the newest posts newest-first, stopping once the
//!   page is full); the top hashtags are counted from the `tags` of those postings.
//!
//! Posts and searches are split into words by one function ([`text_words`] and
//! [`crate::query::search_words`] share [`split_words`]), and the FTS5 tokenizer is set to split
//! on spaces only, so the posting lists, the rollups and FTS5 agree on what matches.

use std::collections::{BTreeMap, HashMap};

use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection, OptionalExtension};
use sentimap_core::sentiment::Label;

use crate::geo::{morton, tile_x, tile_y, unmorton, Tile, MAX_ZOOM};
use crate::query::{
    auto_interval, bucket_start, split_words, Filters, GeoQuery, LabelCounts, MapPoint, Posts,
    PostsQuery, Summary, SummaryQuery, TimelineQuery, MAX_WORD_CHARS,
};
use crate::rollup::{interior, split, Piece, HOUR};
use crate::sqlite::{code_label, finish_summary, label_code, raw_cells, CellSums, RangeRead};
use crate::Error;

/// Bumped when the word tables change meaning; a store with another version rebuilds them (and a
/// store from before they existed gets them) when it opens.
/// Version 2: postings carry their post's hashtag ids (`tags`, `tag_ids`).
pub(crate) const WORDS_VERSION: i64 = 2;

/// The tables (FTS5 is created by [`rebuild_if_stale`], which replaces the older `posts_fts`).
pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS post_words (
    word  TEXT NOT NULL,
    label INTEGER NOT NULL,
    t     INTEGER NOT NULL,
    rid   INTEGER NOT NULL,
    qlat  INTEGER,
    qlon  INTEGER,
    c32   REAL NOT NULL,
    tags  BLOB,
    PRIMARY KEY (word, label, t, rid)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tag_ids (id INTEGER PRIMARY KEY, tag TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS roll_word (
    word TEXT NOT NULL, h INTEGER NOT NULL, label INTEGER NOT NULL, n INTEGER NOT NULL, s REAL NOT NULL,
    PRIMARY KEY (word, h, label)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS roll_word_tag (
    word TEXT NOT NULL, h INTEGER NOT NULL, tag TEXT NOT NULL, label INTEGER NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (word, h, tag, label)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS geo_words (word TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS roll_word_geo (
    word TEXT NOT NULL, label INTEGER NOT NULL, h INTEGER NOT NULL, x INTEGER NOT NULL,
    y INTEGER NOT NULL, n INTEGER NOT NULL, s REAL NOT NULL,
    PRIMARY KEY (word, label, h, x, y)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS word_places (
    word TEXT NOT NULL, m INTEGER NOT NULL, rid INTEGER NOT NULL, label INTEGER NOT NULL,
    t INTEGER NOT NULL, qlat INTEGER NOT NULL, qlon INTEGER NOT NULL, c32 REAL NOT NULL,
    PRIMARY KEY (word, m, rid)
) WITHOUT ROWID;
";

/// Bumped when `roll_word_geo` or `word_places` change meaning; a store with another version (or
/// none) rebuilds them when it opens. Version 2: `word_places`.
pub(crate) const WORD_GEO_VERSION: i64 = 2;

/// Most tiles whose key ranges a box read of `word_places` covers the box with
/// ([`crate::geo::Bbox::morton_ranges`]): few seeks, and at most a band of tiles around the box
/// read for nothing.
const PLACE_TILES: u64 = 64;

/// The geotile level of `roll_word_geo`: the finest precision a map of the whole world asks for
/// (at level 7 the world holds more than [`crate::query::MAX_CELLS`] tiles); coarser cells are sums
/// of these tiles.
pub const WORD_GEO_LEVEL: u8 = 6;

/// Default count of posts from which a word gets a geotile rollup. A rarer word's map reads its
/// postings (at most this many, a few milliseconds); a frequent word's reads at most one rollup row
/// per hour, tile and label, and only frequent words pay for that table.
pub const WORD_GEO_MIN_POSTS: u64 = 20_000;

/// A `roll_word_geo` key: word, label, hour, tile column and row at [`WORD_GEO_LEVEL`].
pub(crate) type WordGeoKey = (String, i64, i64, u32, u32);

/// FTS5 over the space-joined words: every character but white space is part of a token, so its
/// tokens are exactly [`text_words`]; only rowids are kept (`detail=none`): searches are plain ANDs.
const FTS: &str = "
CREATE VIRTUAL TABLE posts_words USING fts5 (
    words, content = '', contentless_delete = 1, detail = none,
    tokenize = \"unicode61 remove_diacritics 0 categories 'L* M* N* P* S* C*'\"
);
";

/// The distinct searchable words of a post's text, sorted: the runs of letters and digits that
/// [`crate::query::search_words`] would make of it, lower-cased. Words longer than a search word may
/// be are left out (no search can name them).
pub fn text_words(text: &str) -> Vec<String> {
    let mut out: Vec<String> = split_words(text)
        .filter(|w| w.chars().count() <= MAX_WORD_CHARS)
        .map(str::to_lowercase)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// A post's hashtag ids (ascending) as `post_words.tags` holds them: each id as a LEB128 varint
/// (one byte up to 127, two up to 16,383), `NULL` for none.
pub(crate) fn tag_blob(ids: &[i64]) -> Option<Vec<u8>> {
    if ids.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(ids.len() * 2);
    for &id in ids {
        let mut v = id as u64;
        while v >= 0x80 {
            out.push((v as u8 & 0x7f) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }
    Some(out)
}

/// The ids of a [`tag_blob`], handed to `each`.
fn each_tag_id(blob: &[u8], mut each: impl FnMut(i64)) {
    let (mut v, mut shift) = (0u64, 0u32);
    for &b in blob {
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            each(v as i64);
            (v, shift) = (0, 0);
        } else {
            shift += 7;
        }
    }
}

/// A post as its rows in the word index see it.
pub(crate) struct Posting<'a> {
    /// Row id in `posts`.
    pub(crate) rid: i64,
    /// Label code.
    pub(crate) label: i64,
    /// Time, ms.
    pub(crate) t: i64,
    /// The compound as stored (f32 precision).
    pub(crate) c32: f64,
    /// Quantised latitude and longitude, and the level-29 tile.
    pub(crate) point: Option<(i32, i32, u32, u32)>,
    /// [`text_words`] of the text.
    pub(crate) words: &'a [String],
}

/// Writes and removes the word-index rows of posts (postings, places of frequent words, FTS5) in
/// one write transaction; hashtag ids and the set of frequent words are looked up once per
/// transaction. A word that becomes frequent in the transaction gets its places afterwards, from
/// its postings ([`apply_word_geo`]).
pub(crate) struct WordWrites<'c> {
    conn: &'c Connection,
    tag_ids: HashMap<String, i64>,
    geo: HashMap<String, bool>,
}

impl<'c> WordWrites<'c> {
    pub(crate) fn new(conn: &'c Connection) -> WordWrites<'c> {
        WordWrites {
            conn,
            tag_ids: HashMap::new(),
            geo: HashMap::new(),
        }
    }

    fn tag_id(&mut self, tag: &str) -> Result<i64, Error> {
        if let Some(id) = self.tag_ids.get(tag) {
            return Ok(*id);
        }
        let found: Option<i64> = self
            .conn
            .prepare_cached("SELECT id FROM tag_ids WHERE tag = ?1")?
            .query_row([tag], |r| r.get(0))
            .optional()?;
        let id = match found {
            Some(id) => id,
            None => {
                self.conn
                    .prepare_cached("INSERT INTO tag_ids (tag) VALUES (?1)")?
                    .execute([tag])?;
                self.conn.last_insert_rowid()
            }
        };
        self.tag_ids.insert(tag.to_owned(), id);
        Ok(id)
    }

    fn is_geo(&mut self, word: &str) -> Result<bool, Error> {
        if let Some(is) = self.geo.get(word) {
            return Ok(*is);
        }
        let is = is_geo_word(self.conn, word)?;
        self.geo.insert(word.to_owned(), is);
        Ok(is)
    }

    /// Adds the rows of a new post with hashtags `tags` (as the `tags` table holds them).
    pub(crate) fn insert(&mut self, p: &Posting<'_>, tags: &[String]) -> Result<(), Error> {
        let mut ids = tags
            .iter()
            .map(|t| self.tag_id(t))
            .collect::<Result<Vec<i64>, Error>>()?;
        ids.sort_unstable();
        ids.dedup();
        let blob = tag_blob(&ids);
        let (qlat, qlon) = (p.point.map(|q| q.0), p.point.map(|q| q.1));
        let mut ins = self.conn.prepare_cached(
            "INSERT INTO post_words (word, label, t, rid, qlat, qlon, c32, tags)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        for w in p.words {
            ins.execute(rusqlite::params![
                w, p.label, p.t, p.rid, qlat, qlon, p.c32, blob
            ])?;
        }
        if let Some((qlat, qlon, x, y)) = p.point {
            let m = morton(x, y) as i64;
            let mut place = self.conn.prepare_cached(
                "INSERT INTO word_places (word, m, rid, label, t, qlat, qlon, c32)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            for w in p.words {
                if self.is_geo(w)? {
                    place.execute(rusqlite::params![
                        w, m, p.rid, p.label, p.t, qlat, qlon, p.c32
                    ])?;
                }
            }
        }
        self.conn
            .prepare_cached("INSERT INTO posts_words (rowid, words) VALUES (?1, ?2)")?
            .execute(rusqlite::params![p.rid, p.words.join(" ")])?;
        Ok(())
    }

    /// Removes the rows of a stored post (its `point` needs only the tile).
    pub(crate) fn remove(&mut self, p: &Posting<'_>) -> Result<(), Error> {
        let mut del = self.conn.prepare_cached(
            "DELETE FROM post_words WHERE word = ?1 AND label = ?2 AND t = ?3 AND rid = ?4",
        )?;
        for w in p.words {
            del.execute(rusqlite::params![w, p.label, p.t, p.rid])?;
        }
        if let Some((_, _, x, y)) = p.point {
            let m = morton(x, y) as i64;
            let mut del = self.conn.prepare_cached(
                "DELETE FROM word_places WHERE word = ?1 AND m = ?2 AND rid = ?3",
            )?;
            for w in p.words {
                if self.is_geo(w)? {
                    del.execute(rusqlite::params![w, m, p.rid])?;
                }
            }
        }
        self.conn
            .prepare_cached("DELETE FROM posts_words WHERE rowid = ?1")?
            .execute([p.rid])?;
        Ok(())
    }
}

/// The label codes a filter keeps (all three when it names none), so a posting-list read is a seek
/// per label rather than a scan of the word's whole list.
fn label_codes(f: &Filters) -> Vec<i64> {
    if f.labels.is_empty() {
        vec![0, 1, 2]
    } else {
        f.labels.iter().map(|l| label_code(*l)).collect()
    }
}

fn marks(n: usize) -> String {
    vec!["?"; n].join(",")
}

fn bounds(f: &Filters) -> (i64, i64) {
    (f.from_ms.unwrap_or(i64::MIN), f.to_ms.unwrap_or(i64::MAX))
}

/// A range read of a one-word search: whole hours from a per-word rollup (`hours`: columns, then
/// `FROM` a table aliased `w` with `word`, `label` and `h`), the rest from the posting list (`rows`:
/// columns, then `FROM post_words w ..`); `group` ends both.
fn word_read<'a>(
    before: &'a [Value],
    labels: usize,
    hours: &str,
    rows: &str,
    group: &str,
) -> RangeRead<'a> {
    let m = marks(labels);
    RangeRead {
        hours: format!(
            "SELECT {hours} WHERE w.word = ? AND w.label IN ({m}) AND w.h >= ? AND w.h < ?{group}"
        ),
        minutes: None,
        rows: format!(
            "SELECT {rows} WHERE w.word = ? AND w.label IN ({m}) AND w.t >= ? AND w.t < ?{group}"
        ),
        before,
        after: &[],
    }
}

/// `word, labels..`: the parameters before the range of every posting-list read.
fn word_params(word: &str, labels: &[i64]) -> Vec<Value> {
    let mut p = vec![Value::Text(word.to_owned())];
    p.extend(labels.iter().map(|l| Value::Integer(*l)));
    p
}

/// Counts and compound sums per label of the posts holding `word`.
fn totals(conn: &Connection, word: &str, f: &Filters) -> Result<(LabelCounts, f64), Error> {
    let codes = label_codes(f);
    let before = word_params(word, &codes);
    word_read(
        &before,
        codes.len(),
        "w.label, sum(w.n), total(w.s) FROM roll_word w",
        "w.label, count(*), total(w.c32) FROM post_words w",
        " GROUP BY w.label",
    )
    .label_sums(conn, f)
}

/// The oldest and newest times of the posts holding `word`: two index seeks per label.
fn extent(conn: &Connection, word: &str, f: &Filters) -> Result<(Option<i64>, Option<i64>), Error> {
    let (lo, hi) = bounds(f);
    let mut first: Option<i64> = None;
    let mut last: Option<i64> = None;
    for label in label_codes(f) {
        for (agg, slot) in [("min", &mut first), ("max", &mut last)] {
            let v: Option<i64> = conn
                .prepare_cached(&format!(
                    "SELECT {agg}(t) FROM post_words WHERE word = ?1 AND label = ?2 AND t >= ?3 AND t < ?4"
                ))?
                .query_row(rusqlite::params![word, label, lo, hi], |r| r.get(0))?;
            if let Some(v) = v {
                *slot = Some(match (agg, *slot) {
                    (_, None) => v,
                    ("min", Some(x)) => x.min(v),
                    (_, Some(x)) => x.max(v),
                });
            }
        }
    }
    Ok((first, last))
}

/// `/api/summary` for a one-word search.
pub(crate) fn summary(conn: &Connection, word: &str, q: &SummaryQuery) -> Result<Summary, Error> {
    let f = &q.filters;
    let (labels, sum) = totals(conn, word, f)?;
    let total = labels.total();
    let span = if total > 0 {
        extent(conn, word, f)?
    } else {
        (None, None)
    };
    let tags = if q.top > 0 && total > 0 {
        let codes = label_codes(f);
        let before = word_params(word, &codes);
        word_read(
            &before,
            codes.len(),
            "w.tag, sum(w.n) FROM roll_word_tag w",
            "g.tag, count(*) FROM post_words w JOIN tags g ON g.rid = w.rid",
            " GROUP BY 1",
        )
        .tag_counts(conn, f)?
    } else {
        BTreeMap::new()
    };
    Ok(finish_summary(labels, sum, span, tags, q.top))
}

/// `/api/timeline` for a one-word search: whole hours from the word rollup when the interval is
/// made of hours, everything else from the posting list.
pub(crate) fn timeline(
    conn: &Connection,
    word: &str,
    q: &TimelineQuery,
) -> Result<crate::Timeline, Error> {
    let f = &q.filters;
    let interval = match q.interval {
        Some(i) => i,
        None => {
            let (lo, hi) = extent(conn, word, f)?;
            auto_interval(f.from_ms.or(lo).unwrap_or(0), f.to_ms.or(hi).unwrap_or(0))
        }
    };
    let iv = interval.1;
    let codes = label_codes(f);
    let before = word_params(word, &codes);
    let pieces = if iv >= HOUR && iv % HOUR == 0 {
        split(f.from_ms, f.to_ms, false)
    } else {
        let (lo, hi) = bounds(f);
        vec![Piece::Raw(lo, hi)]
    };
    let mut counts: BTreeMap<(i64, i64), u64> = BTreeMap::new();
    word_read(
        &before,
        codes.len(),
        "w.h, w.label, w.n FROM roll_word w",
        "w.t, w.label, 1 FROM post_words w",
        "",
    )
    .pieces(conn, pieces, |_, r| {
        let n: i64 = r.get(2)?;
        if n > 0 {
            *counts
                .entry((bucket_start(r.get(0)?, iv), r.get(1)?))
                .or_default() += n as u64;
        }
        Ok(())
    })?;
    let triples = counts
        .into_iter()
        .map(|((b, l), n)| Ok((b, code_label(l)?, n)))
        .collect::<Result<Vec<(i64, Label, u64)>, Error>>()?;
    Ok(crate::Timeline::from_counts(interval, triples))
}

/// Whether `word` has a per-word geotile rollup (it is one of the frequent words).
fn is_geo_word(conn: &Connection, word: &str) -> Result<bool, Error> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM geo_words WHERE word = ?1")?
        .query_row([word], |_| Ok(()))
        .optional()?
        .is_some())
}

/// `/api/geo` for a one-word search. A frequent word's map comes from its places
/// ([`geo_places`], with the geotile rollup for the cells inside the box when the precision is at
/// most its level), unless reading them would cost more than its postings in the time range
/// ([`places_pay`]); every other map from one pass over the word's postings in the range (by label
/// and time). Cells are summed here; the wide rows are read only for an answer of points.
pub(crate) fn geo(conn: &Connection, word: &str, q: &GeoQuery) -> Result<crate::Geo, Error> {
    let rolled = q.precision() <= WORD_GEO_LEVEL && q.bbox.west <= q.bbox.east;
    if is_geo_word(conn, word)? && (rolled || places_pay(conn, word, q)?) {
        return geo_places(conn, word, q, None);
    }
    geo_scan(conn, word, q, |_| true)
}

/// Whether `word` has places (it is a frequent word) and reading them over the box costs fewer
/// rows than its postings in the query's time range. Without a time range they always do; with
/// one, the two counts come from the rollups: the word's posts in the range, and its posts of
/// every time in the level-[`WORD_GEO_LEVEL`] tiles around the box.
fn places_pay(conn: &Connection, word: &str, q: &GeoQuery) -> Result<bool, Error> {
    if !is_geo_word(conn, word)? {
        return Ok(false);
    }
    let f = &q.filters;
    if f.from_ms.is_none() && f.to_ms.is_none() {
        return Ok(true);
    }
    let in_range = totals(conn, word, f)?.0.total();
    let b = &q.bbox;
    let z = WORD_GEO_LEVEL;
    let (x0, x1) = (tile_x(b.west, z), tile_x(b.east, z));
    let (y0, y1) = (tile_y(b.north, z), tile_y(b.south, z));
    let codes = label_codes(f);
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT x, y, n FROM roll_word_geo WHERE word = ? AND label IN ({})",
        marks(codes.len())
    ))?;
    let mut rows = stmt.query(params_from_iter(word_params(word, &codes)))?;
    let mut in_box = 0u64;
    while let Some(r) = rows.next()? {
        let (x, y): (u32, u32) = (r.get(0)?, r.get(1)?);
        // A tile beside the box may hold points of the ranges read: one tile of slack each way.
        let col = if x0 <= x1 {
            x + 1 >= x0 && x <= x1 + 1
        } else {
            x + 1 >= x0 || x <= x1 + 1
        };
        if col && y + 1 >= y0 && y <= y1 + 1 {
            in_box += r.get::<_, i64>(2)?.max(0) as u64;
        }
        if in_box > in_range {
            return Ok(false);
        }
    }
    Ok(true)
}

/// `/api/geo` from `word`'s places (it must be a frequent word). The cells wholly inside the box
/// ([`inner_tiles`]) need no point checked against it: with no post filter (`keep` `None`) they
/// are counted by SQLite, one aggregate per cell; else their places are read unchecked. The places
/// in the rest of the key ranges covering the box are read and checked against the box. All are
/// checked against the time range and labels, and kept when their post `keep` accepts. An answer
/// of points reads them all.
fn geo_places(
    conn: &Connection,
    word: &str,
    q: &GeoQuery,
    keep: Option<&dyn Fn(i64) -> bool>,
) -> Result<crate::Geo, Error> {
    let cover = q.bbox.morton_ranges(PLACE_TILES);
    let mut inner = inner_tiles(q);
    let mut inner_ranges: Vec<(u64, u64)> = Vec::new();
    for &(a, b, _, _) in &inner {
        match inner_ranges.last_mut() {
            Some(last) if last.1 == a => last.1 = b,
            _ => inner_ranges.push((a, b)),
        }
    }
    let mut found = Found::default();
    match keep {
        None => {
            if q.precision() <= WORD_GEO_LEVEL {
                count_inner_rolled(conn, word, q, &inner, &mut found)?;
            } else if inner.len() <= INNER_QUERIES {
                count_inner(conn, word, q, &inner, &mut found)?;
            } else {
                inner.clear();
                inner_ranges.clear();
            }
            if !inner.is_empty() && found.total <= q.max_points as u64 {
                // The answer is made of points: read them all, inner cells included, from the
                // places or (a short time range) the postings.
                if !places_pay(conn, word, q)? {
                    return geo_scan(conn, word, q, |_| true);
                }
                found = Found::default();
                place_rows(conn, word, q, &cover, None, true, &mut found)?;
                return found.finish(conn, q);
            }
        }
        Some(_) => place_rows(conn, word, q, &inner_ranges, keep, false, &mut found)?,
    }
    let edges = subtract(&cover, &inner_ranges);
    place_rows(conn, word, q, &edges, keep, true, &mut found)?;
    found.finish(conn, q)
}

/// Most cells wholly inside a box that [`inner_tiles`] lists: every cell of a level-6 map (the
/// finest a map of the whole world gets, whose inner cells come from the rollup); finer ones cost
/// an aggregate query each, even when empty.
const INNER_CELLS: u64 = 4_096;

/// Most inner cells counted by one aggregate query each ([`count_inner`]); beyond, their places
/// are read.
const INNER_QUERIES: usize = 1_024;

/// The finest precision [`inner_tiles`] serves: finer cells are small, few points each, and
/// finding the tiles inside the box walks every column and row of the level.
const INNER_MAX_LEVEL: u8 = 12;

/// ` AND` conditions on `label` and `t` for the filters (none where they keep everything), and
/// their parameters.
fn label_time_conds(f: &Filters) -> (String, Vec<Value>) {
    let mut sql = String::new();
    let mut ps = Vec::new();
    if !f.labels.is_empty() {
        let codes = label_codes(f);
        sql.push_str(&format!(" AND label IN ({})", marks(codes.len())));
        ps.extend(codes.into_iter().map(Value::Integer));
    }
    if let Some(from) = f.from_ms {
        sql.push_str(" AND t >= ?");
        ps.push(Value::Integer(from));
    }
    if let Some(to) = f.to_ms {
        sql.push_str(" AND t < ?");
        ps.push(Value::Integer(to));
    }
    (sql, ps)
}

/// The cells (tiles at the answer's precision) wholly inside the box, as key ranges with their
/// column and row, in key order: every point in them is in the box. None when the box crosses the
/// antimeridian, the precision is finer than [`INNER_MAX_LEVEL`] or there are more than
/// [`INNER_CELLS`].
fn inner_tiles(q: &GeoQuery) -> Vec<(u64, u64, u32, u32)> {
    let p = q.precision();
    if q.bbox.west > q.bbox.east || p > INNER_MAX_LEVEL {
        return Vec::new();
    }
    let Some(i) = interior(&q.bbox, p) else {
        return Vec::new();
    };
    if u64::from(i.x1 - i.x0 + 1) * u64::from(i.y1 - i.y0 + 1) > INNER_CELLS {
        return Vec::new();
    }
    let shift = 2 * u32::from(MAX_ZOOM - p);
    let mut out: Vec<(u64, u64, u32, u32)> = Vec::new();
    for x in i.x0..=i.x1 {
        out.extend((i.y0..=i.y1).map(|y| {
            let k = morton(x, y);
            (k << shift, (k + 1) << shift, x, y)
        }));
    }
    out.sort_unstable();
    out
}

/// Sums into `found` the posts in the `inner` cells ([`inner_tiles`]) when the answer's precision
/// is at most [`WORD_GEO_LEVEL`]: whole hours from `roll_word_geo` (its tiles nest in the cells),
/// the partial hours at the range's edges from the posting list.
fn count_inner_rolled(
    conn: &Connection,
    word: &str,
    q: &GeoQuery,
    inner: &[(u64, u64, u32, u32)],
    found: &mut Found,
) -> Result<(), Error> {
    let (Some(x0), Some(x1)) = (
        inner.iter().map(|t| t.2).min(),
        inner.iter().map(|t| t.2).max(),
    ) else {
        return Ok(());
    };
    let (Some(y0), Some(y1)) = (
        inner.iter().map(|t| t.3).min(),
        inner.iter().map(|t| t.3).max(),
    ) else {
        return Ok(());
    };
    let p = q.precision();
    let f = &q.filters;
    let codes = label_codes(f);
    let before = word_params(word, &codes);
    let m = marks(codes.len());
    let read = RangeRead {
        hours: format!(
            "SELECT x, y, label, n, s FROM roll_word_geo
             WHERE word = ? AND label IN ({m}) AND h >= ? AND h < ?"
        ),
        minutes: None,
        rows: format!(
            "SELECT qlat, qlon, label, 1, c32 FROM post_words
             WHERE word = ? AND label IN ({m}) AND t >= ? AND t < ? AND qlat IS NOT NULL"
        ),
        before: &before,
        after: &[],
    };
    let up = WORD_GEO_LEVEL - p;
    read.each(conn, f.from_ms, f.to_ms, |piece, r| {
        let (x, y) = match piece {
            Piece::Hours(..) => (r.get::<_, u32>(0)? >> up, r.get::<_, u32>(1)? >> up),
            Piece::Minutes(..) | Piece::Raw(..) => {
                let t = Tile::of(r.get(0)?, r.get(1)?, MAX_ZOOM);
                let shift = MAX_ZOOM - p;
                (t.x >> shift, t.y >> shift)
            }
        };
        if !(x0..=x1).contains(&x) || !(y0..=y1).contains(&y) {
            return Ok(());
        }
        let n = r.get::<_, i64>(3)?.max(0) as u64;
        let c = found.cells.entry((x, y)).or_default();
        c.0.add(code_label(r.get(2)?)?, n);
        c.1 += r.get::<_, f64>(4)?;
        found.total += n;
        Ok(())
    })
}

/// Sums into `found` the places in the `inner` cells ([`inner_tiles`]), one aggregate query each.
fn count_inner(
    conn: &Connection,
    word: &str,
    q: &GeoQuery,
    inner: &[(u64, u64, u32, u32)],
    found: &mut Found,
) -> Result<(), Error> {
    let (conds, cps) = label_time_conds(&q.filters);
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT sum(label = 0), sum(label = 1), sum(label = 2), total(c32) FROM word_places
         WHERE word = ? AND m >= ? AND m < ?{conds}"
    ))?;
    for &(a, b, x, y) in inner {
        let mut ps = vec![
            Value::Text(word.to_owned()),
            Value::Integer(a as i64),
            Value::Integer(b as i64),
        ];
        ps.extend(cps.iter().cloned());
        let (n0, n1, n2, s): (Option<i64>, Option<i64>, Option<i64>, f64) = stmt
            .query_row(params_from_iter(ps), |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?;
        let ns = [n0, n1, n2].map(|n| n.unwrap_or(0).max(0) as u64);
        let n: u64 = ns.iter().sum();
        if n > 0 {
            let c = found.cells.entry((x, y)).or_default();
            for (code, n) in ns.into_iter().enumerate() {
                c.0.add(code_label(code as i64)?, n);
            }
            c.1 += s;
            found.total += n;
        }
    }
    Ok(())
}

/// Sorted disjoint half-open ranges `ranges` minus `holes` (sorted, disjoint).
fn subtract(ranges: &[(u64, u64)], holes: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let mut h = 0;
    for &(mut a, b) in ranges {
        while h < holes.len() && holes[h].1 <= a {
            h += 1;
        }
        let mut k = h;
        while a < b {
            match holes.get(k) {
                Some(&(ha, hb)) if ha < b => {
                    if ha > a {
                        out.push((a, ha));
                    }
                    a = a.max(hb);
                    k += 1;
                }
                _ => {
                    out.push((a, b));
                    break;
                }
            }
        }
    }
    out
}

/// Reads `word`'s places in the key ranges `ranges` into `found`: each checked against the
/// filters, `keep` and, when `check`, the box. Places come in key order, so the points of one
/// cell mostly come together: they are summed in a run before the cell's sums are looked up.
fn place_rows(
    conn: &Connection,
    word: &str,
    q: &GeoQuery,
    ranges: &[(u64, u64)],
    keep: Option<&dyn Fn(i64) -> bool>,
    check: bool,
    found: &mut Found,
) -> Result<(), Error> {
    let e = q.bbox.encoded();
    let (conds, cps) = label_time_conds(&q.filters);
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT m, rid, label, c32{} FROM word_places WHERE word = ? AND m >= ? AND m < ?{conds}",
        if check { ", qlat, qlon" } else { "" }
    ))?;
    let shift = MAX_ZOOM - q.precision();
    // The current run: cell, counts per label code, compound sum.
    let mut run: Option<((u32, u32), [u64; 3], f64)> = None;
    let flush =
        |run: Option<((u32, u32), [u64; 3], f64)>, found: &mut Found| -> Result<(), Error> {
            if let Some((cell, ns, s)) = run {
                let c = found.cells.entry(cell).or_default();
                for (code, n) in ns.into_iter().enumerate() {
                    c.0.add(code_label(code as i64)?, n);
                }
                c.1 += s;
            }
            Ok(())
        };
    for &(a, b) in ranges {
        let mut ps = vec![
            Value::Text(word.to_owned()),
            Value::Integer(a as i64),
            Value::Integer(b as i64),
        ];
        ps.extend(cps.iter().cloned());
        let mut rows = stmt.query(params_from_iter(ps))?;
        while let Some(r) = rows.next()? {
            let rid: i64 = r.get(1)?;
            if (check && !e.contains(r.get(4)?, r.get(5)?)) || keep.is_some_and(|k| !k(rid)) {
                continue;
            }
            let (x, y) = unmorton(r.get::<_, i64>(0)? as u64);
            let cell = (x >> shift, y >> shift);
            let label: i64 = r.get(2)?;
            let Some(slot) = usize::try_from(label).ok().filter(|l| *l < 3) else {
                return Err(Error::Shape(format!("label code {label} in the database")));
            };
            found.total += 1;
            if found.rids.len() <= q.max_points {
                found.rids.push(rid);
            }
            if run.as_ref().is_none_or(|(c, _, _)| *c != cell) {
                flush(run.take(), found)?;
                run = Some((cell, [0; 3], 0.0));
            }
            if let Some((_, ns, s)) = run.as_mut() {
                ns[slot] += 1;
                *s += r.get::<_, f64>(3)?;
            }
        }
    }
    flush(run, found)
}

/// The points found by a box read of postings: their count, the first of their row ids, and
/// their sums per cell at the answer's precision.
#[derive(Default)]
struct Found {
    total: u64,
    rids: Vec<i64>,
    cells: CellSums,
}

impl Found {
    fn add(
        &mut self,
        q: &GeoQuery,
        rid: i64,
        cell: (u32, u32),
        label: i64,
        c32: f64,
    ) -> Result<(), Error> {
        self.total += 1;
        if self.rids.len() <= q.max_points {
            self.rids.push(rid);
        }
        let c = self.cells.entry(cell).or_default();
        c.0.add(code_label(label)?, 1);
        c.1 += c32;
        Ok(())
    }

    /// The answer: the points (read from `posts`) when there are few enough, else the cells.
    fn finish(self, conn: &Connection, q: &GeoQuery) -> Result<crate::Geo, Error> {
        let precision = q.precision();
        if self.total > q.max_points as u64 {
            return Ok(crate::Geo::from_cells(
                self.total,
                precision,
                raw_cells(precision, self.cells),
            ));
        }
        let mut one =
            conn.prepare_cached("SELECT id, lat, lon, label, compound FROM posts WHERE rid = ?1")?;
        let mut points = Vec::with_capacity(self.rids.len());
        for rid in self.rids {
            if let Some(p) = one
                .query_row([rid], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, f64>(1)?,
                        r.get::<_, f64>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, f64>(4)?,
                    ))
                })
                .optional()?
            {
                points.push(MapPoint {
                    id: p.0,
                    lat: p.1,
                    lon: p.2,
                    label: code_label(p.3)?,
                    compound: p.4,
                });
            }
        }
        Ok(crate::Geo::from_points(self.total, precision, points))
    }
}

/// `/api/geo` from `word`'s postings in the box, those whose post `keep` accepts.
fn geo_scan(
    conn: &Connection,
    word: &str,
    q: &GeoQuery,
    keep: impl Fn(i64) -> bool,
) -> Result<crate::Geo, Error> {
    let f = &q.filters;
    let precision = q.precision();
    let (lo, hi) = bounds(f);
    let codes = label_codes(f);
    let e = q.bbox.encoded();
    let lon_cond = if e.crosses {
        "(qlon >= ? OR qlon <= ?)"
    } else {
        "qlon BETWEEN ? AND ?"
    };
    let sql = format!(
        "SELECT rid, label, qlat, qlon, c32 FROM post_words
         WHERE word = ? AND label IN ({}) AND t >= ? AND t < ? AND qlat BETWEEN ? AND ? AND {lon_cond}",
        marks(codes.len())
    );
    let mut ps = word_params(word, &codes);
    ps.extend([lo, hi, e.min_lat, e.max_lat, e.min_lon, e.max_lon].map(Value::Integer));
    let shift = MAX_ZOOM - precision;
    let mut found = Found::default();
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params_from_iter(ps))?;
    while let Some(r) = rows.next()? {
        let rid: i64 = r.get(0)?;
        if !keep(rid) {
            continue;
        }
        let tile = Tile::of(r.get(2)?, r.get(3)?, MAX_ZOOM);
        found.add(
            q,
            rid,
            (tile.x >> shift, tile.y >> shift),
            r.get(1)?,
            r.get(4)?,
        )?;
    }
    found.finish(conn, q)
}

/// `/api/posts` for a one-word search: the total from the rollups, the newest posts by walking
/// each label's posting list backwards from the end of the range (`ORDER BY t DESC LIMIT`), then
/// every post tied with the last one kept, so ties break by id exactly as the engine does.
pub(crate) fn posts(conn: &Connection, word: &str, q: &PostsQuery) -> Result<Posts, Error> {
    let f = &q.filters;
    let total = totals(conn, word, f)?.0.total();
    let (lo, hi) = bounds(f);
    let codes = label_codes(f);
    let mut newest: Vec<i64> = Vec::new();
    for label in &codes {
        let mut stmt = conn.prepare_cached(
            "SELECT t FROM post_words WHERE word = ?1 AND label = ?2 AND t >= ?3 AND t < ?4
             ORDER BY t DESC LIMIT ?5",
        )?;
        let ts = stmt
            .query_map(
                rusqlite::params![word, label, lo, hi, q.limit as i64],
                |r| r.get::<_, i64>(0),
            )?
            .collect::<Result<Vec<_>, _>>()?;
        newest.extend(ts);
    }
    newest.sort_unstable_by(|a, b| b.cmp(a));
    // The limit-th newest time: every post at or after it is a candidate (ties included).
    let floor = match newest.get(q.limit.saturating_sub(1)) {
        Some(t) if newest.len() >= q.limit => (*t).max(lo),
        _ => lo,
    };
    let mut found: Vec<(i64, String, String)> = Vec::new();
    let mut pick = conn.prepare_cached(
        "SELECT w.t, p.id, p.doc FROM post_words w JOIN posts p ON p.rid = w.rid
         WHERE w.word = ?1 AND w.label = ?2 AND w.t >= ?3 AND w.t < ?4",
    )?;
    for label in &codes {
        let mut rows = pick.query(rusqlite::params![word, label, floor, hi])?;
        while let Some(r) = rows.next()? {
            found.push((r.get(0)?, r.get(1)?, r.get(2)?));
        }
    }
    Ok(Posts {
        total,
        posts: newest_first(found, q.limit)?,
    })
}

/// FTS5 query requiring every word. Words are letters and digits only, quoted anyway.
pub(crate) fn fts_query(words: &[String]) -> String {
    words
        .iter()
        .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A set of row ids, one bit each: membership is one load, where a sorted list costs a binary
/// search per posting walked.
struct RidSet {
    bits: Vec<u64>,
    len: u64,
}

impl RidSet {
    fn new(rids: impl IntoIterator<Item = i64>) -> RidSet {
        let mut bits: Vec<u64> = Vec::new();
        let mut len = 0;
        for rid in rids {
            let Ok(i) = usize::try_from(rid) else {
                continue;
            };
            if bits.len() <= i >> 6 {
                bits.resize((i >> 6) + 1, 0);
            }
            let mask = 1u64 << (i & 63);
            len += u64::from(bits[i >> 6] & mask == 0);
            bits[i >> 6] |= mask;
        }
        RidSet { bits, len }
    }

    fn holds(&self, rid: i64) -> bool {
        usize::try_from(rid)
            .ok()
            .and_then(|i| self.bits.get(i >> 6).map(|w| w & (1u64 << (i & 63)) != 0))
            .unwrap_or(false)
    }
}

/// The posts holding every word of a search of several: their row ids from FTS5, and the rarest
/// of the words (by the word rollup), whose posting list drives the reads; each of its postings is
/// kept when its post is one of those.
struct Matching {
    all: RidSet,
    rarest: String,
}

impl Matching {
    fn find(conn: &Connection, words: &[String]) -> Result<Matching, Error> {
        let mut stmt =
            conn.prepare_cached("SELECT rowid FROM posts_words WHERE posts_words MATCH ?1")?;
        let mut rows = stmt.query([fts_query(words)])?;
        let mut rids: Vec<i64> = Vec::new();
        while let Some(r) = rows.next()? {
            rids.push(r.get(0)?);
        }
        let all = RidSet::new(rids);
        let mut rarest: Option<(f64, &String)> = None;
        let mut count = conn.prepare_cached("SELECT total(n) FROM roll_word WHERE word = ?1")?;
        for w in words {
            let n: f64 = count.query_row([w], |r| r.get(0))?;
            if rarest.is_none_or(|(m, _)| n < m) {
                rarest = Some((n, w));
            }
        }
        Ok(Matching {
            all,
            rarest: rarest.map(|(_, w)| w.clone()).unwrap_or_default(),
        })
    }

    fn holds(&self, rid: i64) -> bool {
        self.all.holds(rid)
    }

    /// Hands `(label, t, c32, tags)` of every matching post in the filters' labels and range to
    /// `each`; `tags` (the posting's [`tag_blob`]) is read only when `with_tags`.
    fn each(
        &self,
        conn: &Connection,
        f: &Filters,
        with_tags: bool,
        mut each: impl FnMut(i64, i64, f64, Option<&[u8]>),
    ) -> Result<(), Error> {
        let (lo, hi) = bounds(f);
        let codes = label_codes(f);
        let mut ps = word_params(&self.rarest, &codes);
        ps.extend([lo, hi].map(Value::Integer));
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT rid, label, t, c32, {} FROM post_words
             WHERE word = ? AND label IN ({}) AND t >= ? AND t < ?",
            if with_tags { "tags" } else { "NULL" },
            marks(codes.len())
        ))?;
        let mut rows = stmt.query(params_from_iter(ps))?;
        while let Some(r) = rows.next()? {
            if self.holds(r.get(0)?) {
                let tags = match r.get_ref(4)? {
                    rusqlite::types::ValueRef::Blob(b) => Some(b),
                    _ => None,
                };
                each(r.get(1)?, r.get(2)?, r.get(3)?, tags);
            }
        }
        Ok(())
    }
}

/// `/api/summary` for a search of several words: counts, sums, times and hashtags (their ids on
/// each posting, names looked up for the top ones only) from the rarest word's postings that hold
/// the others.
pub(crate) fn summary_all(
    conn: &Connection,
    words: &[String],
    q: &SummaryQuery,
) -> Result<Summary, Error> {
    let f = &q.filters;
    let m = Matching::find(conn, words)?;
    let mut labels: BTreeMap<i64, u64> = BTreeMap::new();
    let (mut sum, mut first, mut last) = (0.0, None::<i64>, None::<i64>);
    let mut ids: BTreeMap<i64, i64> = BTreeMap::new();
    m.each(conn, f, q.top > 0, |label, t, c32, tags| {
        *labels.entry(label).or_default() += 1;
        sum += c32;
        first = Some(first.map_or(t, |x| x.min(t)));
        last = Some(last.map_or(t, |x| x.max(t)));
        if let Some(b) = tags {
            each_tag_id(b, |id| *ids.entry(id).or_default() += 1);
        }
    })?;
    let mut counts = LabelCounts::default();
    for (l, n) in labels {
        counts.add(code_label(l)?, n);
    }
    // Only the hashtags counted at least as often as the `top`-th can be in the answer (ties
    // break by name, so all of those are named).
    let mut by_count: Vec<i64> = ids.values().copied().collect();
    by_count.sort_unstable_by(|a, b| b.cmp(a));
    let bar = by_count.get(q.top.saturating_sub(1)).copied().unwrap_or(0);
    let mut tags: BTreeMap<String, i64> = BTreeMap::new();
    let mut name = conn.prepare_cached("SELECT tag FROM tag_ids WHERE id = ?1")?;
    for (id, n) in ids {
        if n >= bar && q.top > 0 {
            let tag: String = name.query_row([id], |r| r.get(0))?;
            tags.insert(tag, n);
        }
    }
    Ok(finish_summary(counts, sum, (first, last), tags, q.top))
}

/// `/api/timeline` for a search of several words, from the rarest word's postings that hold the
/// others.
pub(crate) fn timeline_all(
    conn: &Connection,
    words: &[String],
    q: &TimelineQuery,
) -> Result<crate::Timeline, Error> {
    let f = &q.filters;
    let m = Matching::find(conn, words)?;
    let mut found: Vec<(i64, i64)> = Vec::new();
    m.each(conn, f, false, |label, t, _, _| found.push((t, label)))?;
    let interval = match q.interval {
        Some(i) => i,
        None => {
            let lo = found.iter().map(|p| p.0).min();
            let hi = found.iter().map(|p| p.0).max();
            auto_interval(f.from_ms.or(lo).unwrap_or(0), f.to_ms.or(hi).unwrap_or(0))
        }
    };
    let iv = interval.1;
    let mut counts: BTreeMap<(i64, i64), u64> = BTreeMap::new();
    for (t, label) in found {
        *counts.entry((bucket_start(t, iv), label)).or_default() += 1;
    }
    let triples = counts
        .into_iter()
        .map(|((b, l), n)| Ok((b, code_label(l)?, n)))
        .collect::<Result<Vec<(i64, Label, u64)>, Error>>()?;
    Ok(crate::Timeline::from_counts(interval, triples))
}

/// `/api/geo` for a search of several words: the rarest word's postings in the box that hold the
/// others.
pub(crate) fn geo_all(
    conn: &Connection,
    words: &[String],
    q: &GeoQuery,
) -> Result<crate::Geo, Error> {
    let m = Matching::find(conn, words)?;
    if places_pay(conn, &m.rarest, q)? {
        return geo_places(conn, &m.rarest, q, Some(&|rid| m.holds(rid)));
    }
    geo_scan(conn, &m.rarest, q, |rid| m.holds(rid))
}

/// `/api/posts` for a search of several words. The posts holding every word come from FTS5 as a
/// sorted list of row ids (their number is the total when no label or time filter applies); the
/// newest of them by walking the rarest word's posting list backwards from the end of the range, one
/// label at a time, keeping the postings found in that list and stopping once the page is full (and
/// the posts tied with its last one are in). Only the page's posts are read from `posts`.
pub(crate) fn posts_all(
    conn: &Connection,
    words: &[String],
    q: &PostsQuery,
) -> Result<Posts, Error> {
    let f = &q.filters;
    let Matching { all, rarest } = Matching::find(conn, words)?;
    let holds = |rid: i64| all.holds(rid);
    let rarest = rarest.as_str();
    let (lo, hi) = bounds(f);
    let codes = label_codes(f);
    let total = if f.labels.is_empty() && f.from_ms.is_none() && f.to_ms.is_none() {
        all.len
    } else {
        let mut n = 0u64;
        let mut stmt = conn.prepare_cached(
            "SELECT rid FROM post_words WHERE word = ?1 AND label = ?2 AND t >= ?3 AND t < ?4",
        )?;
        for label in &codes {
            let mut rows = stmt.query(rusqlite::params![rarest, label, lo, hi])?;
            while let Some(r) = rows.next()? {
                n += u64::from(holds(r.get(0)?));
            }
        }
        n
    };
    let mut page: Vec<(i64, i64)> = Vec::new();
    let mut walk = conn.prepare_cached(
        "SELECT t, rid FROM post_words WHERE word = ?1 AND label = ?2 AND t >= ?3 AND t < ?4
         ORDER BY t DESC",
    )?;
    for label in &codes {
        let mut rows = walk.query(rusqlite::params![rarest, label, lo, hi])?;
        let (mut kept, mut last) = (0usize, None);
        while let Some(r) = rows.next()? {
            let (t, rid): (i64, i64) = (r.get(0)?, r.get(1)?);
            if kept >= q.limit && last != Some(t) {
                break;
            }
            if holds(rid) {
                page.push((t, rid));
                kept += 1;
                last = Some(t);
            }
        }
    }
    let mut one = conn.prepare_cached("SELECT id, doc FROM posts WHERE rid = ?1")?;
    let mut found: Vec<(i64, String, String)> = Vec::with_capacity(page.len());
    for (t, rid) in page {
        if let Some((id, doc)) = one
            .query_row([rid], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?
        {
            found.push((t, id, doc));
        }
    }
    Ok(Posts {
        total,
        posts: newest_first(found, q.limit)?,
    })
}

/// The page of posts from `(t, id, doc)` candidates: newest first, ties by id descending (as the
/// engine sorts), `limit` of them.
fn newest_first(
    mut found: Vec<(i64, String, String)>,
    limit: usize,
) -> Result<Vec<crate::query::PostItem>, Error> {
    found.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| b.1.cmp(&a.1)));
    found.truncate(limit);
    found
        .into_iter()
        .map(|(_, _, doc)| {
            serde_json::from_str::<sentimap_core::IndexDoc>(&doc)
                .map(crate::query::PostItem::from)
                .map_err(|e| Error::Shape(format!("stored document: {e}")))
        })
        .collect()
}

/// Writes one transaction's changes to `roll_word_geo` for the words that have that rollup, then
/// gives it to every word of `grown` (words with new posts) that has now reached `min_posts`,
/// built from its posting list (which already holds this transaction's posts).
pub(crate) fn apply_word_geo(
    tx: &Connection,
    changes: BTreeMap<WordGeoKey, (i64, f64)>,
    grown: impl IntoIterator<Item = String>,
    min_posts: u64,
) -> Result<(), Error> {
    let mut up = tx.prepare_cached(
        "INSERT INTO roll_word_geo (word, label, h, x, y, n, s) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (word, label, h, x, y) DO UPDATE SET n = n + excluded.n, s = s + excluded.s",
    )?;
    let mut del = tx.prepare_cached(
        "DELETE FROM roll_word_geo WHERE word = ?1 AND label = ?2 AND h = ?3 AND x = ?4 AND y = ?5
         AND n <= 0",
    )?;
    let mut hot: Option<(String, bool)> = None;
    for ((word, label, h, x, y), (n, s)) in changes {
        if hot.as_ref().is_none_or(|(w, _)| *w != word) {
            let is = is_geo_word(tx, &word)?;
            hot = Some((word.clone(), is));
        }
        if !hot.as_ref().is_some_and(|(_, is)| *is) || (n == 0 && s == 0.0) {
            continue;
        }
        up.execute(rusqlite::params![word, label, h, x, y, n, s])?;
        if n < 0 {
            del.execute(rusqlite::params![word, label, h, x, y])?;
        }
    }
    let mut count = tx.prepare_cached("SELECT total(n) FROM roll_word WHERE word = ?1")?;
    for word in grown {
        if is_geo_word(tx, &word)? {
            continue;
        }
        let n: f64 = count.query_row([&word], |r| r.get(0))?;
        if n >= min_posts as f64 {
            build_word_geo(tx, &word)?;
        }
    }
    Ok(())
}

/// Gives `word` its `roll_word_geo` rows, summed from its posting list, and its `word_places`
/// (written in key order).
fn build_word_geo(tx: &Connection, word: &str) -> Result<(), Error> {
    let shift = MAX_ZOOM - WORD_GEO_LEVEL;
    let mut sums: BTreeMap<(i64, i64, u32, u32), (i64, f64)> = BTreeMap::new();
    // (m, rid, label, t, qlat, qlon, c32)
    let mut places: Vec<(i64, i64, i64, i64, i32, i32, f64)> = Vec::new();
    let mut read = tx.prepare_cached(
        "SELECT label, t, qlat, qlon, c32, rid FROM post_words
         WHERE word = ?1 AND qlat IS NOT NULL",
    )?;
    let mut rows = read.query([word])?;
    while let Some(r) = rows.next()? {
        let (label, t, qlat, qlon, c32): (i64, i64, i32, i32, f64) =
            (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?);
        let tile = Tile::of(qlat, qlon, MAX_ZOOM);
        let key = (
            label,
            bucket_start(t, HOUR),
            tile.x >> shift,
            tile.y >> shift,
        );
        let e = sums.entry(key).or_default();
        e.0 += 1;
        e.1 += c32;
        let m = morton(tile.x, tile.y) as i64;
        places.push((m, r.get(5)?, label, t, qlat, qlon, c32));
    }
    let mut ins = tx.prepare_cached(
        "INSERT INTO roll_word_geo (word, label, h, x, y, n, s) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for ((label, h, x, y), (n, s)) in sums {
        ins.execute(rusqlite::params![word, label, h, x, y, n, s])?;
    }
    places.sort_unstable_by_key(|p| (p.0, p.1));
    let mut ins = tx.prepare_cached(
        "INSERT INTO word_places (word, m, rid, label, t, qlat, qlon, c32)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for (m, rid, label, t, qlat, qlon, c32) in places {
        ins.execute(rusqlite::params![word, m, rid, label, t, qlat, qlon, c32])?;
    }
    tx.prepare_cached("INSERT INTO geo_words (word) VALUES (?1)")?
        .execute([word])?;
    Ok(())
}

/// Builds `roll_word_geo` and `word_places` for every word found in at least `min_posts` posts
/// when they were made by another version or do not exist yet (a store written before them).
pub(crate) fn rebuild_word_geo_if_stale(
    conn: &mut Connection,
    min_posts: u64,
) -> Result<(), Error> {
    let v: Option<i64> = conn
        .query_row("SELECT v FROM meta WHERE k = 'word_geo'", [], |r| r.get(0))
        .optional()?;
    if v == Some(WORD_GEO_VERSION) {
        return Ok(());
    }
    let tx = conn.transaction()?;
    tx.execute_batch("DELETE FROM roll_word_geo; DELETE FROM word_places; DELETE FROM geo_words;")?;
    let words: Vec<String> = tx
        .prepare("SELECT word FROM roll_word GROUP BY word HAVING total(n) >= ?1")?
        .query_map([min_posts as f64], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    if !words.is_empty() {
        tracing::info!(
            words = words.len(),
            "Building the geotile rollup and the places of frequent words."
        );
    }
    for w in &words {
        build_word_geo(&tx, w)?;
    }
    tx.execute(
        "INSERT OR REPLACE INTO meta (k, v) VALUES ('word_geo', ?1)",
        [WORD_GEO_VERSION],
    )?;
    tx.commit()?;
    if !words.is_empty() {
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    }
    Ok(())
}

/// Word index version 1 -> 2: the postings gain their posts' hashtag ids. The posting lists are
/// copied in key order into the new layout (the B-tree written front to back, not rebuilt post by
/// post), each joined with its post's ids from a temporary table; FTS5 and the word rollups stay.
fn add_tag_ids(conn: &mut Connection) -> Result<(), Error> {
    tracing::info!("Adding hashtag ids to the keyword index of an older store.");
    let tx = conn.transaction()?;
    tx.execute_batch(
        "DELETE FROM tag_ids;
         INSERT INTO tag_ids (tag) SELECT DISTINCT tag FROM tags;
         DROP TABLE IF EXISTS temp.post_tags;
         CREATE TEMP TABLE post_tags (rid INTEGER PRIMARY KEY, tags BLOB NOT NULL);",
    )?;
    {
        let ids: HashMap<String, i64> = tx
            .prepare("SELECT tag, id FROM tag_ids")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        let mut read = tx.prepare("SELECT rid, tag FROM tags INDEXED BY tags_rid ORDER BY rid")?;
        let mut ins = tx.prepare("INSERT INTO temp.post_tags (rid, tags) VALUES (?1, ?2)")?;
        let mut flush = |rid: i64, post: &mut Vec<i64>| -> Result<(), Error> {
            post.sort_unstable();
            post.dedup();
            if let Some(blob) = tag_blob(post) {
                ins.execute(rusqlite::params![rid, blob])?;
            }
            post.clear();
            Ok(())
        };
        let mut rows = read.query([])?;
        let (mut cur, mut post): (Option<i64>, Vec<i64>) = (None, Vec::new());
        while let Some(r) = rows.next()? {
            let (rid, tag): (i64, String) = (r.get(0)?, r.get(1)?);
            if cur.is_some_and(|c| c != rid) {
                flush(cur.unwrap_or_default(), &mut post)?;
            }
            cur = Some(rid);
            post.extend(ids.get(&tag));
        }
        if let Some(rid) = cur {
            flush(rid, &mut post)?;
        }
    }
    tx.execute_batch("ALTER TABLE post_words RENAME TO post_words_v1;")?;
    tx.execute_batch(SCHEMA)?;
    tx.execute_batch(
        "INSERT INTO post_words (word, label, t, rid, qlat, qlon, c32, tags)
             SELECT w.word, w.label, w.t, w.rid, w.qlat, w.qlon, w.c32, g.tags
             FROM post_words_v1 w LEFT JOIN temp.post_tags g ON g.rid = w.rid;
         DROP TABLE post_words_v1;
         DROP TABLE temp.post_tags;",
    )?;
    tx.execute(
        "INSERT OR REPLACE INTO meta (k, v) VALUES ('words', ?1)",
        [WORDS_VERSION],
    )?;
    tx.commit()?;
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    Ok(())
}

/// Builds the word tables from the stored posts when they were made by another version, or do not
/// exist yet (a store written before them): old stores open and search as new ones do. Replaces
/// the older FTS5 table (`posts_fts`, over the raw text) with `posts_words`.
pub(crate) fn rebuild_if_stale(conn: &mut Connection) -> Result<(), Error> {
    let v: Option<i64> = conn
        .query_row("SELECT v FROM meta WHERE k = 'words'", [], |r| r.get(0))
        .optional()?;
    if v == Some(WORDS_VERSION) {
        return Ok(());
    }
    if v == Some(1) {
        return add_tag_ids(conn);
    }
    let n: i64 = conn.query_row("SELECT count(*) FROM posts", [], |r| r.get(0))?;
    if n > 0 {
        tracing::info!(posts = n, "Building the keyword index of an older store.");
    }
    let tx = conn.transaction()?;
    // `post_words` is made anew (its layout may be an older one), and the frequent words get their
    // rollup and places again afterwards ([`rebuild_word_geo_if_stale`]).
    tx.execute_batch(
        "DROP TABLE post_words; DELETE FROM roll_word; DELETE FROM roll_word_tag;
         DELETE FROM tag_ids; DELETE FROM geo_words; DELETE FROM roll_word_geo;
         DELETE FROM word_places; DELETE FROM meta WHERE k = 'word_geo';
         DROP TABLE IF EXISTS posts_fts; DROP TABLE IF EXISTS posts_words;",
    )?;
    tx.execute_batch(SCHEMA)?;
    tx.execute_batch(FTS)?;
    tx.execute(
        "INSERT INTO tag_ids (tag) SELECT DISTINCT tag FROM tags",
        [],
    )?;
    {
        let mut read = tx.prepare(
            "SELECT rid, label, t, qlat, qlon, tx, ty, c32, json_extract(doc, '$.text') FROM posts",
        )?;
        let mut tags_of = tx.prepare("SELECT tag FROM tags WHERE rid = ?1")?;
        let mut writes = WordWrites::new(&tx);
        let mut rows = read.query([])?;
        while let Some(r) = rows.next()? {
            let point = match (r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?) {
                (Some(qlat), Some(qlon), Some(x), Some(y)) => Some((qlat, qlon, x, y)),
                _ => None,
            };
            let text: Option<String> = r.get(8)?;
            let words = text_words(text.as_deref().unwrap_or_default());
            let rid: i64 = r.get(0)?;
            let tags = tags_of
                .query_map([rid], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            let p = Posting {
                rid,
                label: r.get(1)?,
                t: r.get(2)?,
                c32: r.get(7)?,
                point,
                words: &words,
            };
            writes.insert(&p, &tags)?;
        }
    }
    let h = format!("(t - (((t % {HOUR}) + {HOUR}) % {HOUR}))");
    let wh = h.replace('t', "w.t");
    tx.execute_batch(&format!(
        "INSERT INTO roll_word (word, h, label, n, s)
             SELECT word, {h} AS b, label, count(*), total(c32) FROM post_words
             GROUP BY word, b, label;
         INSERT INTO roll_word_tag (word, h, tag, label, n)
             SELECT w.word, {wh} AS b, g.tag, w.label, count(*)
             FROM post_words w JOIN tags g ON g.rid = w.rid
             GROUP BY w.word, b, g.tag, w.label;"
    ))?;
    if n > 0 {
        // One post at a time left FTS5 with many segments: merge them, as a bulk load does.
        tx.execute(
            "INSERT INTO posts_words (posts_words) VALUES ('optimize')",
            [],
        )?;
    }
    tx.execute(
        "INSERT OR REPLACE INTO meta (k, v) VALUES ('words', ?1)",
        [WORDS_VERSION],
    )?;
    tx.commit()?;
    if n > 0 {
        // The rebuild went through the write-ahead log: fold it into the file now rather than
        // leave every later read looking pages up in a log as large as the new tables.
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::format_ms;
    use crate::query::RawParams;
    use crate::{SqliteStore, Store};

    fn docs(n: usize) -> Vec<sentimap_core::IndexDoc> {
        let texts = [
            "Merry #Christmas from Paris",
            "Snow on #Christmas eve in London",
            "So sad this #xmas, snow again",
            "Traffic in Paris #traffic",
        ];
        (0..n)
            .map(|i| {
                let text = texts[i % texts.len()];
                // The text's hashtags, and one more on every third post.
                let mut tags: Vec<serde_json::Value> = text
                    .split_whitespace()
                    .filter_map(|w| w.strip_prefix('#'))
                    .map(|t| serde_json::json!({ "start": 0, "end": 1, "tag": t.trim_end_matches(',') }))
                    .collect();
                if i % 3 == 0 {
                    tags.push(serde_json::json!({ "start": 0, "end": 1, "tag": "Noel" }));
                }
                let raw = serde_json::json!({ "data": {
                    "id": format!("{}", 5_000 + i),
                    "text": text,
                    "created_at": format_ms(1_735_084_800_000 + i as i64 * 997_001),
                    "entities": { "hashtags": tags },
                    "geo": { "coordinates": { "type": "Point",
                        "coordinates": [2.35 + i as f64 * 0.01, 48.85 - i as f64 * 0.01] } }
                }});
                sentimap_core::IndexDoc::score(
                    sentimap_core::normalize(raw.to_string().as_bytes()).unwrap(),
                )
            })
            .collect()
    }

    fn raw(pairs: &[(&str, &str)]) -> RawParams {
        let m: serde_json::Map<String, serde_json::Value> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), serde_json::json!(v)))
            .collect();
        serde_json::from_value(serde_json::Value::Object(m)).unwrap()
    }

    async fn answers(s: &SqliteStore) -> Vec<String> {
        let mut out = Vec::new();
        for q in [
            &[("q", "snow")][..],
            &[("q", "paris"), ("from", "1735090000000")],
            &[("q", "christmas snow")],
            &[("q", "christmas"), ("zoom", "2"), ("max_points", "0")],
            &[
                ("q", "snow"),
                ("from", "1735090000000"),
                ("to", "1735150000000"),
                ("label", "negative,positive"),
                ("max_points", "0"),
            ],
        ] {
            let p = raw(q);
            out.push(format!(
                "{:?} {:?} {:?} {:?}",
                s.summary(SummaryQuery::parse(&p).unwrap()).await.unwrap(),
                s.timeline(TimelineQuery::parse(&p).unwrap()).await.unwrap(),
                s.geo(GeoQuery::parse(&p).unwrap()).await.unwrap(),
                s.posts(PostsQuery::parse(&p).unwrap()).await.unwrap()
            ));
        }
        out
    }

    /// Issue 7: a store written before the word index existed (FTS5 over the raw text, no posting
    /// lists), and one of word-index version 1 (postings without hashtag ids, no places), get the
    /// current index when they open and answer searches as a new store does.
    #[tokio::test]
    async fn issue7_old_store_gets_the_word_index_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let opts = crate::SqliteOptions {
            word_geo_min_posts: 10,
        };
        let new = SqliteStore::open_with(dir.path().join("new.sqlite"), opts).unwrap();
        new.index(&docs(120)).await.unwrap();
        let want = answers(&new).await;
        assert!(want[0].contains("total: 60"), "{}", want[0]);
        let before_words = "
            DROP TABLE post_words; DROP TABLE roll_word; DROP TABLE roll_word_tag;
            DROP TABLE roll_word_geo; DROP TABLE geo_words; DROP TABLE word_places;
            DROP TABLE tag_ids;
            DROP TABLE posts_words; DELETE FROM meta WHERE k IN ('words', 'word_geo');
            CREATE VIRTUAL TABLE posts_fts USING fts5 (
                text, content = '', contentless_delete = 1,
                tokenize = 'unicode61 remove_diacritics 0');
            INSERT INTO posts_fts (rowid, text)
                SELECT rid, json_extract(doc, '$.text') FROM posts;";
        let version_1 = "
            ALTER TABLE post_words DROP COLUMN tags; DROP TABLE word_places; DROP TABLE tag_ids;
            UPDATE meta SET v = 1 WHERE k IN ('words', 'word_geo');";
        for (name, back) in [("none", before_words), ("v1", version_1)] {
            let path = dir.path().join(format!("{name}.sqlite"));
            {
                let s = SqliteStore::open_with(&path, opts).unwrap();
                s.index(&docs(120)).await.unwrap();
            }
            {
                // Back to the old layout.
                let c = Connection::open(&path).unwrap();
                c.execute_batch(back).unwrap();
                if name == "v1" {
                    let has_tags: i64 = c
                        .query_row(
                            "SELECT count(*) FROM pragma_table_info('post_words')
                             WHERE name = 'tags'",
                            [],
                            |r| r.get(0),
                        )
                        .unwrap();
                    assert_eq!(has_tags, 0);
                }
            }
            let old = SqliteStore::open_with(&path, opts).unwrap();
            let frequent = geo_words(&path);
            assert!(frequent.contains(&"christmas".to_string()), "{frequent:?}");
            assert_eq!(frequent, geo_words(&dir.path().join("new.sqlite")));
            assert_eq!(places(&path), places(&dir.path().join("new.sqlite")));
            assert_eq!(answers(&old).await, want, "{name}");
        }
    }

    /// `word_places` as rows of text, in key order.
    fn places(path: &std::path::Path) -> Vec<String> {
        let c = Connection::open(path).unwrap();
        let mut stmt = c
            .prepare(
                "SELECT p.word, p.m, p.label, p.t, p.qlat, p.qlon, p.c32, o.id
                 FROM word_places p JOIN posts o ON o.rid = p.rid ORDER BY p.word, p.m, o.id",
            )
            .unwrap();
        let rows: Vec<String> = stmt
            .query_map([], |r| {
                Ok(format!(
                    "{} {} {} {} {} {} {} {}",
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, i64>(5)?,
                    r.get::<_, f64>(6)?,
                    r.get::<_, String>(7)?
                ))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(!rows.is_empty());
        rows
    }

    fn geo_words(path: &std::path::Path) -> Vec<String> {
        let c = Connection::open(path).unwrap();
        let mut stmt = c
            .prepare("SELECT word FROM geo_words ORDER BY word")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    /// Issue 7: world maps of frequent words read the per-word geotile rollup, which follows
    /// writes, upserts (new place, time, label and words) and words that become frequent mid-way,
    /// and answers exactly as the posting lists do.
    #[tokio::test]
    async fn issue7_word_geo_rollup_answers_like_the_postings() {
        let dir = tempfile::tempdir().unwrap();
        let plain = SqliteStore::open(dir.path().join("plain.sqlite")).unwrap();
        let rolled_path = dir.path().join("rolled.sqlite");
        let rolled = SqliteStore::open_with(
            &rolled_path,
            crate::SqliteOptions {
                word_geo_min_posts: 25,
            },
        )
        .unwrap();
        let all = docs(240);
        plain.index(&all).await.unwrap();
        for chunk in all.chunks(7) {
            rolled.index(chunk).await.unwrap();
        }
        let mut changed = all[..80].to_vec();
        for (i, d) in changed.iter_mut().enumerate() {
            d.text = d.text.replace("Paris", "Lagos").replace("snow", "sun");
            d.created_at = format_ms(1_735_084_800_000 + i as i64 * 1_234_567);
            if let Some(p) = d.location.point.as_mut() {
                p.lat -= 40.0;
                p.lon += 100.0;
            }
            d.sentiment.compound = -d.sentiment.compound;
            d.sentiment.label = match d.sentiment.label {
                Label::Positive => Label::Negative,
                Label::Negative => Label::Neutral,
                Label::Neutral => Label::Positive,
            };
        }
        plain.index(&changed).await.unwrap();
        for chunk in changed.chunks(9) {
            rolled.index(chunk).await.unwrap();
        }
        assert!(geo_words(plain.path()).is_empty());
        // Lagos came with the upserts (40 posts), sun stays rare (20).
        let frequent = geo_words(&rolled_path);
        assert!(
            frequent.contains(&"lagos".to_string()) && !frequent.contains(&"sun".to_string()),
            "{frequent:?}"
        );
        let mut queries: Vec<Vec<(&str, &str)>> = Vec::new();
        for word in ["christmas", "snow", "lagos", "traffic", "sun"] {
            for zoom in ["0", "1", "2", "3", "5"] {
                queries.push(vec![("q", word), ("zoom", zoom), ("max_points", "0")]);
            }
            queries.push(vec![
                ("q", word),
                ("from", "1735090000000"),
                ("to", "1735150000000"),
                ("label", "negative,neutral"),
                ("max_points", "0"),
            ]);
            queries.push(vec![("q", word), ("max_points", "10")]);
            // Boxes smaller than the world read the frequent words' places.
            for bbox in [
                "2,47,3.5,49",
                "3.1,8,120,48.2",
                "100,0,-170,20",
                "-180,-90,180,90",
                "-179,-89,179,89",
            ] {
                for (zoom, max) in [("3", "0"), ("6", "10000"), ("9", "0"), ("12", "10000")] {
                    queries.push(vec![
                        ("q", word),
                        ("bbox", bbox),
                        ("zoom", zoom),
                        ("max_points", max),
                    ]);
                }
                queries.push(vec![
                    ("q", word),
                    ("bbox", bbox),
                    ("zoom", "6"),
                    ("from", "1735090000000"),
                    ("to", "1735150000000"),
                    ("label", "positive,neutral"),
                    ("max_points", "0"),
                ]);
            }
        }
        for words in [
            "christmas snow",
            "merry paris",
            "lagos christmas",
            "eve christmas snow",
        ] {
            for bbox in ["2,47,3.5,49", "-180,-90,180,90", "100,-90,-170,20"] {
                queries.push(vec![
                    ("q", words),
                    ("bbox", bbox),
                    ("zoom", "4"),
                    ("max_points", "0"),
                ]);
                queries.push(vec![("q", words), ("bbox", bbox), ("zoom", "8")]);
            }
        }
        let answer = |s: &SqliteStore, q: &[(&str, &str)]| {
            let s = s.clone();
            let p = raw(q);
            async move { s.geo(GeoQuery::parse(&p).unwrap()).await.unwrap() }
        };
        let mut cells = 0;
        for q in &queries {
            let want = answer(&plain, q).await;
            cells += want.cells.len();
            assert_eq!(answer(&rolled, q).await, want, "{q:?}");
        }
        assert!(cells > 30, "the maps hold cells: {cells}");
        let summaries = |s: &SqliteStore| {
            let s = s.clone();
            async move {
                let mut out = Vec::new();
                for q in [
                    "christmas snow",
                    "merry paris",
                    "lagos christmas",
                    "snow eve",
                ] {
                    let p = raw(&[("q", q), ("label", "negative,positive")]);
                    out.push(s.summary(SummaryQuery::parse(&p).unwrap()).await.unwrap());
                    let p = raw(&[("q", q), ("from", "1735090000000")]);
                    out.push(s.summary(SummaryQuery::parse(&p).unwrap()).await.unwrap());
                }
                out
            }
        };
        let want = summaries(&plain).await;
        assert!(
            want.iter().any(|s| !s.top_hashtags.is_empty()),
            "the summaries name hashtags: {want:?}"
        );
        assert_eq!(summaries(&rolled).await, want);
        rolled.rebuild_rollups().unwrap();
        for q in &queries {
            assert_eq!(answer(&rolled, q).await, answer(&plain, q).await, "{q:?}");
        }
        assert_eq!(summaries(&rolled).await, want);
    }

    #[test]
    fn subtract_leaves_what_the_holes_do_not_cover() {
        let r = [(0, 10), (20, 30), (40, 50)];
        assert_eq!(subtract(&r, &[]), r.to_vec());
        assert_eq!(
            subtract(&r, &[(0, 2), (5, 6), (9, 21), (29, 30), (45, 60)]),
            vec![(2, 5), (6, 9), (21, 29), (40, 45)]
        );
        assert_eq!(subtract(&r, &[(0, 100)]), vec![]);
    }

    #[test]
    fn tag_blobs_round_trip() {
        let ids = [1, 2, 127, 128, 300, 16_383, 16_384, 1 << 40];
        let mut back = Vec::new();
        each_tag_id(&tag_blob(&ids).unwrap(), |id| back.push(id));
        assert_eq!(back, ids);
        assert_eq!(tag_blob(&[]), None);
    }

    #[test]
    fn post_words_split_like_searches() {
        assert_eq!(
            text_words("Merry #Christmas, merry! Noël à Paris 🎄 c'est"),
            vec!["c", "christmas", "est", "merry", "noël", "paris", "à"]
        );
        let long = "x".repeat(MAX_WORD_CHARS + 1);
        assert_eq!(text_words(&format!("{long} ok")), vec!["ok"]);
        for w in text_words("Snow forecast for #Christmas eve #SNOW") {
            assert_eq!(
                crate::query::search_words(&w).unwrap(),
                vec![w.clone()],
                "a stored word is found by searching it"
            );
        }
    }
}
