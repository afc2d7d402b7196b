//! Splits a byte stream into raw records, whatever the framing: NDJSON, the original producer's
//! `,\n` separators, a JSON array, or objects concatenated with nothing between them (what Firehose
//! writes when the producer adds no newline).
//!
//! The framer is a small state machine fed with chunks of any size, so memory stays bounded by the
//! largest record it keeps ([`MAX_RAW_POST_BYTES`]): a longer record is measured, not stored.
//!
//! Rule: a record never spans a line. A raw newline can not appear inside a JSON string, and none of
//! the framings above breaks a record across lines, so a newline inside an unfinished object ends it
//! there (the core then reports it as truncated JSON) and the next line is read afresh. One broken
//! line therefore costs one record, never the rest of the file.

use sentimap_core::MAX_RAW_POST_BYTES;

/// Where the framer is between two bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between records: whitespace, `,`, `[` and `]` are separators.
    Between,
    /// Inside an object that started with `{`.
    Object {
        depth: u32,
        in_string: bool,
        /// The previous byte was a backslash inside a string (carried across chunks).
        escape: bool,
    },
    /// A line that does not start with `{`: kept up to the end of the line, for the core to reject.
    Garbage,
}

/// One framed record. `bytes` holds at most [`MAX_RAW_POST_BYTES`] bytes; `len` is the full length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The record's bytes, cut at the size limit.
    pub bytes: &'a [u8],
    /// The record's full length in bytes.
    pub len: usize,
    /// 1-based line on which the record starts.
    pub line: u64,
    /// Byte offset of its first byte in the (decompressed) stream.
    pub offset: u64,
    /// 0-based position among the records of the stream.
    pub index: u64,
}

impl Frame<'_> {
    /// Whether the record is longer than the core accepts (and so was not kept whole).
    pub fn oversize(&self) -> bool {
        self.len > self.bytes.len()
    }
}

/// The framing state machine. Feed it chunks with [`Framer::feed`]; call [`Framer::finish`] at the end.
#[derive(Debug)]
pub struct Framer {
    state: State,
    cur: Vec<u8>,
    cur_len: usize,
    keep: usize,
    ready: bool,
    /// Line and offset of the next byte to be fed.
    line: u64,
    offset: u64,
    rec_line: u64,
    rec_offset: u64,
    next_index: u64,
}

impl Default for Framer {
    fn default() -> Self {
        Framer::with_limit(MAX_RAW_POST_BYTES)
    }
}

impl Framer {
    /// A framer that keeps at most `keep` bytes of a record.
    pub fn with_limit(keep: usize) -> Self {
        Framer {
            state: State::Between,
            cur: Vec::new(),
            cur_len: 0,
            keep,
            ready: false,
            line: 1,
            offset: 0,
            rec_line: 1,
            rec_offset: 0,
            next_index: 0,
        }
    }

    /// Consumes bytes of `input` until a record is complete or the input is used up. Returns how
    /// many bytes were consumed and whether a record is ready (then read it with [`Framer::frame`]
    /// before feeding more).
    pub fn feed(&mut self, input: &[u8]) -> (usize, bool) {
        if self.ready {
            self.clear();
        }
        let mut i = 0;
        while i < input.len() {
            match self.state {
                State::Between => match input[i] {
                    b'\n' => {
                        self.line += 1;
                        i += 1;
                    }
                    b' ' | b'\t' | b'\r' | b',' | b'[' | b']' => i += 1,
                    b'{' => {
                        self.start(i);
                        self.state = State::Object {
                            depth: 1,
                            in_string: false,
                            escape: false,
                        };
                        self.push(&input[i..=i]);
                        i += 1;
                    }
                    _ => {
                        self.start(i);
                        self.state = State::Garbage;
                    }
                },
                State::Garbage => match memchr::memchr(b'\n', &input[i..]) {
                    Some(p) => {
                        self.push(&input[i..i + p]);
                        return self.complete(i + p);
                    }
                    None => {
                        self.push(&input[i..]);
                        i = input.len();
                    }
                },
                State::Object {
                    mut depth,
                    mut in_string,
                    mut escape,
                } => {
                    let start = i;
                    let mut j = i;
                    let mut end = None;
                    while j < input.len() {
                        if escape {
                            escape = false;
                            if input[j] == b'\n' {
                                end = Some((j, false));
                                break;
                            }
                            j += 1;
                            continue;
                        }
                        if in_string {
                            match memchr::memchr3(b'"', b'\\', b'\n', &input[j..]) {
                                None => j = input.len(),
                                Some(p) => {
                                    let at = j + p;
                                    match input[at] {
                                        b'"' => in_string = false,
                                        b'\\' => escape = true,
                                        _ => {
                                            end = Some((at, false));
                                            break;
                                        }
                                    }
                                    j = at + 1;
                                }
                            }
                            continue;
                        }
                        match input[j] {
                            b'"' => in_string = true,
                            b'{' | b'[' => depth += 1,
                            b'}' | b']' => {
                                depth -= 1;
                                if depth == 0 {
                                    end = Some((j + 1, true));
                                    break;
                                }
                            }
                            b'\n' => {
                                end = Some((j, false));
                                break;
                            }
                            _ => {}
                        }
                        j += 1;
                    }
                    match end {
                        Some((at, _closed)) => {
                            self.push(&input[start..at]);
                            return self.complete(at);
                        }
                        None => {
                            self.push(&input[start..]);
                            self.state = State::Object {
                                depth,
                                in_string,
                                escape,
                            };
                            i = input.len();
                        }
                    }
                }
            }
        }
        self.offset += i as u64;
        (i, false)
    }

    /// Ends the stream: returns whether an unfinished record is ready to be read.
    pub fn finish(&mut self) -> bool {
        if self.ready {
            self.clear();
        }
        if self.state == State::Between {
            return false;
        }
        self.state = State::Between;
        self.ready = true;
        self.next_index += 1;
        true
    }

    /// The record made ready by the last [`Framer::feed`] or [`Framer::finish`].
    pub fn frame(&self) -> Frame<'_> {
        Frame {
            bytes: &self.cur,
            len: self.cur_len,
            line: self.rec_line,
            offset: self.rec_offset,
            index: self.next_index.saturating_sub(1),
        }
    }

    /// Number of lines started so far (the line the next byte is on).
    pub fn line(&self) -> u64 {
        self.line
    }

    fn start(&mut self, i: usize) {
        self.rec_line = self.line;
        self.rec_offset = self.offset + i as u64;
    }

    fn push(&mut self, s: &[u8]) {
        self.cur_len += s.len();
        let room = self.keep.saturating_sub(self.cur.len()).min(s.len());
        self.cur.extend_from_slice(&s[..room]);
    }

    fn complete(&mut self, consumed: usize) -> (usize, bool) {
        self.state = State::Between;
        self.ready = true;
        self.next_index += 1;
        self.offset += consumed as u64;
        (consumed, true)
    }

    fn clear(&mut self) {
        self.ready = false;
        self.cur.clear();
        self.cur_len = 0;
        // Give back the memory of a huge record rather than keeping it for the whole stream.
        if self.cur.capacity() > 256 * 1024 {
            self.cur.shrink_to(64 * 1024);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Frames `input` fed in chunks cut at `cuts`, returning (bytes, len, line, offset) per record.
    fn frames(input: &[u8], cuts: &[usize], keep: usize) -> Vec<(Vec<u8>, usize, u64, u64)> {
        let mut framer = Framer::with_limit(keep);
        let mut out = Vec::new();
        let mut bounds: Vec<usize> = cuts.iter().copied().filter(|&c| c < input.len()).collect();
        bounds.sort_unstable();
        bounds.push(input.len());
        let mut from = 0;
        for to in bounds {
            let mut chunk = &input[from..to];
            while !chunk.is_empty() {
                let (n, ready) = framer.feed(chunk);
                chunk = &chunk[n..];
                if ready {
                    let f = framer.frame();
                    out.push((f.bytes.to_vec(), f.len, f.line, f.offset));
                }
            }
            from = to;
        }
        if framer.finish() {
            let f = framer.frame();
            out.push((f.bytes.to_vec(), f.len, f.line, f.offset));
        }
        out
    }

    fn texts(input: &[u8]) -> Vec<String> {
        frames(input, &[], 1 << 20)
            .into_iter()
            .map(|(b, ..)| String::from_utf8_lossy(&b).into_owned())
            .collect()
    }

    #[test]
    fn ndjson() {
        assert_eq!(
            texts(b"{\"a\":1}\n{\"b\":\"x}\"}\n\n{\"c\":[1,{\"d\":2}]}\n"),
            ["{\"a\":1}", "{\"b\":\"x}\"}", "{\"c\":[1,{\"d\":2}]}"]
        );
    }

    #[test]
    fn comma_newline_framing_and_arrays() {
        assert_eq!(
            texts(b"{\"a\":1},\n{\"b\":2},\n{\"c\":3}"),
            ["{\"a\":1}", "{\"b\":2}", "{\"c\":3}"]
        );
        assert_eq!(
            texts(b"[{\"a\":1},\r\n{\"b\":2}]\r\n"),
            ["{\"a\":1}", "{\"b\":2}"]
        );
    }

    #[test]
    fn concatenated_objects() {
        assert_eq!(
            texts(br#"{"a":"\"{"}{"b":"\\"}{"c":{}}"#),
            [r#"{"a":"\"{"}"#, r#"{"b":"\\"}"#, r#"{"c":{}}"#]
        );
    }

    #[test]
    fn a_broken_line_costs_one_record() {
        let input =
            b"{\"a\":1}\n{\"broken\":\"abc\n{\"b\":2}\n{\"open\":{\n{\"c\":3}\nnot json\n{\"d\":4}";
        assert_eq!(
            texts(input),
            [
                "{\"a\":1}",
                "{\"broken\":\"abc",
                "{\"b\":2}",
                "{\"open\":{",
                "{\"c\":3}",
                "not json",
                "{\"d\":4}"
            ]
        );
        let lines: Vec<u64> = frames(input, &[], 1 << 20).iter().map(|f| f.2).collect();
        assert_eq!(lines, [1, 2, 3, 4, 5, 6, 7]);
    }

    #[test]
    fn unterminated_last_record_is_still_reported() {
        assert_eq!(texts(b"{\"a\":1}\n{\"b\":"), ["{\"a\":1}", "{\"b\":"]);
        assert_eq!(texts(b"  \n\n"), Vec::<String>::new());
    }

    #[test]
    fn oversize_records_are_measured_not_kept() {
        let mut input = b"{\"t\":\"".to_vec();
        input.extend(std::iter::repeat_n(b'x', 100));
        input.extend_from_slice(b"\"}\n{\"a\":1}\n");
        let got = frames(&input, &[3, 50], 10);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0.len(), 10);
        assert_eq!(got[0].1, 108);
        assert_eq!(got[1].0, b"{\"a\":1}");
        assert_eq!(got[1].3, 109);
    }

    /// Output must not depend on where the stream is cut (lol-html's chunking harness idea).
    #[test]
    fn chunking_does_not_change_output() {
        let input = br#"{"a":"x\"y\\"}{"b":[1,2,{"c":"}"}]},
{"d":"esc\\\"\\"}
garbage line
{"e":"unterminated
[{"f":1},{"g":2}]
"#;
        let input = &[&input[..], "{\"h\":\"é ✓\"}".as_bytes()].concat();
        let whole = frames(input, &[], 1 << 20);
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..300 {
            let mut cuts = Vec::new();
            for _ in 0..(seed % 7) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                cuts.push((seed % input.len() as u64) as usize);
            }
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
            assert_eq!(frames(input, &cuts, 1 << 20), whole, "cuts {cuts:?}");
        }
        // Every single split point, too.
        for c in 0..input.len() {
            assert_eq!(frames(input, &[c], 1 << 20), whole, "cut {c}");
        }
    }
}
