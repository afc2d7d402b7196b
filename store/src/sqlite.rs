//! The embedded backend: one SQLite file in WAL mode, quantised points and zoom-29 tile
//! coordinates stored per post so map cells are a `GROUP BY` with shifts, rollups per hour, minute,
//! hashtag and geotile, and a posting list per word for search ([`crate::keyword`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::types::Value;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use sentimap_core::sentiment::Label;
use sentimap_core::IndexDoc;

use crate::geo::{encode_lat, encode_lon, Bbox, Tile, MAX_ZOOM};
use crate::keyword::{self, text_words};
use crate::query::{
    as_f32, auto_interval, bucket_start, created_ms, format_ms, round4, Filters, Geo, GeoQuery,
    LabelCounts, MapPoint, PostItem, Posts, PostsQuery, RawCell, Summary, SummaryQuery, TagCount,
    Timeline, TimelineQuery, KEYWORD_IGNORE_ABOVE,
};
use crate::rollup::{interior, split, Piece, GEO_FINER, GEO_MAX_LEVEL, HOUR, MINUTE};
use crate::{Error, IndexReport, Rejected, Store};

/// Most idle reader connections kept open.
const MAX_IDLE_READERS: usize = 8;
/// Page cache per connection, KiB.
const CACHE_KIB: i64 = 64 * 1024;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS posts (
    rid      INTEGER PRIMARY KEY,
    id       TEXT NOT NULL UNIQUE,
    t        INTEGER NOT NULL,
    label    INTEGER NOT NULL,
    compound REAL NOT NULL,
    c32      REAL NOT NULL,
    lat      REAL,
    lon      REAL,
    qlat     INTEGER,
    qlon     INTEGER,
    tx       INTEGER,
    ty       INTEGER,
    doc      TEXT NOT NULL
);
DROP INDEX IF EXISTS posts_time;
DROP INDEX IF EXISTS posts_order;
DROP INDEX IF EXISTS posts_geo;
CREATE INDEX IF NOT EXISTS posts_t ON posts (t, label, c32, qlat, qlon, tx, ty);
CREATE INDEX IF NOT EXISTS posts_recent ON posts (t DESC, id DESC, label);
CREATE INDEX IF NOT EXISTS posts_label ON posts (label, t, c32);
CREATE INDEX IF NOT EXISTS posts_lat ON posts (qlat, qlon, t, label, c32, tx, ty) WHERE qlat IS NOT NULL;
CREATE INDEX IF NOT EXISTS posts_lon ON posts (qlon, qlat, t, label, c32, tx, ty) WHERE qlon IS NOT NULL;
CREATE TABLE IF NOT EXISTS tags (
    tag TEXT NOT NULL,
    rid INTEGER NOT NULL,
    PRIMARY KEY (tag, rid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tags_rid ON tags (rid);
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS roll_min (
    m INTEGER NOT NULL, label INTEGER NOT NULL, n INTEGER NOT NULL, s REAL NOT NULL,
    PRIMARY KEY (m, label)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS roll_hour (
    h INTEGER NOT NULL, label INTEGER NOT NULL, n INTEGER NOT NULL, s REAL NOT NULL,
    PRIMARY KEY (h, label)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS roll_tag (
    h INTEGER NOT NULL, tag TEXT NOT NULL, label INTEGER NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY (h, tag, label)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS roll_geo (
    z INTEGER NOT NULL, h INTEGER NOT NULL, x INTEGER NOT NULL, y INTEGER NOT NULL,
    label INTEGER NOT NULL, n INTEGER NOT NULL, s REAL NOT NULL,
    PRIMARY KEY (z, h, x, y, label)
) WITHOUT ROWID;
";

/// Bumped when the rollup tables change meaning; a store with another version rebuilds them.
const ROLLUP_VERSION: i64 = 1;

/// Label codes in the `label` column.
pub(crate) fn label_code(l: Label) -> i64 {
    match l {
        Label::Negative => 0,
        Label::Neutral => 1,
        Label::Positive => 2,
    }
}

pub(crate) fn code_label(c: i64) -> Result<Label, Error> {
    match c {
        0 => Ok(Label::Negative),
        1 => Ok(Label::Neutral),
        2 => Ok(Label::Positive),
        other => Err(Error::Shape(format!("label code {other} in the database"))),
    }
}

/// The embedded store. Cheap to clone; one writer, a pool of readers (WAL lets them run alongside).
#[derive(Debug, Clone)]
pub struct SqliteStore {
    path: PathBuf,
    writer: Arc<Mutex<Connection>>,
    readers: Arc<Mutex<Vec<Connection>>>,
    options: SqliteOptions,
}

/// Tuning of the embedded store; answers never depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SqliteOptions {
    /// Count of posts from which a word gets a geotile rollup (world maps of it then read the
    /// rollup instead of its postings); [`crate::WORD_GEO_MIN_POSTS`] by default.
    pub word_geo_min_posts: u64,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            word_geo_min_posts: keyword::WORD_GEO_MIN_POSTS,
        }
    }
}

/// A post prepared for insertion.
struct Row {
    id: String,
    t: i64,
    label: i64,
    compound: f64,
    point: Option<(f64, f64, i32, i32, u32, u32)>,
    tags: Vec<String>,
    words: Vec<String>,
    doc: String,
}

impl Row {
    fn new(d: &IndexDoc) -> Result<Row, String> {
        let t = created_ms(&d.created_at)?;
        if !d.sentiment.compound.is_finite() {
            return Err("sentiment.compound is not a finite number".into());
        }
        let point = match d.location.point {
            None => None,
            Some(p) => {
                if !(p.lat.is_finite()
                    && p.lon.is_finite()
                    && (-90.0..=90.0).contains(&p.lat)
                    && (-180.0..=180.0).contains(&p.lon))
                {
                    return Err(format!(
                        "location.point {},{} is out of range",
                        p.lat, p.lon
                    ));
                }
                let (qlat, qlon) = (encode_lat(p.lat), encode_lon(p.lon));
                let tile = Tile::of(qlat, qlon, MAX_ZOOM);
                Some((p.lat, p.lon, qlat, qlon, tile.x, tile.y))
            }
        };
        let mut tags: Vec<String> = d
            .hashtags_folded
            .iter()
            .filter(|t| t.encode_utf16().count() <= KEYWORD_IGNORE_ABOVE)
            .cloned()
            .collect();
        tags.sort();
        tags.dedup();
        let doc = serde_json::to_string(d).map_err(|e| format!("serialising: {e}"))?;
        Ok(Row {
            id: d.id.clone(),
            t,
            label: label_code(d.sentiment.label),
            compound: d.sentiment.compound,
            point,
            tags,
            words: text_words(&d.text),
            doc,
        })
    }
}

fn configure(conn: &Connection) -> Result<(), Error> {
    conn.pragma_update(None, "journal_mode", "wal")?;
    conn.pragma_update(None, "synchronous", "normal")?;
    conn.pragma_update(None, "cache_size", -CACHE_KIB)?;
    conn.pragma_update(None, "temp_store", "memory")?;
    conn.pragma_update(None, "mmap_size", 1_i64 << 30)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(())
}

impl SqliteStore {
    /// Opens (or creates) the database file at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore, Error> {
        SqliteStore::open_with(path, SqliteOptions::default())
    }

    /// Opens (or creates) the database file at `path` with `options`.
    pub fn open_with(path: impl AsRef<Path>, options: SqliteOptions) -> Result<SqliteStore, Error> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let mut writer = Connection::open(&path)?;
        configure(&writer)?;
        writer.execute_batch(SCHEMA)?;
        writer.execute_batch(keyword::SCHEMA)?;
        rebuild_rollups_if_stale(&mut writer)?;
        keyword::rebuild_if_stale(&mut writer)?;
        keyword::rebuild_word_geo_if_stale(&mut writer, options.word_geo_min_posts)?;
        Ok(SqliteStore {
            path,
            writer: Arc::new(Mutex::new(writer)),
            readers: Arc::new(Mutex::new(Vec::new())),
            options,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The number of stored posts.
    pub fn count(&self) -> Result<u64, Error> {
        let conn = self
            .writer
            .lock()
            .map_err(|_| Error::Task("writer lock poisoned".into()))?;
        let n: i64 = conn.query_row("SELECT count(*) FROM posts", [], |r| r.get(0))?;
        Ok(n as u64)
    }

    /// Runs ANALYZE so the planner picks the right indexes (after a bulk load).
    pub fn optimize(&self) -> Result<(), Error> {
        let conn = self
            .writer
            .lock()
            .map_err(|_| Error::Task("writer lock poisoned".into()))?;
        conn.execute_batch(
            "ANALYZE; PRAGMA optimize; INSERT INTO posts_words(posts_words) VALUES('optimize');",
        )?;
        Ok(())
    }

    /// Rebuilds the rollup tables and the keyword index from the posts (they are kept up to date on
    /// every write; this is for repair, and it runs by itself when a database from an older version
    /// is opened).
    pub fn rebuild_rollups(&self) -> Result<(), Error> {
        let mut conn = self
            .writer
            .lock()
            .map_err(|_| Error::Task("writer lock poisoned".into()))?;
        conn.execute(
            "DELETE FROM meta WHERE k IN ('rollups', 'words', 'word_geo')",
            [],
        )?;
        rebuild_rollups_if_stale(&mut conn)?;
        keyword::rebuild_if_stale(&mut conn)?;
        keyword::rebuild_word_geo_if_stale(&mut conn, self.options.word_geo_min_posts)
    }

    /// Writes documents synchronously (see [`Store::index`]).
    pub fn index_blocking(&self, docs: &[IndexDoc]) -> Result<IndexReport, Error> {
        let mut report = IndexReport::default();
        let mut rows = Vec::with_capacity(docs.len());
        for d in docs {
            match Row::new(d) {
                Ok(r) => rows.push(r),
                Err(reason) => report.rejected.push(Rejected {
                    id: d.id.clone(),
                    reason,
                }),
            }
        }
        let mut conn = self
            .writer
            .lock()
            .map_err(|_| Error::Task("writer lock poisoned".into()))?;
        let tx = conn.transaction()?;
        let mut deltas = Deltas::default();
        {
            let mut find = tx.prepare_cached(
                "SELECT rid, doc, t, label, c32, tx, ty FROM posts WHERE id = ?1",
            )?;
            let mut old_tags = tx.prepare_cached("SELECT tag FROM tags WHERE rid = ?1")?;
            let mut del_post = tx.prepare_cached("DELETE FROM posts WHERE rid = ?1")?;
            let mut del_tags = tx.prepare_cached("DELETE FROM tags WHERE rid = ?1")?;
            let mut words = keyword::WordWrites::new(&tx);
            let mut ins = tx.prepare_cached(
                "INSERT INTO posts (id, t, label, compound, c32, lat, lon, qlat, qlon, tx, ty, doc)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )?;
            let mut ins_tag = tx.prepare_cached("INSERT INTO tags (tag, rid) VALUES (?1, ?2)")?;
            for r in rows {
                type Old = (i64, String, i64, i64, f64, Option<u32>, Option<u32>);
                let old: Option<Old> = find
                    .query_row([&r.id], |row| {
                        Ok((
                            row.get(0)?,
                            row.get(1)?,
                            row.get(2)?,
                            row.get(3)?,
                            row.get(4)?,
                            row.get(5)?,
                            row.get(6)?,
                        ))
                    })
                    .optional()?;
                if let Some((rid, doc, t, label, c32, tx_, ty_)) = old {
                    if doc == r.doc {
                        report.indexed += 1;
                        continue;
                    }
                    let tags = old_tags
                        .query_map([rid], |row| row.get::<_, String>(0))?
                        .collect::<Result<Vec<_>, _>>()?;
                    let old_words = serde_json::from_str::<serde_json::Value>(&doc)
                        .ok()
                        .and_then(|v| v.get("text").and_then(|t| t.as_str()).map(text_words))
                        .unwrap_or_default();
                    deltas.add(-1, t, label, c32, tx_.zip(ty_), &tags, &old_words);
                    words.remove(&keyword::Posting {
                        rid,
                        label,
                        t,
                        c32,
                        point: tx_.zip(ty_).map(|(x, y)| (0, 0, x, y)),
                        words: &old_words,
                    })?;
                    del_post.execute([rid])?;
                    del_tags.execute([rid])?;
                }
                let (lat, lon, qlat, qlon, tx_, ty_) = match r.point {
                    Some((lat, lon, qa, qo, x, y)) => {
                        (Some(lat), Some(lon), Some(qa), Some(qo), Some(x), Some(y))
                    }
                    None => (None, None, None, None, None, None),
                };
                ins.execute(params![
                    r.id,
                    r.t,
                    r.label,
                    r.compound,
                    as_f32(r.compound),
                    lat,
                    lon,
                    qlat,
                    qlon,
                    tx_,
                    ty_,
                    r.doc
                ])?;
                let rid = tx.last_insert_rowid();
                for tag in &r.tags {
                    ins_tag.execute(params![tag, rid])?;
                }
                words.insert(
                    &keyword::Posting {
                        rid,
                        label: r.label,
                        t: r.t,
                        c32: as_f32(r.compound),
                        point: r.point.map(|p| (p.2, p.3, p.4, p.5)),
                        words: &r.words,
                    },
                    &r.tags,
                )?;
                deltas.add(
                    1,
                    r.t,
                    r.label,
                    as_f32(r.compound),
                    r.point.map(|p| (p.4, p.5)),
                    &r.tags,
                    &r.words,
                );
                report.indexed += 1;
            }
        }
        deltas.apply(&tx, self.options.word_geo_min_posts)?;
        tx.commit()?;
        Ok(report)
    }

    async fn read<T, F>(&self, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, Error> + Send + 'static,
    {
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let conn = this.take_reader()?;
            let out = f(&conn);
            this.give_back(conn);
            out
        })
        .await
        .map_err(|e| Error::Task(e.to_string()))?
    }

    fn take_reader(&self) -> Result<Connection, Error> {
        let pooled = self
            .readers
            .lock()
            .map_err(|_| Error::Task("reader pool poisoned".into()))?
            .pop();
        match pooled {
            Some(c) => Ok(c),
            None => {
                let c = Connection::open_with_flags(
                    &self.path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                c.pragma_update(None, "cache_size", -CACHE_KIB)?;
                c.pragma_update(None, "temp_store", "memory")?;
                c.pragma_update(None, "mmap_size", 1_i64 << 30)?;
                c.busy_timeout(std::time::Duration::from_secs(10))?;
                Ok(c)
            }
        }
    }

    fn give_back(&self, conn: Connection) {
        if let Ok(mut pool) = self.readers.lock() {
            if pool.len() < MAX_IDLE_READERS {
                pool.push(conn);
            }
        }
    }
}

/// A WHERE clause over `posts p` and its parameters (label, time and box filters; searches are
/// answered from the keyword index, [`crate::keyword`]).
struct Where {
    sql: String,
    params: Vec<Value>,
}

impl Where {
    fn new(f: &Filters, bbox: Option<&Bbox>) -> Where {
        let mut conds: Vec<String> = Vec::new();
        let mut params: Vec<Value> = Vec::new();
        if !f.labels.is_empty() {
            let marks = vec!["?"; f.labels.len()].join(",");
            conds.push(format!("p.label IN ({marks})"));
            params.extend(f.labels.iter().map(|l| Value::Integer(label_code(*l))));
        }
        if let Some(from) = f.from_ms {
            conds.push("p.t >= ?".into());
            params.push(Value::Integer(from));
        }
        if let Some(to) = f.to_ms {
            conds.push("p.t < ?".into());
            params.push(Value::Integer(to));
        }
        if let Some(b) = bbox {
            let e = b.encoded();
            conds.push("p.qlat BETWEEN ? AND ?".into());
            params.push(Value::Integer(e.min_lat));
            params.push(Value::Integer(e.max_lat));
            if e.crosses {
                conds.push("(p.qlon >= ? OR p.qlon <= ?)".into());
            } else {
                conds.push("p.qlon BETWEEN ? AND ?".into());
            }
            params.push(Value::Integer(e.min_lon));
            params.push(Value::Integer(e.max_lon));
        }
        let sql = if conds.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conds.join(" AND "))
        };
        Where { sql, params }
    }
}

fn summary_sync(conn: &Connection, q: &SummaryQuery) -> Result<Summary, Error> {
    match &q.filters.words[..] {
        [] => summary_fast(conn, q),
        [word] => keyword::summary(conn, word, q),
        words => keyword::summary_all(conn, words, q),
    }
}

fn geo_sync(conn: &Connection, q: &GeoQuery) -> Result<Geo, Error> {
    match &q.filters.words[..] {
        [] => {}
        [word] => return keyword::geo(conn, word, q),
        words => return keyword::geo_all(conn, words, q),
    }
    let w = Where::new(&q.filters, Some(&q.bbox));
    let precision = q.precision();
    let fast = geo_cells_fast(conn, q)?;
    let total = match &fast {
        Some((total, _)) => *total,
        None => {
            let total: i64 = conn
                .prepare_cached(&format!("SELECT count(*) FROM posts p {}", w.sql))?
                .query_row(rusqlite::params_from_iter(w.params.iter()), |r| r.get(0))?;
            total as u64
        }
    };
    if total <= q.max_points as u64 {
        let sql = format!(
            "SELECT p.id, p.lat, p.lon, p.label, p.compound FROM posts p {} ORDER BY p.id LIMIT ?",
            w.sql
        );
        let mut params = w.params.clone();
        params.push(Value::Integer(q.max_points as i64));
        let mut stmt = conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(params.iter()))?;
        let mut points = Vec::new();
        while let Some(r) = rows.next()? {
            points.push(MapPoint {
                id: r.get(0)?,
                lat: r.get(1)?,
                lon: r.get(2)?,
                label: code_label(r.get(3)?)?,
                compound: r.get(4)?,
            });
        }
        return Ok(Geo::from_points(total, precision, points));
    }
    if let Some((_, cells)) = fast {
        return Ok(Geo::from_cells(total, precision, cells));
    }
    let shift = MAX_ZOOM - precision;
    let sql = format!(
        "SELECT p.tx >> {shift} AS x, p.ty >> {shift} AS y, p.label, count(*), total(p.c32) FROM posts p {} GROUP BY x, y, p.label",
        w.sql
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(w.params.iter()))?;
    let mut cells = CellSums::new();
    while let Some(r) = rows.next()? {
        let (x, y): (i64, i64) = (r.get(0)?, r.get(1)?);
        let e = cells.entry((x as u32, y as u32)).or_default();
        e.0.add(code_label(r.get(2)?)?, r.get::<_, i64>(3)? as u64);
        e.1 += r.get::<_, f64>(4)?;
    }
    Ok(Geo::from_cells(
        total,
        precision,
        raw_cells(precision, cells),
    ))
}

fn timeline_sync(conn: &Connection, q: &TimelineQuery) -> Result<Timeline, Error> {
    match &q.filters.words[..] {
        [] => timeline_fast(conn, q),
        [word] => keyword::timeline(conn, word, q),
        words => keyword::timeline_all(conn, words, q),
    }
}

fn posts_sync(conn: &Connection, q: &PostsQuery) -> Result<Posts, Error> {
    match &q.filters.words[..] {
        [] => {}
        [word] => return keyword::posts(conn, word, q),
        words => return keyword::posts_all(conn, words, q),
    }
    let w = Where::new(&q.filters, None);
    let total = label_totals(conn, &q.filters)?.0.total();
    let sql = format!(
        "SELECT p.doc FROM posts p {} ORDER BY p.t DESC, p.id DESC LIMIT ?",
        w.sql
    );
    let mut params = w.params.clone();
    params.push(Value::Integer(q.limit as i64));
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(params.iter()))?;
    let mut posts = Vec::new();
    while let Some(r) = rows.next()? {
        let doc: String = r.get(0)?;
        let doc: IndexDoc = serde_json::from_str(&doc)
            .map_err(|e| Error::Shape(format!("stored document: {e}")))?;
        posts.push(PostItem::from(doc));
    }
    Ok(Posts { total, posts })
}

/// A geo rollup key: level, hour, tile column, tile row, label.
type GeoKey = (u8, i64, u32, u32, i64);

/// Rollup changes of one write transaction, summed per key before they touch the tables.
#[derive(Default)]
struct Deltas {
    min: BTreeMap<(i64, i64), (i64, f64)>,
    hour: BTreeMap<(i64, i64), (i64, f64)>,
    tag: BTreeMap<(i64, String, i64), i64>,
    geo: BTreeMap<GeoKey, (i64, f64)>,
    word: BTreeMap<(String, i64, i64), (i64, f64)>,
    word_tag: BTreeMap<(String, i64, String, i64), i64>,
    word_geo: BTreeMap<keyword::WordGeoKey, (i64, f64)>,
}

impl Deltas {
    /// Adds (`sign` 1) or removes (`sign` -1) one post's contribution.
    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        sign: i64,
        t: i64,
        label: i64,
        c32: f64,
        tile29: Option<(u32, u32)>,
        tags: &[String],
        words: &[String],
    ) {
        let s = c32 * sign as f64;
        let (m, h) = (bucket_start(t, MINUTE), bucket_start(t, HOUR));
        for (map, key) in [(&mut self.min, (m, label)), (&mut self.hour, (h, label))] {
            let e = map.entry(key).or_default();
            e.0 += sign;
            e.1 += s;
        }
        for tag in tags {
            *self.tag.entry((h, tag.clone(), label)).or_default() += sign;
        }
        for word in words {
            let e = self.word.entry((word.clone(), h, label)).or_default();
            e.0 += sign;
            e.1 += s;
            for tag in tags {
                *self
                    .word_tag
                    .entry((word.clone(), h, tag.clone(), label))
                    .or_default() += sign;
            }
        }
        if let Some((x, y)) = tile29 {
            let shift = MAX_ZOOM - keyword::WORD_GEO_LEVEL;
            for word in words {
                let e = self
                    .word_geo
                    .entry((word.clone(), label, h, x >> shift, y >> shift))
                    .or_default();
                e.0 += sign;
                e.1 += s;
            }
            for z in 0..=GEO_MAX_LEVEL {
                let shift = MAX_ZOOM - z;
                let e = self
                    .geo
                    .entry((z, h, x >> shift, y >> shift, label))
                    .or_default();
                e.0 += sign;
                e.1 += s;
            }
        }
    }

    /// Writes the changes; rows whose count falls to zero are deleted. Words reaching
    /// `word_geo_min_posts` get their geotile rollup.
    fn apply(self, tx: &Connection, word_geo_min_posts: u64) -> Result<(), Error> {
        let grown: Vec<String> = {
            let mut g: Vec<String> = self
                .word
                .iter()
                .filter(|(_, (n, _))| *n > 0)
                .map(|((w, _, _), _)| w.clone())
                .collect();
            g.dedup();
            g
        };
        for (table, col, map) in [("roll_min", "m", self.min), ("roll_hour", "h", self.hour)] {
            let mut up = tx.prepare_cached(&format!(
                "INSERT INTO {table} ({col}, label, n, s) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT ({col}, label) DO UPDATE SET n = n + excluded.n, s = s + excluded.s"
            ))?;
            let mut del = tx.prepare_cached(&format!(
                "DELETE FROM {table} WHERE {col} = ?1 AND label = ?2 AND n <= 0"
            ))?;
            for ((b, label), (n, s)) in map.into_iter().filter(|(_, (n, s))| *n != 0 || *s != 0.0) {
                up.execute(params![b, label, n, s])?;
                if n < 0 {
                    del.execute(params![b, label])?;
                }
            }
        }
        let mut up = tx.prepare_cached(
            "INSERT INTO roll_tag (h, tag, label, n) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (h, tag, label) DO UPDATE SET n = n + excluded.n",
        )?;
        let mut del = tx.prepare_cached(
            "DELETE FROM roll_tag WHERE h = ?1 AND tag = ?2 AND label = ?3 AND n <= 0",
        )?;
        for ((h, tag, label), n) in self.tag.into_iter().filter(|(_, n)| *n != 0) {
            up.execute(params![h, tag, label, n])?;
            if n < 0 {
                del.execute(params![h, tag, label])?;
            }
        }
        let mut up = tx.prepare_cached(
            "INSERT INTO roll_word (word, h, label, n, s) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (word, h, label) DO UPDATE SET n = n + excluded.n, s = s + excluded.s",
        )?;
        let mut del = tx.prepare_cached(
            "DELETE FROM roll_word WHERE word = ?1 AND h = ?2 AND label = ?3 AND n <= 0",
        )?;
        for ((word, h, label), (n, s)) in self
            .word
            .into_iter()
            .filter(|(_, (n, s))| *n != 0 || *s != 0.0)
        {
            up.execute(params![word, h, label, n, s])?;
            if n < 0 {
                del.execute(params![word, h, label])?;
            }
        }
        keyword::apply_word_geo(tx, self.word_geo, grown, word_geo_min_posts)?;
        let mut up = tx.prepare_cached(
            "INSERT INTO roll_word_tag (word, h, tag, label, n) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (word, h, tag, label) DO UPDATE SET n = n + excluded.n",
        )?;
        let mut del = tx.prepare_cached(
            "DELETE FROM roll_word_tag WHERE word = ?1 AND h = ?2 AND tag = ?3 AND label = ?4
             AND n <= 0",
        )?;
        for ((word, h, tag, label), n) in self.word_tag.into_iter().filter(|(_, n)| *n != 0) {
            up.execute(params![word, h, tag, label, n])?;
            if n < 0 {
                del.execute(params![word, h, tag, label])?;
            }
        }
        let mut up = tx.prepare_cached(
            "INSERT INTO roll_geo (z, h, x, y, label, n, s) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (z, h, x, y, label) DO UPDATE SET n = n + excluded.n, s = s + excluded.s",
        )?;
        let mut del = tx.prepare_cached(
            "DELETE FROM roll_geo WHERE z = ?1 AND h = ?2 AND x = ?3 AND y = ?4 AND label = ?5
             AND n <= 0",
        )?;
        for ((z, h, x, y, label), (n, s)) in self
            .geo
            .into_iter()
            .filter(|(_, (n, s))| *n != 0 || *s != 0.0)
        {
            up.execute(params![z, h, x, y, label, n, s])?;
            if n < 0 {
                del.execute(params![z, h, x, y, label])?;
            }
        }
        Ok(())
    }
}

/// Rebuilds the rollup tables from the posts when they were made by another version (or by a
/// store that had none): a database written before rollups existed keeps working.
fn rebuild_rollups_if_stale(conn: &mut Connection) -> Result<(), Error> {
    let v: Option<i64> = conn
        .query_row("SELECT v FROM meta WHERE k = 'rollups'", [], |r| r.get(0))
        .optional()?;
    if v == Some(ROLLUP_VERSION) {
        return Ok(());
    }
    let tx = conn.transaction()?;
    let bucket = |step: i64| format!("(t - (((t % {step}) + {step}) % {step}))");
    tx.execute_batch(&format!(
        "DELETE FROM roll_min; DELETE FROM roll_hour; DELETE FROM roll_tag; DELETE FROM roll_geo;
         INSERT INTO roll_min (m, label, n, s)
             SELECT {m} AS b, label, count(*), total(c32) FROM posts GROUP BY b, label;
         INSERT INTO roll_hour (h, label, n, s)
             SELECT {h} AS b, label, count(*), total(c32) FROM posts GROUP BY b, label;
         INSERT INTO roll_tag (h, tag, label, n)
             SELECT {ph} AS b, g.tag, p.label, count(*) FROM tags g JOIN posts p ON p.rid = g.rid
             GROUP BY b, g.tag, p.label;",
        m = bucket(MINUTE),
        h = bucket(HOUR),
        ph = bucket(HOUR).replace('t', "p.t"),
    ))?;
    for z in 0..=GEO_MAX_LEVEL {
        let shift = MAX_ZOOM - z;
        tx.execute(
            &format!(
                "INSERT INTO roll_geo (z, h, x, y, label, n, s)
                 SELECT ?1, {h} AS b, tx >> {shift} AS gx, ty >> {shift} AS gy, label, count(*),
                        total(c32)
                 FROM posts WHERE tx IS NOT NULL GROUP BY b, gx, gy, label",
                h = bucket(HOUR)
            ),
            [z],
        )?;
    }
    tx.execute(
        "INSERT OR REPLACE INTO meta (k, v) VALUES ('rollups', ?1)",
        [ROLLUP_VERSION],
    )?;
    tx.commit()?;
    Ok(())
}

/// ` AND col IN (?, ..)` for a label filter, and its parameters.
fn label_cond(col: &str, labels: &[Label]) -> (String, Vec<Value>) {
    if labels.is_empty() {
        return (String::new(), Vec::new());
    }
    let marks = vec!["?"; labels.len()].join(",");
    (
        format!(" AND {col} IN ({marks})"),
        labels
            .iter()
            .map(|l| Value::Integer(label_code(*l)))
            .collect(),
    )
}

fn run_params(lo: i64, hi: i64, rest: &[Value]) -> Vec<Value> {
    let mut p = vec![Value::Integer(lo), Value::Integer(hi)];
    p.extend(rest.iter().cloned());
    p
}

/// A read over a time range, "whole hours from a rollup, edges from rows": the SQL for whole hours
/// (a rollup keyed by hour), for whole minutes (the minute rollup, where there is one) and for the
/// raw rows at the edges. The three select the same columns and take the parameters
/// `before.., lo, hi, after..`. One reader serves the label rollups and the per-word ones.
pub(crate) struct RangeRead<'a> {
    /// Whole hours `[lo, hi)`.
    pub(crate) hours: String,
    /// Whole minutes `[lo, hi)`; `None` reads partial hours from rows.
    pub(crate) minutes: Option<String>,
    /// Rows with `lo <= t < hi`.
    pub(crate) rows: String,
    /// Parameters before the range.
    pub(crate) before: &'a [Value],
    /// Parameters after the range.
    pub(crate) after: &'a [Value],
}

impl RangeRead<'_> {
    /// Hands every row of every piece of `[from, to)` to `each`, with the piece it came from.
    pub(crate) fn each(
        &self,
        conn: &Connection,
        from: Option<i64>,
        to: Option<i64>,
        each: impl FnMut(Piece, &rusqlite::Row<'_>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        self.pieces(conn, split(from, to, self.minutes.is_some()), each)
    }

    /// Like [`RangeRead::each`], over pieces the caller chose.
    pub(crate) fn pieces(
        &self,
        conn: &Connection,
        pieces: Vec<Piece>,
        mut each: impl FnMut(Piece, &rusqlite::Row<'_>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        for piece in pieces {
            let (sql, lo, hi) = match piece {
                Piece::Hours(lo, hi) => (&self.hours, lo, hi),
                Piece::Minutes(lo, hi) => (self.minutes.as_ref().unwrap_or(&self.rows), lo, hi),
                Piece::Raw(lo, hi) => (&self.rows, lo, hi),
            };
            let mut ps = self.before.to_vec();
            ps.extend(run_params(lo, hi, self.after));
            let mut stmt = conn.prepare_cached(sql)?;
            let mut rows = stmt.query(rusqlite::params_from_iter(ps))?;
            while let Some(r) = rows.next()? {
                each(piece, r)?;
            }
        }
        Ok(())
    }

    /// Counts and compound sums per label, from rows `(label, n, sum)`.
    pub(crate) fn label_sums(
        &self,
        conn: &Connection,
        f: &Filters,
    ) -> Result<(LabelCounts, f64), Error> {
        let mut labels = LabelCounts::default();
        let mut sum = 0.0;
        self.each(conn, f.from_ms, f.to_ms, |_, r| {
            labels.add(code_label(r.get(0)?)?, r.get::<_, i64>(1)?.max(0) as u64);
            sum += r.get::<_, f64>(2)?;
            Ok(())
        })?;
        Ok((labels, sum))
    }

    /// Counts per hashtag, from rows `(tag, n)`.
    pub(crate) fn tag_counts(
        &self,
        conn: &Connection,
        f: &Filters,
    ) -> Result<BTreeMap<String, i64>, Error> {
        let mut tags: BTreeMap<String, i64> = BTreeMap::new();
        self.each(conn, f.from_ms, f.to_ms, |_, r| {
            *tags.entry(r.get(0)?).or_default() += r.get::<_, i64>(1)?;
            Ok(())
        })?;
        Ok(tags)
    }
}

/// The summary answer from its parts: the top `top` hashtags by count, then by name.
pub(crate) fn finish_summary(
    labels: LabelCounts,
    sum: f64,
    (first, last): (Option<i64>, Option<i64>),
    tags: BTreeMap<String, i64>,
    top: usize,
) -> Summary {
    let total = labels.total();
    let mut top_hashtags: Vec<TagCount> = tags
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(tag, n)| TagCount {
            tag,
            count: n as u64,
        })
        .collect();
    top_hashtags.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.tag.cmp(&b.tag)));
    top_hashtags.truncate(top);
    Summary {
        total,
        labels,
        compound_mean: (total > 0).then(|| round4(sum / total as f64)),
        first_at: first.map(format_ms),
        last_at: last.map(format_ms),
        top_hashtags,
    }
}

/// Counts and compound sums per label from the rollups (no keyword filter).
fn label_totals(conn: &Connection, f: &Filters) -> Result<(LabelCounts, f64), Error> {
    let (lsql, lparams) = label_cond("label", &f.labels);
    RangeRead {
        hours: format!("SELECT label, sum(n), total(s) FROM roll_hour WHERE h >= ? AND h < ?{lsql} GROUP BY label"),
        minutes: Some(format!("SELECT label, sum(n), total(s) FROM roll_min WHERE m >= ? AND m < ?{lsql} GROUP BY label")),
        rows: format!("SELECT label, count(*), total(c32) FROM posts INDEXED BY posts_t WHERE t >= ? AND t < ?{lsql} GROUP BY label"),
        before: &[],
        after: &lparams,
    }
    .label_sums(conn, f)
}

/// The oldest and newest matching post times (no keyword filter): index seeks only.
fn extent(conn: &Connection, f: &Filters) -> Result<(Option<i64>, Option<i64>), Error> {
    let lo = f.from_ms.unwrap_or(i64::MIN);
    let hi = f.to_ms.unwrap_or(i64::MAX);
    let mut first: Option<i64> = None;
    let mut last: Option<i64> = None;
    let mut one = |label: Option<i64>| -> Result<(), Error> {
        for agg in ["min", "max"] {
            let v: Option<i64> = match label {
                None => conn
                    .prepare_cached(&format!(
                        "SELECT {agg}(t) FROM posts WHERE t >= ?1 AND t < ?2"
                    ))?
                    .query_row(params![lo, hi], |r| r.get(0))?,
                Some(l) => conn
                    .prepare_cached(&format!(
                        "SELECT {agg}(t) FROM posts WHERE label = ?3 AND t >= ?1 AND t < ?2"
                    ))?
                    .query_row(params![lo, hi, l], |r| r.get(0))?,
            };
            if let Some(v) = v {
                if agg == "min" {
                    first = Some(first.map_or(v, |x| x.min(v)));
                } else {
                    last = Some(last.map_or(v, |x| x.max(v)));
                }
            }
        }
        Ok(())
    };
    if f.labels.is_empty() {
        one(None)?;
    } else {
        for l in &f.labels {
            one(Some(label_code(*l)))?;
        }
    }
    Ok((first, last))
}

fn summary_fast(conn: &Connection, q: &SummaryQuery) -> Result<Summary, Error> {
    let f = &q.filters;
    let (labels, sum) = label_totals(conn, f)?;
    let total = labels.total();
    let span = if total > 0 {
        extent(conn, f)?
    } else {
        (None, None)
    };
    let tags = if q.top > 0 && total > 0 {
        let (lsql, lparams) = label_cond("label", &f.labels);
        let (plsql, _) = label_cond("p.label", &f.labels);
        RangeRead {
            hours: format!("SELECT tag, sum(n) FROM roll_tag WHERE h >= ? AND h < ?{lsql} GROUP BY tag"),
            minutes: None,
            rows: format!("SELECT g.tag, count(*) FROM posts p INDEXED BY posts_t JOIN tags g ON g.rid = p.rid WHERE p.t >= ? AND p.t < ?{plsql} GROUP BY g.tag"),
            before: &[],
            after: &lparams,
        }
        .tag_counts(conn, f)?
    } else {
        BTreeMap::new()
    };
    Ok(finish_summary(labels, sum, span, tags, q.top))
}

fn timeline_fast(conn: &Connection, q: &TimelineQuery) -> Result<Timeline, Error> {
    let f = &q.filters;
    let interval = match q.interval {
        Some(i) => i,
        None => {
            let (lo, hi) = extent(conn, f)?;
            auto_interval(f.from_ms.or(lo).unwrap_or(0), f.to_ms.or(hi).unwrap_or(0))
        }
    };
    let iv = interval.1;
    let (lsql, lparams) = label_cond("label", &f.labels);
    let minutes = format!("SELECT m, label, n FROM roll_min WHERE m >= ? AND m < ?{lsql}");
    let mut counts = Vec::new();
    RangeRead {
        // Whole hours count per hour only when the interval is made of hours.
        hours: if iv >= HOUR {
            format!("SELECT h, label, n FROM roll_hour WHERE h >= ? AND h < ?{lsql}")
        } else {
            minutes.clone()
        },
        minutes: Some(minutes),
        rows: format!(
            "SELECT t, label, 1 FROM posts INDEXED BY posts_t WHERE t >= ? AND t < ?{lsql}"
        ),
        before: &[],
        after: &lparams,
    }
    .each(conn, f.from_ms, f.to_ms, |_, r| {
        let n: i64 = r.get(2)?;
        if n > 0 {
            counts.push((
                bucket_start(r.get(0)?, iv),
                code_label(r.get(1)?)?,
                n as u64,
            ));
        }
        Ok(())
    })?;
    Ok(Timeline::from_counts(interval, counts))
}

/// Map cells from the geo rollup: the tiles wholly inside the box come from the rollup, the posts
/// in the thin frame around them (and in partial hours at the range's edges) from the indexes.
/// `None` when the rollup cannot answer (the box crosses the antimeridian, or the precision is
/// finer than the rollup's deepest level).
fn geo_cells_fast(conn: &Connection, q: &GeoQuery) -> Result<Option<(u64, Vec<RawCell>)>, Error> {
    let p = q.precision();
    let e = q.bbox.encoded();
    if e.crosses || p > GEO_MAX_LEVEL {
        return Ok(None);
    }
    let b = &q.bbox;
    let whole = b.west <= -180.0 && b.east >= 180.0 && b.south <= -90.0 && b.north >= 90.0;
    let z = if whole {
        p
    } else {
        (p + GEO_FINER).min(GEO_MAX_LEVEL)
    };
    let inner = interior(b, z);
    let f = &q.filters;
    let (lsql, lparams) = label_cond("label", &f.labels);
    let mut cells = CellSums::new();
    let mut add = |x: u32, y: u32, label: Label, n: u64, s: f64| {
        let c = cells.entry((x, y)).or_default();
        c.0.add(label, n);
        c.1 += s;
    };
    let to_p = MAX_ZOOM - p;
    // Reads posts (tx, ty, label, c32) and adds those outside the interior tiles.
    let raw = |sql: String,
               params: Vec<Value>,
               add: &mut dyn FnMut(u32, u32, Label, u64, f64)|
     -> Result<(), Error> {
        let mut stmt = conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
        while let Some(r) = rows.next()? {
            let (tx_, ty_): (u32, u32) = (r.get(0)?, r.get(1)?);
            if let Some(i) = &inner {
                let shift = MAX_ZOOM - i.zoom;
                if i.holds(tx_ >> shift, ty_ >> shift) {
                    continue;
                }
            }
            add(
                tx_ >> to_p,
                ty_ >> to_p,
                code_label(r.get(2)?)?,
                1,
                r.get(3)?,
            );
        }
        Ok(())
    };
    for piece in split(f.from_ms, f.to_ms, false) {
        match piece {
            Piece::Hours(lo, hi) => {
                let strips: Vec<(&str, i64, i64, i64, i64)> = match &inner {
                    Some(i) => {
                        let mut stmt = conn.prepare_cached(&format!(
                            "SELECT x, y, label, n, s FROM roll_geo WHERE z = ? AND h >= ? AND h < ?
                             AND x BETWEEN ? AND ? AND y BETWEEN ? AND ?{lsql}"
                        ))?;
                        let mut ps = vec![Value::Integer(i64::from(z))];
                        ps.extend(run_params(lo, hi, &[]));
                        ps.extend([i.x0, i.x1, i.y0, i.y1].map(|v| Value::Integer(i64::from(v))));
                        ps.extend(lparams.iter().cloned());
                        let mut rows = stmt.query(rusqlite::params_from_iter(ps))?;
                        let up = i.zoom - p;
                        while let Some(r) = rows.next()? {
                            let (x, y): (u32, u32) = (r.get(0)?, r.get(1)?);
                            let n: i64 = r.get(3)?;
                            add(
                                x >> up,
                                y >> up,
                                code_label(r.get(2)?)?,
                                n.max(0) as u64,
                                r.get(4)?,
                            );
                        }
                        vec![
                            ("posts_lat", e.min_lat, i.lat_lo - 1, e.min_lon, e.max_lon),
                            ("posts_lat", i.lat_hi + 1, e.max_lat, e.min_lon, e.max_lon),
                            ("posts_lon", i.lat_lo, i.lat_hi, e.min_lon, i.lon_lo - 1),
                            ("posts_lon", i.lat_lo, i.lat_hi, i.lon_hi + 1, e.max_lon),
                        ]
                    }
                    None => vec![("posts_lat", e.min_lat, e.max_lat, e.min_lon, e.max_lon)],
                };
                for (index, la, lb, oa, ob) in strips {
                    if la > lb || oa > ob {
                        continue;
                    }
                    let sql = format!(
                        "SELECT tx, ty, label, c32 FROM posts INDEXED BY {index}
                         WHERE qlat BETWEEN ? AND ? AND qlon BETWEEN ? AND ? AND t >= ? AND t < ?{lsql}"
                    );
                    let mut ps: Vec<Value> = [la, lb, oa, ob].map(Value::Integer).to_vec();
                    ps.extend(run_params(lo, hi, &lparams));
                    raw(sql, ps, &mut add)?;
                }
            }
            Piece::Minutes(lo, hi) | Piece::Raw(lo, hi) => {
                // Partial hours: every post in the box counts (the interior test does not apply).
                let sql = format!(
                    "SELECT tx, ty, label, c32 FROM posts INDEXED BY posts_t
                     WHERE t >= ? AND t < ? AND qlat BETWEEN ? AND ? AND qlon BETWEEN ? AND ?{lsql}"
                );
                let mut ps = run_params(lo, hi, &[]);
                ps.extend([e.min_lat, e.max_lat, e.min_lon, e.max_lon].map(Value::Integer));
                ps.extend(lparams.iter().cloned());
                let mut stmt = conn.prepare_cached(&sql)?;
                let mut rows = stmt.query(rusqlite::params_from_iter(ps))?;
                while let Some(r) = rows.next()? {
                    let (tx_, ty_): (u32, u32) = (r.get(0)?, r.get(1)?);
                    add(
                        tx_ >> to_p,
                        ty_ >> to_p,
                        code_label(r.get(2)?)?,
                        1,
                        r.get(3)?,
                    );
                }
            }
        }
    }
    let total = cells.values().map(|c| c.0.total()).sum();
    let raw_cells = raw_cells(p, cells);
    Ok(Some((total, raw_cells)))
}

/// Per-tile sums at one zoom: the posts counted by label, and their compounds summed.
pub(crate) type CellSums = BTreeMap<(u32, u32), (LabelCounts, f64)>;

/// The map's cells at `zoom` from per-tile sums: empty tiles dropped (the engine returns no empty
/// bucket), the mean compound the sum over the count.
pub(crate) fn raw_cells(zoom: u8, cells: CellSums) -> Vec<RawCell> {
    cells
        .into_iter()
        .filter(|(_, (l, _))| l.total() > 0)
        .map(|((x, y), (labels, sum))| RawCell {
            tile: Tile { zoom, x, y },
            compound_mean: sum / labels.total().max(1) as f64,
            labels,
        })
        .collect()
}

impl Store for SqliteStore {
    async fn index(&self, docs: &[IndexDoc]) -> Result<IndexReport, Error> {
        let this = self.clone();
        let docs = docs.to_vec();
        tokio::task::spawn_blocking(move || this.index_blocking(&docs))
            .await
            .map_err(|e| Error::Task(e.to_string()))?
    }

    async fn refresh(&self) -> Result<(), Error> {
        Ok(())
    }

    async fn summary(&self, q: SummaryQuery) -> Result<Summary, Error> {
        self.read(move |c| summary_sync(c, &q)).await
    }

    async fn geo(&self, q: GeoQuery) -> Result<Geo, Error> {
        self.read(move |c| geo_sync(c, &q)).await
    }

    async fn timeline(&self, q: TimelineQuery) -> Result<Timeline, Error> {
        self.read(move |c| timeline_sync(c, &q)).await
    }

    async fn posts(&self, q: PostsQuery) -> Result<Posts, Error> {
        self.read(move |c| posts_sync(c, &q)).await
    }
}
