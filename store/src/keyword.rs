//! Keyword search in the SQLite store: a posting list per word and counts per word, hour and label,
//! so a one-word search costs what its answer needs, not a pass over every matching post.
//!
//! - `post_words (word, label, t, rid, qlat, qlon, c32)`, clustered by word, then label, then time:
//!   each word's posting list carries the few columns the aggregations read, so a search reads one
//!   contiguous range per label, seeks straight to a time range, and never touches the wide `posts`
//!   rows (only the answer's points and posts are read from there).
//! - `roll_word (word, h, label, n, s)` and `roll_word_tag (word, h, tag, label, n)`: per-word twins
//!   of `roll_hour` and `roll_tag`, kept on every write. Whole hours of a range come from them, the
//!   partial hours at its edges from the posting list.
//! - `posts_words`: FTS5 over the same words (contentless, `detail=none`), for searches of several
//!   words, which intersect posting lists there.
//!
//! Posts and searches are split into words by one function ([`text_words`] and
//! [`crate::query::search_words`] share [`split_words`]), and the FTS5 tokenizer is set to split
//! on spaces only, so the posting lists, the rollups and FTS5 agree on what matches.

use std::collections::BTreeMap;

use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection, OptionalExtension};
use sentimap_core::sentiment::Label;

use crate::geo::{Tile, MAX_ZOOM};
use crate::query::{
    auto_interval, bucket_start, format_ms, round4, split_words, Filters, GeoQuery, LabelCounts,
    MapPoint, Posts, PostsQuery, RawCell, Summary, SummaryQuery, TagCount, TimelineQuery,
    MAX_WORD_CHARS,
};
use crate::rollup::{split, Piece, HOUR};
use crate::sqlite::{code_label, label_code};
use crate::Error;

/// Bumped when the word tables change meaning; a store with another version rebuilds them (and a
/// store from before they existed gets them) when it opens.
pub(crate) const WORDS_VERSION: i64 = 1;

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
    PRIMARY KEY (word, label, t, rid)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS roll_word (
    word TEXT NOT NULL, h INTEGER NOT NULL, label INTEGER NOT NULL, n INTEGER NOT NULL, s REAL NOT NULL,
    PRIMARY KEY (word, h, label)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS roll_word_tag (
    word TEXT NOT NULL, h INTEGER NOT NULL, tag TEXT NOT NULL, label INTEGER NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (word, h, tag, label)
) WITHOUT ROWID;
";

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

/// `word, labels.., lo, hi` as parameters, the shape of every posting-list range read.
fn range_params(word: &str, labels: &[i64], lo: i64, hi: i64) -> Vec<Value> {
    let mut p = vec![Value::Text(word.to_owned())];
    p.extend(labels.iter().map(|l| Value::Integer(*l)));
    p.push(Value::Integer(lo));
    p.push(Value::Integer(hi));
    p
}

/// Counts and compound sums per label of the posts holding `word`.
fn totals(conn: &Connection, word: &str, f: &Filters) -> Result<(LabelCounts, f64), Error> {
    let labels = label_codes(f);
    let m = marks(labels.len());
    let mut counts = LabelCounts::default();
    let mut sum = 0.0;
    for piece in split(f.from_ms, f.to_ms, false) {
        let (sql, lo, hi) = match piece {
            Piece::Hours(lo, hi) => (
                format!(
                    "SELECT label, sum(n), total(s) FROM roll_word
                     WHERE word = ? AND label IN ({m}) AND h >= ? AND h < ? GROUP BY label"
                ),
                lo,
                hi,
            ),
            Piece::Minutes(lo, hi) | Piece::Raw(lo, hi) => (
                format!(
                    "SELECT label, count(*), total(c32) FROM post_words
                     WHERE word = ? AND label IN ({m}) AND t >= ? AND t < ? GROUP BY label"
                ),
                lo,
                hi,
            ),
        };
        let mut stmt = conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(params_from_iter(range_params(word, &labels, lo, hi)))?;
        while let Some(r) = rows.next()? {
            counts.add(code_label(r.get(0)?)?, r.get::<_, i64>(1)?.max(0) as u64);
            sum += r.get::<_, f64>(2)?;
        }
    }
    Ok((counts, sum))
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
    let (first, last) = if total > 0 {
        extent(conn, word, f)?
    } else {
        (None, None)
    };
    let mut tags: BTreeMap<String, i64> = BTreeMap::new();
    if q.top > 0 && total > 0 {
        let codes = label_codes(f);
        let m = marks(codes.len());
        for piece in split(f.from_ms, f.to_ms, false) {
            let (sql, lo, hi) = match piece {
                Piece::Hours(lo, hi) => (
                    format!(
                        "SELECT tag, sum(n) FROM roll_word_tag
                         WHERE word = ? AND label IN ({m}) AND h >= ? AND h < ? GROUP BY tag"
                    ),
                    lo,
                    hi,
                ),
                Piece::Minutes(lo, hi) | Piece::Raw(lo, hi) => (
                    format!(
                        "SELECT g.tag, count(*) FROM post_words w JOIN tags g ON g.rid = w.rid
                         WHERE w.word = ? AND w.label IN ({m}) AND w.t >= ? AND w.t < ? GROUP BY g.tag"
                    ),
                    lo,
                    hi,
                ),
            };
            let mut stmt = conn.prepare_cached(&sql)?;
            let mut rows = stmt.query(params_from_iter(range_params(word, &codes, lo, hi)))?;
            while let Some(r) = rows.next()? {
                *tags.entry(r.get(0)?).or_default() += r.get::<_, i64>(1)?;
            }
        }
    }
    let mut top: Vec<TagCount> = tags
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(tag, n)| TagCount {
            tag,
            count: n as u64,
        })
        .collect();
    top.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.tag.cmp(&b.tag)));
    top.truncate(q.top);
    Ok(Summary {
        total,
        labels,
        compound_mean: (total > 0).then(|| round4(sum / total as f64)),
        first_at: first.map(format_ms),
        last_at: last.map(format_ms),
        top_hashtags: top,
    })
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
    let m = marks(codes.len());
    let mut counts: BTreeMap<(i64, i64), u64> = BTreeMap::new();
    let pieces = if iv >= HOUR && iv % HOUR == 0 {
        split(f.from_ms, f.to_ms, false)
    } else {
        let (lo, hi) = bounds(f);
        vec![Piece::Raw(lo, hi)]
    };
    for piece in pieces {
        let (sql, lo, hi) = match piece {
            Piece::Hours(lo, hi) => (
                format!(
                    "SELECT h, label, n FROM roll_word
                     WHERE word = ? AND label IN ({m}) AND h >= ? AND h < ?"
                ),
                lo,
                hi,
            ),
            Piece::Minutes(lo, hi) | Piece::Raw(lo, hi) => (
                format!(
                    "SELECT t, label, 1 FROM post_words
                     WHERE word = ? AND label IN ({m}) AND t >= ? AND t < ?"
                ),
                lo,
                hi,
            ),
        };
        let mut stmt = conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(params_from_iter(range_params(word, &codes, lo, hi)))?;
        while let Some(r) = rows.next()? {
            let n: i64 = r.get(2)?;
            if n > 0 {
                *counts
                    .entry((bucket_start(r.get(0)?, iv), r.get(1)?))
                    .or_default() += n as u64;
            }
        }
    }
    let triples = counts
        .into_iter()
        .map(|((b, l), n)| Ok((b, code_label(l)?, n)))
        .collect::<Result<Vec<(i64, Label, u64)>, Error>>()?;
    Ok(crate::Timeline::from_counts(interval, triples))
}

/// `/api/geo` for a one-word search: one pass over the word's postings in the box (by label and
/// time), cells summed here; the wide rows are read only for an answer of points.
pub(crate) fn geo(conn: &Connection, word: &str, q: &GeoQuery) -> Result<crate::Geo, Error> {
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
    let mut ps = range_params(word, &codes, lo, hi);
    ps.extend([e.min_lat, e.max_lat, e.min_lon, e.max_lon].map(Value::Integer));
    let shift = MAX_ZOOM - precision;
    let mut total: u64 = 0;
    let mut rids: Vec<i64> = Vec::new();
    let mut cells: BTreeMap<(u32, u32), (LabelCounts, f64)> = BTreeMap::new();
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params_from_iter(ps))?;
    while let Some(r) = rows.next()? {
        total += 1;
        if rids.len() <= q.max_points {
            rids.push(r.get(0)?);
        }
        let tile = Tile::of(r.get(2)?, r.get(3)?, MAX_ZOOM);
        let c = cells.entry((tile.x >> shift, tile.y >> shift)).or_default();
        c.0.add(code_label(r.get(1)?)?, 1);
        c.1 += r.get::<_, f64>(4)?;
    }
    if total <= q.max_points as u64 {
        let mut one =
            conn.prepare_cached("SELECT id, lat, lon, label, compound FROM posts WHERE rid = ?1")?;
        let mut points = Vec::with_capacity(rids.len());
        for rid in rids {
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
        return Ok(crate::Geo::from_points(total, precision, points));
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
    Ok(crate::Geo::from_cells(total, precision, raw))
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
    found.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| b.1.cmp(&a.1)));
    found.truncate(q.limit);
    let posts = found
        .into_iter()
        .map(|(_, _, doc)| {
            serde_json::from_str::<sentimap_core::IndexDoc>(&doc)
                .map(crate::query::PostItem::from)
                .map_err(|e| Error::Shape(format!("stored document: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Posts { total, posts })
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
    let n: i64 = conn.query_row("SELECT count(*) FROM posts", [], |r| r.get(0))?;
    if n > 0 {
        tracing::info!(posts = n, "Building the keyword index of an older store.");
    }
    let tx = conn.transaction()?;
    tx.execute_batch(
        "DELETE FROM post_words; DELETE FROM roll_word; DELETE FROM roll_word_tag;
         DROP TABLE IF EXISTS posts_fts; DROP TABLE IF EXISTS posts_words;",
    )?;
    tx.execute_batch(FTS)?;
    {
        let mut read = tx.prepare(
            "SELECT rid, label, t, qlat, qlon, c32, json_extract(doc, '$.text') FROM posts",
        )?;
        let mut ins = tx.prepare(
            "INSERT INTO post_words (word, label, t, rid, qlat, qlon, c32)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        let mut fts = tx.prepare("INSERT INTO posts_words (rowid, words) VALUES (?1, ?2)")?;
        let mut rows = read.query([])?;
        while let Some(r) = rows.next()? {
            let rid: i64 = r.get(0)?;
            let (label, t): (i64, i64) = (r.get(1)?, r.get(2)?);
            let (qlat, qlon): (Option<i64>, Option<i64>) = (r.get(3)?, r.get(4)?);
            let c32: f64 = r.get(5)?;
            let text: Option<String> = r.get(6)?;
            let words = text_words(text.as_deref().unwrap_or_default());
            for w in &words {
                ins.execute(rusqlite::params![w, label, t, rid, qlat, qlon, c32])?;
            }
            fts.execute(rusqlite::params![rid, words.join(" ")])?;
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
                let raw = serde_json::json!({ "data": {
                    "id": format!("{}", 5_000 + i),
                    "text": texts[i % texts.len()],
                    "created_at": format_ms(1_735_084_800_000 + i as i64 * 997_001),
                    "entities": { "hashtags": [{ "start": 0, "end": 1, "tag": "Christmas" }] },
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
    /// lists) gets it when it opens and answers searches as a new store does.
    #[tokio::test]
    async fn issue7_old_store_gets_the_word_index_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.sqlite");
        let new = SqliteStore::open(dir.path().join("new.sqlite")).unwrap();
        new.index(&docs(120)).await.unwrap();
        let want = answers(&new).await;
        assert!(want[0].contains("total: 60"), "{}", want[0]);
        {
            let s = SqliteStore::open(&path).unwrap();
            s.index(&docs(120)).await.unwrap();
        }
        {
            // Back to the old layout: no word tables, FTS5 over the raw text.
            let c = Connection::open(&path).unwrap();
            c.execute_batch(
                "DROP TABLE post_words; DROP TABLE roll_word; DROP TABLE roll_word_tag;
                 DROP TABLE posts_words; DELETE FROM meta WHERE k = 'words';
                 CREATE VIRTUAL TABLE posts_fts USING fts5 (
                     text, content = '', contentless_delete = 1,
                     tokenize = 'unicode61 remove_diacritics 0');
                 INSERT INTO posts_fts (rowid, text)
                     SELECT rid, json_extract(doc, '$.text') FROM posts;",
            )
            .unwrap();
        }
        let old = SqliteStore::open(&path).unwrap();
        assert_eq!(answers(&old).await, want);
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
