//! Any bytes: normalisation returns a post or a typed error, never panics, and a post it returns
//! always has an id, a valid time and an on-Earth location.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(post) = sentimap_core::normalize(data) {
        assert!(!post.id.is_empty());
        assert!(post.created_at.ends_with('Z'));
        if let Some((lat, lon)) = post.location.point() {
            assert!((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon));
        }
        let doc = sentimap_core::IndexDoc::score(post);
        assert!((-1.0..=1.0).contains(&doc.sentiment.compound));
    }
});
