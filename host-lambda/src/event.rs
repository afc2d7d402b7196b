//! Invocation events, read leniently: S3 notifications (every record), the same wrapped in SQS
//! messages (optionally through SNS), and EventBridge `Object Created` events.
//!
//! Only the fields the indexer needs are required. Emulators such as moto omit `userIdentity`,
//! `requestParameters` and others, which `aws_lambda_events::s3::S3Event` insists on.

use percent_encoding::percent_decode_str;
use serde::Deserialize;
use serde_json::Value;

/// One object to index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRef {
    /// Bucket name.
    pub bucket: String,
    /// Key, decoded.
    pub key: String,
}

/// One SQS message and the objects it names (or why it could not be read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqsMessage {
    /// `messageId`, echoed in `batchItemFailures`.
    pub message_id: String,
    /// The objects, or the reason the body is unusable.
    pub objects: Result<Vec<ObjectRef>, String>,
}

/// What an invocation asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation {
    /// A direct S3 notification or an EventBridge event: the objects it names.
    Objects(Vec<ObjectRef>),
    /// An SQS batch: answer with `batchItemFailures`.
    Sqs(Vec<SqsMessage>),
}

#[derive(Deserialize)]
struct Records {
    #[serde(rename = "Records")]
    records: Vec<Value>,
}

#[derive(Deserialize)]
struct S3Record {
    #[serde(rename = "eventName", default)]
    event_name: Option<String>,
    s3: S3Entity,
}

#[derive(Deserialize)]
struct S3Entity {
    bucket: Named,
    object: KeyOnly,
}

#[derive(Deserialize)]
struct Named {
    name: String,
}

#[derive(Deserialize)]
struct KeyOnly {
    key: String,
}

#[derive(Deserialize)]
struct SqsRecord {
    #[serde(rename = "messageId")]
    message_id: String,
    #[serde(default)]
    body: String,
}

#[derive(Deserialize)]
struct EventBridge {
    #[serde(rename = "detail-type")]
    detail_type: String,
    #[serde(default)]
    source: String,
    detail: EbDetail,
}

#[derive(Deserialize)]
struct EbDetail {
    bucket: Named,
    object: KeyOnly,
}

/// Reads an invocation payload.
pub fn parse_invocation(event: &Value) -> Result<Invocation, String> {
    if let Ok(recs) = Records::deserialize(event) {
        let first_source = recs
            .records
            .first()
            .and_then(|r| r.get("eventSource").or_else(|| r.get("EventSource")))
            .and_then(Value::as_str)
            .unwrap_or("");
        if first_source == "aws:sqs" {
            return recs
                .records
                .iter()
                .map(|r| {
                    let m = SqsRecord::deserialize(r)
                        .map_err(|e| format!("SQS record without messageId/body: {e}"))?;
                    Ok(SqsMessage {
                        objects: objects_in_body(&m.body),
                        message_id: m.message_id,
                    })
                })
                .collect::<Result<Vec<_>, String>>()
                .map(Invocation::Sqs);
        }
        return s3_records(&recs.records).map(Invocation::Objects);
    }
    if event.get("detail-type").is_some() {
        return eventbridge(event).map(Invocation::Objects);
    }
    Err(
        "unsupported event: expected an S3 notification (`Records` with `s3`), an SQS batch or an \
         EventBridge `Object Created` event"
            .into(),
    )
}

/// The objects named by an SQS message body: an S3 notification, an EventBridge event, an SNS
/// envelope around either, or the `s3:TestEvent` S3 sends when a notification is set up (no objects).
fn objects_in_body(body: &str) -> Result<Vec<ObjectRef>, String> {
    let v: Value = serde_json::from_str(body).map_err(|e| format!("body is not JSON: {e}"))?;
    if v.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
        return Ok(Vec::new());
    }
    if v.get("Type").and_then(Value::as_str) == Some("Notification") {
        if let Some(inner) = v.get("Message").and_then(Value::as_str) {
            return objects_in_body(inner);
        }
    }
    if let Ok(recs) = Records::deserialize(&v) {
        return s3_records(&recs.records);
    }
    if v.get("detail-type").is_some() {
        return eventbridge(&v);
    }
    Err("body is neither an S3 notification nor an EventBridge event".into())
}

fn s3_records(records: &[Value]) -> Result<Vec<ObjectRef>, String> {
    let mut out = Vec::with_capacity(records.len());
    for (i, r) in records.iter().enumerate() {
        let rec = S3Record::deserialize(r)
            .map_err(|e| format!("S3 record {i} lacks s3.bucket.name/s3.object.key: {e}"))?;
        // Only creations name an object to read; removals and others are acknowledged.
        if let Some(name) = &rec.event_name {
            if !name.starts_with("ObjectCreated") {
                continue;
            }
        }
        out.push(ObjectRef {
            key: decode_key(&rec.s3.object.key)?,
            bucket: rec.s3.bucket.name,
        });
    }
    Ok(out)
}

fn eventbridge(v: &Value) -> Result<Vec<ObjectRef>, String> {
    let eb = EventBridge::deserialize(v).map_err(|e| format!("EventBridge event: {e}"))?;
    if eb.source != "aws.s3" || eb.detail_type != "Object Created" {
        return Ok(Vec::new());
    }
    // EventBridge keys are not URL-encoded.
    Ok(vec![ObjectRef {
        bucket: eb.detail.bucket.name,
        key: eb.detail.object.key,
    }])
}

/// S3 notification keys are form-encoded: `+` is a space and `%XX` a byte (moto encodes `/` too).
pub fn decode_key(key: &str) -> Result<String, String> {
    let spaced = key.replace('+', " ");
    percent_decode_str(&spaced)
        .decode_utf8()
        .map(|k| k.into_owned())
        .map_err(|e| format!("object key {key:?} does not decode to UTF-8: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_decode() {
        assert_eq!(decode_key("a+b%2Bc%2Fd/%C3%A9").unwrap(), "a b+c/d/é");
        assert_eq!(decode_key("plain/key.json").unwrap(), "plain/key.json");
        assert!(decode_key("%FF").is_err());
    }

    #[test]
    fn s3_event_every_record_and_removals_skipped() {
        let v = serde_json::json!({"Records":[
            {"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"k1"}}},
            {"eventName":"ObjectRemoved:Delete","s3":{"bucket":{"name":"b"},"object":{"key":"k2"}}},
            {"s3":{"bucket":{"name":"c"},"object":{"key":"k%2F3"}}}
        ]});
        assert_eq!(
            parse_invocation(&v).unwrap(),
            Invocation::Objects(vec![
                ObjectRef {
                    bucket: "b".into(),
                    key: "k1".into()
                },
                ObjectRef {
                    bucket: "c".into(),
                    key: "k/3".into()
                },
            ])
        );
    }

    #[test]
    fn sqs_batches() {
        let body =
            serde_json::json!({"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put",
            "s3":{"bucket":{"name":"b"},"object":{"key":"a+b"}}}]})
            .to_string();
        let v = serde_json::json!({"Records":[
            {"messageId":"m1","eventSource":"aws:sqs","body": body},
            {"messageId":"m2","eventSource":"aws:sqs","body":"{\"Service\":\"Amazon S3\",\"Event\":\"s3:TestEvent\"}"},
            {"messageId":"m3","eventSource":"aws:sqs","body":"nope"}
        ]});
        let Invocation::Sqs(ms) = parse_invocation(&v).unwrap() else {
            panic!("not sqs")
        };
        assert_eq!(
            ms[0].objects,
            Ok(vec![ObjectRef {
                bucket: "b".into(),
                key: "a b".into()
            }])
        );
        assert_eq!(ms[1].objects, Ok(vec![]));
        assert!(ms[2].objects.is_err());
        assert_eq!(ms[2].message_id, "m3");
    }

    #[test]
    fn eventbridge_and_unknown() {
        let v = serde_json::json!({"version":"0","detail-type":"Object Created","source":"aws.s3",
            "detail":{"bucket":{"name":"b"},"object":{"key":"raw/a b:c.json","size":3}}});
        assert_eq!(
            parse_invocation(&v).unwrap(),
            Invocation::Objects(vec![ObjectRef {
                bucket: "b".into(),
                key: "raw/a b:c.json".into()
            }])
        );
        assert!(parse_invocation(&serde_json::json!({"hello":1})).is_err());
    }
}
