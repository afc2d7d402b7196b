//! Bulk request bodies and bulk answers: pure encoding and classification, no I/O.
//!
//! A bulk answer is read item by item: HTTP 200 with `"errors": true` is a partial failure. Items
//! with 429 or 5xx are retried, any other failure is the engine refusing the document (mapping
//! conflict, bad value) and goes to the dead letters with the engine's reason.

use std::collections::BTreeMap;

use sentimap_core::IndexDoc;
use serde::Deserialize;

/// Where a document came from, kept beside it for dead letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin {
    /// 1-based line in the object.
    pub line: u64,
    /// Byte offset in the (decompressed) object.
    pub offset: u64,
    /// 0-based record position in the object.
    pub index: u64,
}

/// One item of a bulk body: byte ranges of its action and document lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Item {
    start: usize,
    doc_start: usize,
    end: usize,
    origin: Origin,
}

/// An NDJSON bulk body being filled, with the position of every item in it.
#[derive(Debug, Default)]
pub struct BulkBuffer {
    body: Vec<u8>,
    items: Vec<Item>,
}

impl BulkBuffer {
    /// An empty buffer with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        BulkBuffer {
            body: Vec::with_capacity(capacity),
            items: Vec::new(),
        }
    }

    /// Appends an `index` action (`_id` = the document id, so re-deliveries overwrite) and the document.
    pub fn push(&mut self, index: &str, doc: &IndexDoc, origin: Origin) {
        let start = self.body.len();
        self.body.extend_from_slice(b"{\"index\":{\"_index\":");
        write_json_str(&mut self.body, index);
        self.body.extend_from_slice(b",\"_id\":");
        write_json_str(&mut self.body, &doc.id);
        self.body.extend_from_slice(b"}}\n");
        let doc_start = self.body.len();
        if serde_json::to_writer(&mut self.body, doc).is_err() {
            // Serialising an IndexDoc into memory can not fail (plain fields, string keys); if it
            // ever did, drop the half-written item rather than send a broken body.
            self.body.truncate(start);
            return;
        }
        self.body.push(b'\n');
        self.items.push(Item {
            start,
            doc_start,
            end: self.body.len(),
            origin,
        });
    }

    /// The body bytes.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Body size in bytes.
    pub fn len_bytes(&self) -> usize {
        self.body.len()
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there is nothing to send.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Empties the buffer, keeping its memory.
    pub fn clear(&mut self) {
        self.body.clear();
        self.items.clear();
    }

    /// The document JSON of item `i`.
    pub fn doc(&self, i: usize) -> &[u8] {
        let it = &self.items[i];
        &self.body[it.doc_start..it.end.saturating_sub(1)]
    }

    /// The origin of item `i`.
    pub fn origin(&self, i: usize) -> Origin {
        self.items[i].origin
    }

    /// A new buffer holding only the items at `keep` (in order), for a retry round.
    pub fn retain(&mut self, keep: &[usize]) {
        let mut body = Vec::with_capacity(
            keep.iter()
                .map(|&i| self.items[i].end - self.items[i].start)
                .sum(),
        );
        let mut items = Vec::with_capacity(keep.len());
        for &i in keep {
            let it = self.items[i];
            let start = body.len();
            body.extend_from_slice(&self.body[it.start..it.end]);
            items.push(Item {
                start,
                doc_start: start + (it.doc_start - it.start),
                end: body.len(),
                origin: it.origin,
            });
        }
        self.body = body;
        self.items = items;
    }
}

/// Writes `s` as a JSON string literal.
fn write_json_str(out: &mut Vec<u8>, s: &str) {
    // Writing to a Vec can not fail.
    let _ = serde_json::to_writer(out, s);
}

/// The parts of a bulk answer the indexer reads.
#[derive(Debug, Deserialize)]
pub struct BulkResponse {
    /// Whether any item failed.
    pub errors: bool,
    /// One entry per item, `{"index": {...}}`.
    pub items: Vec<BTreeMap<String, BulkItem>>,
}

/// One item's result.
#[derive(Debug, Deserialize)]
pub struct BulkItem {
    /// HTTP status of the item.
    pub status: u16,
    /// The engine's error, when the item failed.
    #[serde(default)]
    pub error: Option<serde_json::Value>,
}

/// What became of one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Indexed (created or updated).
    Indexed,
    /// 429 or 5xx: send again.
    Retry(u16),
    /// Refused by the engine (4xx): dead-letter with the reason.
    Rejected {
        /// Item status.
        status: u16,
        /// `type: reason` from the engine.
        reason: String,
    },
}

/// Whether an HTTP status is worth retrying.
pub fn retryable(status: u16) -> bool {
    status == 429 || (500..=599).contains(&status)
}

/// Reads a bulk answer for a body of `expected` items.
pub fn classify(answer: &[u8], expected: usize) -> Result<Vec<Outcome>, String> {
    let resp: BulkResponse =
        serde_json::from_slice(answer).map_err(|e| format!("unreadable bulk answer: {e}"))?;
    if resp.items.len() != expected {
        return Err(format!(
            "bulk answer has {} items for {expected} sent",
            resp.items.len()
        ));
    }
    Ok(resp
        .items
        .iter()
        .map(|m| match m.values().next() {
            None => Outcome::Retry(0),
            Some(item) if (200..300).contains(&item.status) => Outcome::Indexed,
            Some(item) if retryable(item.status) => Outcome::Retry(item.status),
            Some(item) => Outcome::Rejected {
                status: item.status,
                reason: engine_reason(item.error.as_ref()),
            },
        })
        .collect())
}

/// `type: reason (caused by: type: reason)` from an engine error object.
pub fn engine_reason(error: Option<&serde_json::Value>) -> String {
    let Some(e) = error else {
        return "no reason given".into();
    };
    let part = |v: &serde_json::Value| {
        let t = v.get("type").and_then(|t| t.as_str()).unwrap_or("error");
        let r = v.get("reason").and_then(|t| t.as_str()).unwrap_or("");
        format!("{t}: {r}")
    };
    match e.get("caused_by") {
        Some(c) => format!("{} (caused by {})", part(e), part(c)),
        None if e.is_string() => e.as_str().unwrap_or_default().to_owned(),
        None => part(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(id: &str) -> IndexDoc {
        let raw = format!(
            r#"{{"id_str":"{id}","text":"hi \"there\"","created_at":"Wed Dec 25 10:00:00 +0000 2024","user":{{"id_str":"7","screen_name":"elf"}},"coordinates":{{"type":"Point","coordinates":[-0.12,51.5]}}}}"#
        );
        IndexDoc::score(sentimap_core::normalize(raw.as_bytes()).unwrap())
    }

    fn origin(line: u64) -> Origin {
        Origin {
            line,
            offset: line * 10,
            index: line - 1,
        }
    }

    #[test]
    fn body_is_ndjson_with_ids() {
        let mut b = BulkBuffer::default();
        b.push("idx-2024.12", &doc("1"), origin(1));
        b.push("idx", &doc("2"), origin(2));
        let text = std::str::from_utf8(b.body()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(text.ends_with('\n'));
        let action: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(action["index"]["_index"], "idx-2024.12");
        assert_eq!(action["index"]["_id"], "x:1");
        let d: IndexDoc = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(d, doc("1"));
        assert_eq!(b.doc(1), lines[3].as_bytes());
        assert_eq!(b.origin(1), origin(2));
    }

    #[test]
    fn retain_keeps_only_failed_items() {
        let mut b = BulkBuffer::default();
        for i in 1..=4 {
            b.push("idx", &doc(&i.to_string()), origin(i));
        }
        let want: Vec<u8> = [1usize, 3]
            .iter()
            .flat_map(|&i| {
                let mut one = BulkBuffer::default();
                one.push("idx", &doc(&(i + 1).to_string()), origin(i as u64 + 1));
                one.body().to_vec()
            })
            .collect();
        b.retain(&[1, 3]);
        assert_eq!(b.len(), 2);
        assert_eq!(b.body(), &want[..]);
        assert_eq!(b.origin(1), origin(4));
        let d: IndexDoc = serde_json::from_slice(b.doc(0)).unwrap();
        assert_eq!(d.id, "x:2");
    }

    #[test]
    fn classify_partial_failure() {
        let answer = br#"{"took":3,"errors":true,"items":[
          {"index":{"_index":"i","_id":"x:1","status":201,"result":"created"}},
          {"index":{"_index":"i","_id":"x:2","status":429,"error":{"type":"es_rejected_execution_exception","reason":"queue full"}}},
          {"index":{"_index":"i","_id":"x:3","status":400,"error":{"type":"mapper_parsing_exception","reason":"failed to parse field [location.point]","caused_by":{"type":"illegal_argument_exception","reason":"illegal latitude value [200.0]"}}}},
          {"index":{"_index":"i","_id":"x:4","status":503,"error":{"type":"unavailable_shards_exception","reason":"primary shard is not active"}}},
          {"index":{"_index":"i","_id":"x:5","status":200,"result":"updated"}}]}"#;
        let got = classify(answer, 5).unwrap();
        assert_eq!(
            got,
            vec![
                Outcome::Indexed,
                Outcome::Retry(429),
                Outcome::Rejected {
                    status: 400,
                    reason: "mapper_parsing_exception: failed to parse field [location.point] (caused by illegal_argument_exception: illegal latitude value [200.0])".into()
                },
                Outcome::Retry(503),
                Outcome::Indexed,
            ]
        );
        assert!(classify(answer, 4).unwrap_err().contains("5 items for 4"));
        assert!(classify(b"<html>", 1).is_err());
    }
}
