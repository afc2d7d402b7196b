//! Synthetic posts for demos and load: X v1.1, X v2 and Jetstream shapes, many languages, emoji,
//! hashtags, coordinates around real cities weighted by population, a share without location.
//! Seeded: the same seed and start time give the same bytes. [`Generator`] is a plain iterator so
//! the local demo can reuse it without the producer.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use super::Pacer;
use crate::produce::config::GenerateConfig;
use crate::produce::filter::Ingest;

/// One city: name, ISO country code, latitude, longitude, metro population (thousands), language.
type City = (&'static str, &'static str, f64, f64, u32, &'static str);

/// Large cities on every continent (approximate metro populations), plus a few small ones near
/// edges of the map (Suva is next to the antimeridian, Reykjavik far north).
pub const CITIES: &[City] = &[
    ("Tokyo", "JP", 35.6762, 139.6503, 37_400, "ja"),
    ("Delhi", "IN", 28.7041, 77.1025, 31_000, "hi"),
    ("Shanghai", "CN", 31.2304, 121.4737, 27_000, "zh"),
    ("São Paulo", "BR", -23.5505, -46.6333, 22_000, "pt"),
    ("Mexico City", "MX", 19.4326, -99.1332, 21_800, "es"),
    ("Cairo", "EG", 30.0444, 31.2357, 21_300, "ar"),
    ("Dhaka", "BD", 23.8103, 90.4125, 21_000, "en"),
    ("Mumbai", "IN", 19.0760, 72.8777, 20_400, "hi"),
    ("Beijing", "CN", 39.9042, 116.4074, 20_400, "zh"),
    ("Osaka", "JP", 34.6937, 135.5023, 19_100, "ja"),
    ("New York", "US", 40.7128, -74.0060, 18_800, "en"),
    ("Karachi", "PK", 24.8607, 67.0011, 16_000, "en"),
    ("Istanbul", "TR", 41.0082, 28.9784, 15_400, "tr"),
    ("Buenos Aires", "AR", -34.6037, -58.3816, 15_200, "es"),
    ("Kolkata", "IN", 22.5726, 88.3639, 14_900, "hi"),
    ("Lagos", "NG", 6.5244, 3.3792, 14_400, "en"),
    ("Manila", "PH", 14.5995, 120.9842, 13_900, "en"),
    ("Rio de Janeiro", "BR", -22.9068, -43.1729, 13_500, "pt"),
    ("Moscow", "RU", 55.7558, 37.6173, 12_500, "ru"),
    ("Los Angeles", "US", 34.0522, -118.2437, 12_400, "en"),
    ("Paris", "FR", 48.8566, 2.3522, 11_000, "fr"),
    ("Bogotá", "CO", 4.7110, -74.0721, 10_900, "es"),
    ("Jakarta", "ID", -6.2088, 106.8456, 10_800, "id"),
    ("Lima", "PE", -12.0464, -77.0428, 10_700, "es"),
    ("Bangkok", "TH", 13.7563, 100.5018, 10_500, "en"),
    ("Seoul", "KR", 37.5665, 126.9780, 9_900, "ko"),
    ("London", "GB", 51.5074, -0.1278, 9_300, "en"),
    ("Chicago", "US", 41.8781, -87.6298, 8_900, "en"),
    ("Riyadh", "SA", 24.7136, 46.6753, 7_200, "ar"),
    ("Madrid", "ES", 40.4168, -3.7038, 6_600, "es"),
    ("Toronto", "CA", 43.6532, -79.3832, 6_200, "en"),
    ("Singapore", "SG", 1.3521, 103.8198, 5_900, "en"),
    ("Johannesburg", "ZA", -26.2041, 28.0473, 5_900, "en"),
    ("Sydney", "AU", -33.8688, 151.2093, 5_300, "en"),
    ("Guadalajara", "MX", 20.6597, -103.3496, 5_200, "es"),
    ("Nairobi", "KE", -1.2921, 36.8219, 4_700, "sw"),
    ("San Francisco", "US", 37.7749, -122.4194, 4_700, "en"),
    ("Rome", "IT", 41.9028, 12.4964, 4_300, "it"),
    ("Montreal", "CA", 45.5017, -73.5673, 4_300, "fr"),
    ("Berlin", "DE", 52.5200, 13.4050, 3_600, "de"),
    ("Dubai", "AE", 25.2048, 55.2708, 3_500, "ar"),
    ("Milan", "IT", 45.4642, 9.1900, 3_100, "it"),
    ("Lisbon", "PT", 38.7223, -9.1393, 2_900, "pt"),
    ("Hamburg", "DE", 53.5511, 9.9937, 1_900, "de"),
    ("Auckland", "NZ", -36.8485, 174.7633, 1_700, "en"),
    ("Amsterdam", "NL", 52.3676, 4.9041, 1_200, "nl"),
    ("Reykjavík", "IS", 64.1466, -21.9426, 230, "en"),
    ("Suva", "FJ", -18.1248, 178.4501, 180, "en"),
];

/// Topics in English; every language below translates them in this order. Hashtags use these.
pub const TOPICS: [&str; 8] = [
    "christmas",
    "coffee",
    "football",
    "music",
    "rain",
    "traffic",
    "weekend",
    "holiday",
];

/// A language: its tag, topic words, and positive and negative templates (`{t}` is the topic).
type Lang = (
    &'static str,
    [&'static str; 8],
    [&'static str; 3],
    [&'static str; 3],
);

const LANGS: &[Lang] = &[
    (
        "en",
        [
            "Christmas",
            "coffee",
            "football",
            "music",
            "rain",
            "traffic",
            "the weekend",
            "the holiday",
        ],
        [
            "I love {t}",
            "{t} makes me so happy",
            "What a wonderful day for {t}",
        ],
        ["I hate {t}", "So tired of {t}", "{t} is just awful today"],
    ),
    (
        "es",
        [
            "Navidad",
            "café",
            "fútbol",
            "música",
            "lluvia",
            "tráfico",
            "fin de semana",
            "vacaciones",
        ],
        [
            "Me encanta: {t}",
            "¡Qué alegría, {t}!",
            "Qué día tan bonito: {t}",
        ],
        ["Odio {t}", "Estoy harto: {t}", "Qué horrible, {t}"],
    ),
    (
        "fr",
        [
            "Noël",
            "café",
            "football",
            "musique",
            "pluie",
            "embouteillages",
            "week-end",
            "vacances",
        ],
        [
            "J'adore : {t}",
            "{t}, quel bonheur",
            "Quelle belle journée : {t}",
        ],
        ["Je déteste : {t}", "{t}, quelle horreur", "Marre : {t}"],
    ),
    (
        "de",
        [
            "Weihnachten",
            "Kaffee",
            "Fußball",
            "Musik",
            "Regen",
            "Stau",
            "Wochenende",
            "Urlaub",
        ],
        [
            "Ich liebe {t}",
            "{t} macht mich so glücklich",
            "Was für ein wunderbarer Tag: {t}",
        ],
        [
            "Ich hasse {t}",
            "{t} nervt total",
            "Schon wieder {t}, furchtbar",
        ],
    ),
    (
        "pt",
        [
            "Natal",
            "café",
            "futebol",
            "música",
            "chuva",
            "trânsito",
            "fim de semana",
            "férias",
        ],
        [
            "Eu amo {t}",
            "{t} me deixa tão feliz",
            "Que dia maravilhoso: {t}",
        ],
        ["Odeio {t}", "{t} é horrível", "Cansado de {t}"],
    ),
    (
        "it",
        [
            "Natale",
            "caffè",
            "calcio",
            "musica",
            "pioggia",
            "traffico",
            "fine settimana",
            "vacanze",
        ],
        [
            "Adoro {t}",
            "{t}, che gioia",
            "Che giornata meravigliosa: {t}",
        ],
        ["Odio {t}", "{t}, che schifo", "Stufo di {t}"],
    ),
    (
        "ja",
        [
            "クリスマス",
            "コーヒー",
            "サッカー",
            "音楽",
            "雨",
            "渋滞",
            "週末",
            "休日",
        ],
        ["{t}が大好き", "{t}最高！", "今日の{t}は楽しい"],
        ["{t}が嫌い", "{t}最悪", "また{t}か…疲れた"],
    ),
    (
        "zh",
        [
            "圣诞节",
            "咖啡",
            "足球",
            "音乐",
            "下雨",
            "堵车",
            "周末",
            "假期",
        ],
        ["我爱{t}", "{t}太棒了", "今天的{t}真开心"],
        ["讨厌{t}", "{t}太糟糕了", "又是{t}，好累"],
    ),
    (
        "ar",
        [
            "عيد الميلاد",
            "القهوة",
            "كرة القدم",
            "الموسيقى",
            "المطر",
            "الزحام",
            "عطلة نهاية الأسبوع",
            "الإجازة",
        ],
        ["أحب {t}", "{t} رائع جدا", "يوم جميل مع {t}"],
        ["أكره {t}", "{t} سيء جدا", "تعبت من {t}"],
    ),
    (
        "hi",
        [
            "क्रिसमस",
            "कॉफ़ी",
            "फ़ुटबॉल",
            "संगीत",
            "बारिश",
            "ट्रैफ़िक",
            "सप्ताहांत",
            "छुट्टी",
        ],
        ["मुझे {t} पसंद है", "{t} बहुत अच्छा है", "क्या शानदार दिन है: {t}"],
        ["मुझे {t} से नफ़रत है", "{t} बहुत बुरा है", "{t} से थक गया"],
    ),
    (
        "ru",
        [
            "Рождество",
            "кофе",
            "футбол",
            "музыка",
            "дождь",
            "пробки",
            "выходные",
            "отпуск",
        ],
        [
            "Обожаю: {t}",
            "{t} — это прекрасно",
            "Какой чудесный день: {t}",
        ],
        ["Ненавижу: {t}", "{t} — это ужасно", "Устал: {t}"],
    ),
    (
        "tr",
        [
            "Noel",
            "kahve",
            "futbol",
            "müzik",
            "yağmur",
            "trafik",
            "hafta sonu",
            "tatil",
        ],
        ["{t} çok güzel", "{t} harika", "Ne güzel bir gün: {t}"],
        ["{t} berbat", "{t} çok kötü", "{t} yüzünden yoruldum"],
    ),
    (
        "ko",
        [
            "크리스마스",
            "커피",
            "축구",
            "음악",
            "비",
            "교통체증",
            "주말",
            "휴일",
        ],
        ["{t} 너무 좋아", "{t} 최고!", "오늘 {t} 행복해"],
        ["{t} 싫어", "{t} 최악", "또 {t}… 피곤해"],
    ),
    (
        "id",
        [
            "Natal",
            "kopi",
            "sepak bola",
            "musik",
            "hujan",
            "macet",
            "akhir pekan",
            "liburan",
        ],
        ["Aku suka {t}", "{t} bikin bahagia", "Hari yang indah: {t}"],
        ["Benci {t}", "{t} parah banget", "Capek sama {t}"],
    ),
    (
        "nl",
        [
            "Kerstmis", "koffie", "voetbal", "muziek", "regen", "file", "weekend", "vakantie",
        ],
        [
            "Ik hou van {t}",
            "{t} maakt me blij",
            "Wat een heerlijke dag: {t}",
        ],
        ["Ik haat {t}", "{t} is vreselijk", "Weer {t}, balen"],
    ),
    (
        "sw",
        [
            "Krismasi",
            "kahawa",
            "mpira wa miguu",
            "muziki",
            "mvua",
            "msongamano",
            "wikendi",
            "likizo",
        ],
        ["Napenda {t}", "{t} ni nzuri sana", "Siku nzuri: {t}"],
        ["Sipendi {t}", "{t} ni mbaya", "Nimechoka na {t}"],
    ),
];

const HAPPY: &[&str] = &["😀", "🎄", "❤️", "🎉", "☕", "⚽", "🎶", "😍", "✨", "🙌"];
const SAD: &[&str] = &["😠", "😢", "🌧️", "😤", "🙄", "💔", "😩"];
const FIRST: &[&str] = &[
    "alex", "maria", "kenji", "aisha", "li", "olu", "sofia", "ivan", "priya", "lucas", "emma",
    "omar", "yuki", "ana", "tom", "fatima", "jin", "noah", "zara", "diego",
];
const LAST: &[&str] = &[
    "smith", "garcia", "tanaka", "khan", "wang", "okafor", "rossi", "petrov", "sharma", "silva",
    "muller", "haddad", "kim", "santos", "brown", "dubois",
];

/// The three raw formats the core reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// X API v1.1 status.
    XV1,
    /// X API v2 filtered-stream message.
    XV2,
    /// Bluesky Jetstream commit.
    Jetstream,
}

/// A seeded post generator; an infinite iterator of raw JSON posts (no line ending).
#[derive(Debug, Clone)]
pub struct Generator {
    rng: StdRng,
    located_share: f64,
    clock_ms: i64,
    total_pop: u64,
}

impl Generator {
    /// Posts start at `start_unix_ms` and are about 100 ms apart.
    pub fn new(seed: u64, located_share: f64, start_unix_ms: i64) -> Self {
        Generator {
            rng: StdRng::seed_from_u64(seed),
            located_share,
            clock_ms: start_unix_ms,
            total_pop: CITIES.iter().map(|c| u64::from(c.4)).sum(),
        }
    }

    /// From the producer config (start time: the config's, else now).
    pub fn from_config(cfg: &GenerateConfig) -> Self {
        let start_ms = match cfg.start_unix {
            Some(s) => s.saturating_mul(1000),
            None => (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64,
        };
        Generator::new(cfg.seed, cfg.located_share, start_ms)
    }

    fn city(&mut self) -> &'static City {
        let mut pick = self.rng.random_range(0..self.total_pop);
        for c in CITIES {
            let p = u64::from(c.4);
            if pick < p {
                return c;
            }
            pick -= p;
        }
        &CITIES[0]
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.rng.random_range(0..items.len())]
    }

    /// A point near the city: a few km, denser at the centre.
    fn near(&mut self, city: &City) -> (f64, f64) {
        let r: f64 = self.rng.random::<f64>() * self.rng.random::<f64>() * 0.25;
        let a: f64 = self.rng.random::<f64>() * std::f64::consts::TAU;
        let lat = (city.2 + r * a.sin()).clamp(-89.9, 89.9);
        let mut lon = city.3 + r * a.cos() / lat.to_radians().cos().max(0.1);
        if lon > 180.0 {
            lon -= 360.0;
        } else if lon < -180.0 {
            lon += 360.0;
        }
        (round6(lat), round6(lon))
    }

    /// Text, language and hashtags for a city.
    fn text(&mut self, city: &City) -> (String, &'static str, Vec<String>) {
        let local = LANGS.iter().find(|l| l.0 == city.5).unwrap_or(&LANGS[0]);
        let lang = if self.rng.random_bool(0.75) {
            local
        } else {
            &LANGS[self.rng.random_range(0..LANGS.len())]
        };
        // Christmas comes up often: it is the original system's demo keyword.
        let topic = if self.rng.random_bool(0.3) {
            0
        } else {
            self.rng.random_range(0..TOPICS.len())
        };
        let happy = self.rng.random_bool(0.6);
        let template = if happy {
            self.pick(&lang.2)
        } else {
            self.pick(&lang.3)
        };
        let mut text = template.replace("{t}", lang.1[topic]);
        for _ in 0..self.rng.random_range(0..3) {
            text.push(' ');
            text.push_str(self.pick(if happy { HAPPY } else { SAD }));
        }
        let mut tags = Vec::new();
        if self.rng.random_bool(0.6) {
            tags.push(TOPICS[topic].to_owned());
        }
        if self.rng.random_bool(0.25) {
            tags.push(city.0.replace(' ', ""));
        }
        for t in &tags {
            text.push_str(" #");
            text.push_str(t);
        }
        if self.rng.random_bool(0.05) {
            // X escapes these in v1.1 text; the core decodes them.
            text.push_str(" &amp; more");
        }
        (text, lang.0, tags)
    }

    fn tick(&mut self) -> i64 {
        self.clock_ms += self.rng.random_range(1..200);
        self.clock_ms
    }

    fn user(&mut self) -> (String, String, String) {
        let first = self.pick(FIRST);
        let last = self.pick(LAST);
        let id = self.rng.random_range(10_000u64..2_000_000_000).to_string();
        let handle = format!("{first}_{last}{}", self.rng.random_range(1..999));
        (id, handle, format!("{} {}", capital(first), capital(last)))
    }

    /// The next post in the given format.
    pub fn post(&mut self, format: Format) -> Value {
        let city = self.city();
        let located = self.rng.random_bool(self.located_share);
        let (text, lang, tags) = self.text(city);
        let ms = self.tick();
        let (uid, handle, name) = self.user();
        match format {
            Format::XV1 => self.x_v1(city, located, text, lang, &tags, ms, uid, handle, name),
            Format::XV2 => self.x_v2(city, located, text, lang, &tags, ms, uid, handle, name),
            Format::Jetstream => self.jetstream(text, lang, &tags, ms),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn x_v1(
        &mut self,
        city: &City,
        located: bool,
        text: String,
        lang: &str,
        tags: &[String],
        ms: i64,
        uid: String,
        handle: String,
        name: String,
    ) -> Value {
        let id = self.snowflake(ms);
        let hashtags: Vec<Value> = tags
            .iter()
            .map(|t| json!({"text": t, "indices": [0, 0]}))
            .collect();
        let mut v = json!({
            "created_at": v1_time(ms),
            "id": id,
            "id_str": id.to_string(),
            "text": text,
            "lang": lang,
            "timestamp_ms": ms.to_string(),
            "user": {"id": uid.parse::<u64>().unwrap_or(0), "id_str": uid, "screen_name": handle,
                     "name": name, "location": if self.rng.random_bool(0.5) { city.0 } else { "" }},
            "entities": {"hashtags": hashtags, "user_mentions": [], "urls": []},
            "coordinates": null,
            "place": null,
        });
        if located {
            if self.rng.random_bool(0.6) {
                let (lat, lon) = self.near(city);
                v["coordinates"] = json!({"type": "Point", "coordinates": [lon, lat]});
                v["geo"] = json!({"type": "Point", "coordinates": [lat, lon]});
            } else {
                let (w, s, e, n) = place_box(city);
                v["place"] = json!({
                    "id": format!("{:016x}", self.rng.random::<u64>()),
                    "place_type": "city",
                    "name": city.0,
                    "full_name": format!("{}, {}", city.0, city.1),
                    "country_code": city.1,
                    "bounding_box": {"type": "Polygon",
                        "coordinates": [[[w, s], [w, n], [e, n], [e, s]]]},
                });
            }
        }
        v
    }

    #[allow(clippy::too_many_arguments)]
    fn x_v2(
        &mut self,
        city: &City,
        located: bool,
        text: String,
        lang: &str,
        tags: &[String],
        ms: i64,
        uid: String,
        handle: String,
        name: String,
    ) -> Value {
        let id = self.snowflake(ms).to_string();
        let hashtags: Vec<Value> = tags
            .iter()
            .map(|t| json!({"start": 0, "end": 0, "tag": t}))
            .collect();
        let mut data = json!({
            "id": id,
            "text": text,
            "created_at": rfc3339(ms),
            "lang": lang,
            "author_id": uid,
            "entities": {"hashtags": hashtags},
            "edit_history_tweet_ids": [id],
        });
        let mut includes = json!({
            "users": [{"id": uid, "username": handle, "name": name}],
        });
        if located {
            if self.rng.random_bool(0.5) {
                let (lat, lon) = self.near(city);
                data["geo"] = json!({"coordinates": {"type": "Point", "coordinates": [lon, lat]}});
            } else {
                let pid = format!("{:016x}", self.rng.random::<u64>());
                let (w, s, e, n) = place_box(city);
                data["geo"] = json!({"place_id": pid});
                includes["places"] = json!([{
                    "id": pid,
                    "full_name": format!("{}, {}", city.0, city.1),
                    "country_code": city.1,
                    "place_type": "city",
                    "geo": {"type": "Feature", "bbox": [w, s, e, n], "properties": {}},
                }]);
            }
        }
        json!({
            "data": data,
            "includes": includes,
            "matching_rules": [{"id": "1", "tag": "sentimap:0"}],
        })
    }

    fn jetstream(&mut self, text: String, lang: &str, tags: &[String], ms: i64) -> Value {
        const B32: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";
        let did: String = (0..24)
            .map(|_| B32[self.rng.random_range(0..32)] as char)
            .collect();
        let rkey: String = (0..13)
            .map(|_| B32[self.rng.random_range(0..32)] as char)
            .collect();
        let mut facets = Vec::new();
        for t in tags {
            let needle = format!("#{t}");
            if let Some(start) = text.find(&needle) {
                facets.push(json!({
                    "index": {"byteStart": start, "byteEnd": start + needle.len()},
                    "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": t}],
                }));
            }
        }
        json!({
            "did": format!("did:plc:{did}"),
            "time_us": ms * 1000 + self.rng.random_range(0..1000),
            "kind": "commit",
            "commit": {
                "rev": format!("3l{rkey}"),
                "operation": "create",
                "collection": "app.bsky.feed.post",
                "rkey": rkey,
                "record": {
                    "$type": "app.bsky.feed.post",
                    "createdAt": rfc3339(ms),
                    "langs": [lang],
                    "text": text,
                    "facets": facets,
                },
                "cid": format!("bafyrei{}", &did[..20]),
            },
        })
    }

    fn snowflake(&mut self, ms: i64) -> u64 {
        // X ids: milliseconds since 2010-11-04 shifted left 22 bits, plus worker and sequence.
        let since = (ms - 1_288_834_974_657).max(0) as u64;
        (since << 22) | self.rng.random_range(0..(1u64 << 22))
    }

    /// The next raw post (X v1.1 40%, X v2 40%, Jetstream 20%) as JSON bytes.
    pub fn next_raw(&mut self) -> Vec<u8> {
        let format = match self.rng.random_range(0..10) {
            0..=3 => Format::XV1,
            4..=7 => Format::XV2,
            _ => Format::Jetstream,
        };
        serde_json::to_vec(&self.post(format)).unwrap_or_default()
    }
}

impl Iterator for Generator {
    type Item = Vec<u8>;
    fn next(&mut self) -> Option<Vec<u8>> {
        Some(self.next_raw())
    }
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

fn place_box(city: &City) -> (f64, f64, f64, f64) {
    let (w, e) = (city.3 - 0.2, city.3 + 0.2);
    // Keep boxes on the map; near the antimeridian the box crosses it (west > east).
    let w = if w < -180.0 { w + 360.0 } else { w };
    let e = if e > 180.0 { e - 360.0 } else { e };
    (
        round6(w),
        round6(city.2 - 0.15),
        round6(e),
        round6(city.2 + 0.15),
    )
}

fn capital(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn datetime(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn rfc3339(ms: i64) -> String {
    let t = datetime(ms);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

fn v1_time(ms: i64) -> String {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let t = datetime(ms);
    format!(
        "{} {} {:02} {:02}:{:02}:{:02} +0000 {:04}",
        DAYS[t.weekday().number_days_from_monday() as usize],
        MONTHS[u8::from(t.month()) as usize - 1],
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.year()
    )
}

/// Generates until the count is reached or `stop`.
pub async fn run(
    cfg: &GenerateConfig,
    ingest: &Ingest,
    stop: &CancellationToken,
) -> anyhow::Result<()> {
    let mut generator = Generator::from_config(cfg);
    let mut pacer = Pacer::new(cfg.rate);
    let mut n = 0u64;
    while cfg.count.is_none_or(|c| n < c) {
        tokio::select! {
            biased;
            _ = stop.cancelled() => break,
            _ = pacer.wait() => {}
        }
        let raw = generator.next_raw();
        n += 1;
        if ingest.offer(&raw).await.is_err() {
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sentimap_core::{normalize, Precision, Source};

    #[test]
    fn every_generated_post_normalises() {
        let mut g = Generator::new(7, 0.75, 1_766_646_000_000);
        let (mut located, mut sources, mut langs) =
            (0, [0usize; 3], std::collections::BTreeSet::new());
        for raw in g.by_ref().take(5_000) {
            let post = normalize(&raw)
                .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&raw)));
            if post.location.precision != Precision::None {
                located += 1;
            }
            sources[match post.source {
                Source::XV1 => 0,
                Source::XV2 => 1,
                _ => 2,
            }] += 1;
            langs.extend(post.lang);
        }
        // 80% are X posts, 75% of which carry a location: about 60% overall.
        assert!((2_700..3_300).contains(&located), "{located}");
        assert!(sources.iter().all(|&n| n > 700), "{sources:?}");
        assert!(langs.len() >= 12, "{langs:?}");
    }

    #[test]
    fn same_seed_same_posts() {
        let a: Vec<_> = Generator::new(3, 0.5, 0).take(50).collect();
        let b: Vec<_> = Generator::new(3, 0.5, 0).take(50).collect();
        let c: Vec<_> = Generator::new(4, 0.5, 0).take(50).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
