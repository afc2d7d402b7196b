//! Normalisation throughput on raw X v1.1 statuses (the Lambda's hot path), in bytes per second.
//!
//! `cargo bench -p sentimap-core --bench normalize`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde_json::{json, Value};

/// Statuses shaped like the v1.1 stream's: a full user object, entities, place and metadata,
/// about 4-5 KB each, built from the hand-written fixtures.
fn corpus() -> Vec<Vec<u8>> {
    let fixtures = include_str!("../../tests/fixtures/normalize/x_v1.jsonl");
    let user_extra = json!({
        "url": "https://example.invalid/profile", "description": "Lover of lights, snow and hot chocolate. Opinions my own. \u{2744}\u{fe0f}",
        "translator_type": "none", "protected": false, "verified": false, "followers_count": 1234,
        "friends_count": 567, "listed_count": 8, "favourites_count": 9876, "statuses_count": 54321,
        "created_at": "Mon Jan 01 00:00:00 +0000 2012", "utc_offset": null, "time_zone": null,
        "geo_enabled": true, "lang": null, "contributors_enabled": false, "is_translator": false,
        "profile_background_color": "C0DEED", "profile_background_image_url": "http://abs.twimg.com/images/themes/theme1/bg.png",
        "profile_background_image_url_https": "https://abs.twimg.com/images/themes/theme1/bg.png",
        "profile_background_tile": false, "profile_link_color": "1DA1F2", "profile_sidebar_border_color": "C0DEED",
        "profile_sidebar_fill_color": "DDEEF6", "profile_text_color": "333333", "profile_use_background_image": true,
        "profile_image_url": "http://pbs.twimg.com/profile_images/1/abc_normal.jpg",
        "profile_image_url_https": "https://pbs.twimg.com/profile_images/1/abc_normal.jpg",
        "profile_banner_url": "https://pbs.twimg.com/profile_banners/1/1", "default_profile": true,
        "default_profile_image": false, "following": null, "follow_request_sent": null, "notifications": null
    });
    let mut out = Vec::new();
    for line in fixtures.lines() {
        let mut status: Value = serde_json::from_str(line).expect("fixture is JSON");
        if let Some(Value::Object(user)) = status.get_mut("user") {
            for (k, v) in user_extra.as_object().into_iter().flatten() {
                user.insert(k.clone(), v.clone());
            }
        }
        for (k, v) in [
            ("source", json!("<a href=\"http://twitter.com/download/iphone\" rel=\"nofollow\">Twitter for iPhone</a>")),
            ("in_reply_to_status_id", Value::Null),
            ("in_reply_to_status_id_str", Value::Null),
            ("in_reply_to_user_id", Value::Null),
            ("in_reply_to_screen_name", Value::Null),
            ("contributors", Value::Null),
            ("quote_count", json!(0)),
            ("reply_count", json!(0)),
            ("retweet_count", json!(0)),
            ("favorite_count", json!(0)),
            ("favorited", json!(false)),
            ("retweeted", json!(false)),
            ("filter_level", json!("low")),
        ] {
            status[k] = v;
        }
        out.push(serde_json::to_vec(&status).expect("serialises"));
    }
    out
}

fn normalize(c: &mut Criterion) {
    let corpus = corpus();
    let bytes: usize = corpus.iter().map(Vec::len).sum();
    let mut group = c.benchmark_group("normalize");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function("x_v1", |b| {
        b.iter(|| {
            for raw in &corpus {
                let post = sentimap_core::normalize(raw).expect("valid fixture");
                std::hint::black_box(post);
            }
        })
    });
    group.finish();
}

criterion_group!(benches, normalize);
criterion_main!(benches);
