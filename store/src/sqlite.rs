//! The embedded backend: one SQLite file in WAL mode, FTS5 for search, quantised points and
//! zoom-29 tile coordinates stored per post so map cells are a `GROUP BY` with shifts.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::types::Value;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use sentimap_core::sentiment::Label;
use sentimap_core::IndexDoc;

use crate::geo::{encode_lat, encode_lon, Bbox, Tile, MAX_ZOOM};
use crate::query::{
    as_f32, auto_interval, created_ms, format_ms, round4, Filters, Geo, GeoQuery, LabelCounts,
    MapPoint, PostItem, Posts, PostsQuery, RawCell, Summary, SummaryQuery, TagCount, Timeline,
    TimelineQuery, KEYWORD_IGNORE_ABOVE,
};
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
CREATE INDEX IF NOT EXISTS posts_time ON posts (t, label, c32);
CREATE INDEX IF NOT EXISTS posts_order ON posts (t DESC, id DESC);
CREATE INDEX IF NOT EXISTS posts_label ON posts (label, t, c32);
CREATE INDEX IF NOT EXISTS posts_geo ON posts (qlat, qlon, label, c32, tx, ty) WHERE qlat IS NOT NULL;
CREATE TABLE IF NOT EXISTS tags (
    tag TEXT NOT NULL,
    rid INTEGER NOT NULL,
    PRIMARY KEY (tag, rid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tags_rid ON tags (rid);
CREATE VIRTUAL TABLE IF NOT EXISTS posts_fts USING fts5 (
    text, content = '', contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 0'
);
";

/// Label codes in the `label` column.
fn label_code(l: Label) -> i64 {
    match l {
        Label::Negative => 0,
        Label::Neutral => 1,
        Label::Positive => 2,
    }
}

fn code_label(c: i64) -> Result<Label, Error> {
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
}

/// A post prepared for insertion.
struct Row {
    id: String,
    t: i64,
    label: i64,
    compound: f64,
    point: Option<(f64, f64, i32, i32, u32, u32)>,
    tags: Vec<String>,
    text: String,
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
            text: d.text.clone(),
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
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let writer = Connection::open(&path)?;
        configure(&writer)?;
        writer.execute_batch(SCHEMA)?;
        Ok(SqliteStore {
            path,
            writer: Arc::new(Mutex::new(writer)),
            readers: Arc::new(Mutex::new(Vec::new())),
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
            "ANALYZE; PRAGMA optimize; INSERT INTO posts_fts(posts_fts) VALUES('optimize');",
        )?;
        Ok(())
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
        {
            let mut find = tx.prepare_cached("SELECT rid, doc FROM posts WHERE id = ?1")?;
            let mut del_post = tx.prepare_cached("DELETE FROM posts WHERE rid = ?1")?;
            let mut del_tags = tx.prepare_cached("DELETE FROM tags WHERE rid = ?1")?;
            let mut del_fts = tx.prepare_cached("DELETE FROM posts_fts WHERE rowid = ?1")?;
            let mut ins = tx.prepare_cached(
                "INSERT INTO posts (id, t, label, compound, c32, lat, lon, qlat, qlon, tx, ty, doc)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )?;
            let mut ins_tag = tx.prepare_cached("INSERT INTO tags (tag, rid) VALUES (?1, ?2)")?;
            let mut ins_fts =
                tx.prepare_cached("INSERT INTO posts_fts (rowid, text) VALUES (?1, ?2)")?;
            for r in rows {
                let old: Option<(i64, String)> = find
                    .query_row([&r.id], |row| Ok((row.get(0)?, row.get(1)?)))
                    .optional()?;
                if let Some((rid, doc)) = old {
                    if doc == r.doc {
                        report.indexed += 1;
                        continue;
                    }
                    del_post.execute([rid])?;
                    del_tags.execute([rid])?;
                    del_fts.execute([rid])?;
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
                ins_fts.execute(params![rid, r.text])?;
                report.indexed += 1;
            }
        }
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

/// A WHERE clause over `posts p` and its parameters.
struct Where {
    sql: String,
    params: Vec<Value>,
}

impl Where {
    fn new(f: &Filters, bbox: Option<&Bbox>) -> Where {
        let mut conds: Vec<String> = Vec::new();
        let mut params: Vec<Value> = Vec::new();
        if !f.words.is_empty() {
            conds.push("p.rid IN (SELECT rowid FROM posts_fts WHERE posts_fts MATCH ?)".into());
            params.push(Value::Text(fts_query(&f.words)));
        }
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

    fn is_empty(&self) -> bool {
        self.sql.is_empty()
    }
}

/// FTS5 query requiring every word. Words are letters and digits only, quoted anyway.
fn fts_query(words: &[String]) -> String {
    words
        .iter()
        .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(" ")
}

fn summary_sync(conn: &Connection, q: &SummaryQuery) -> Result<Summary, Error> {
    let w = Where::new(&q.filters, None);
    let mut labels = LabelCounts::default();
    let mut sum = 0.0;
    let mut first: Option<i64> = None;
    let mut last: Option<i64> = None;
    let sql = format!("SELECT p.label, count(*), total(p.c32), min(p.t), max(p.t) FROM posts p {} GROUP BY p.label", w.sql);
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(w.params.iter()))?;
    while let Some(r) = rows.next()? {
        let label = code_label(r.get(0)?)?;
        labels.add(label, r.get::<_, i64>(1)? as u64);
        sum += r.get::<_, f64>(2)?;
        let (lo, hi): (i64, i64) = (r.get(3)?, r.get(4)?);
        first = Some(first.map_or(lo, |f| f.min(lo)));
        last = Some(last.map_or(hi, |l| l.max(hi)));
    }
    let total = labels.total();
    let top_sql = if w.is_empty() {
        "SELECT tag, count(*) AS n FROM tags GROUP BY tag ORDER BY n DESC, tag ASC LIMIT ?"
            .to_string()
    } else {
        format!(
            "SELECT g.tag, count(*) AS n FROM tags g JOIN posts p ON p.rid = g.rid {} GROUP BY g.tag ORDER BY n DESC, g.tag ASC LIMIT ?",
            w.sql
        )
    };
    let mut params = w.params.clone();
    params.push(Value::Integer(q.top as i64));
    let mut stmt = conn.prepare_cached(&top_sql)?;
    let top_hashtags = stmt
        .query_map(rusqlite::params_from_iter(params.iter()), |r| {
            Ok(TagCount {
                tag: r.get(0)?,
                count: r.get::<_, i64>(1)? as u64,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Summary {
        total,
        labels,
        compound_mean: (total > 0).then(|| round4(sum / total as f64)),
        first_at: first.map(format_ms),
        last_at: last.map(format_ms),
        top_hashtags,
    })
}

fn geo_sync(conn: &Connection, q: &GeoQuery) -> Result<Geo, Error> {
    let w = Where::new(&q.filters, Some(&q.bbox));
    let precision = q.precision();
    let total: i64 = conn
        .prepare_cached(&format!("SELECT count(*) FROM posts p {}", w.sql))?
        .query_row(rusqlite::params_from_iter(w.params.iter()), |r| r.get(0))?;
    let total = total as u64;
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
    let shift = MAX_ZOOM - precision;
    let sql = format!(
        "SELECT p.tx >> {shift} AS x, p.ty >> {shift} AS y, p.label, count(*), total(p.c32) FROM posts p {} GROUP BY x, y, p.label",
        w.sql
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(w.params.iter()))?;
    let mut cells: std::collections::BTreeMap<(u32, u32), (LabelCounts, f64)> =
        std::collections::BTreeMap::new();
    while let Some(r) = rows.next()? {
        let (x, y): (i64, i64) = (r.get(0)?, r.get(1)?);
        let e = cells.entry((x as u32, y as u32)).or_default();
        e.0.add(code_label(r.get(2)?)?, r.get::<_, i64>(3)? as u64);
        e.1 += r.get::<_, f64>(4)?;
    }
    let raw = cells
        .into_iter()
        .map(|((x, y), (labels, sum))| RawCell {
            tile: Tile {
                zoom: precision,
                x,
                y,
            },
            compound_mean: sum / labels.total().max(1) as f64,
            labels,
        })
        .collect();
    Ok(Geo::from_cells(total, precision, raw))
}

fn timeline_sync(conn: &Connection, q: &TimelineQuery) -> Result<Timeline, Error> {
    let w = Where::new(&q.filters, None);
    let interval = match q.interval {
        Some(i) => i,
        None => {
            let (lo, hi): (Option<i64>, Option<i64>) = conn
                .prepare_cached(&format!("SELECT min(p.t), max(p.t) FROM posts p {}", w.sql))?
                .query_row(rusqlite::params_from_iter(w.params.iter()), |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?;
            auto_interval(
                q.filters.from_ms.or(lo).unwrap_or(0),
                q.filters.to_ms.or(hi).unwrap_or(0),
            )
        }
    };
    let iv = interval.1;
    let sql = format!(
        "SELECT p.t - (((p.t % {iv}) + {iv}) % {iv}) AS b, p.label, count(*) FROM posts p {} GROUP BY b, p.label",
        w.sql
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(w.params.iter()))?;
    let mut counts = Vec::new();
    while let Some(r) = rows.next()? {
        counts.push((
            r.get::<_, i64>(0)?,
            code_label(r.get(1)?)?,
            r.get::<_, i64>(2)? as u64,
        ));
    }
    Ok(Timeline::from_counts(interval, counts))
}

fn posts_sync(conn: &Connection, q: &PostsQuery) -> Result<Posts, Error> {
    let w = Where::new(&q.filters, None);
    let total: i64 = conn
        .prepare_cached(&format!("SELECT count(*) FROM posts p {}", w.sql))?
        .query_row(rusqlite::params_from_iter(w.params.iter()), |r| r.get(0))?;
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
    Ok(Posts {
        total: total as u64,
        posts,
    })
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
