//! A fast path for the common shape of event lines.
//!
//! [`parse_in_order`] reads a line whose strings have no escapes, its keys
//! in any order and with any whitespace, straight into a [`RawEvent`] that
//! borrows the line; it guesses each key from the order of the lines before
//! ([`KeyOrder`]), which changes nothing but the time. Anything else, and
//! anything invalid, returns `None` and the line goes through the
//! `serde_json` path ([`super::raw`]), which gives the exact error message.
//! So the fast path only has to be right about the lines it accepts: for
//! those it must give what the serde path gives (property tests check it).

use crate::event::fields::Key;
use crate::event::raw::{RawBody, RawDeployment, RawEvent, RawPullRequest, StrList};
use crate::event::time::{Micros, parse_fast_prefix, parse_rfc3339};
use crate::event::{DeploymentStatus, DeploymentType, EventKind};

/// Nesting deeper than this in an unknown field falls back to serde_json.
const MAX_DEPTH: u32 = 64;

/// A one in every byte of a word.
const ONES: u64 = u64::MAX / 0xff;
const HIGHS: u64 = ONES * 0x80;

/// High bit set in the bytes of `w` below `n` (n <= 128); the lowest is
/// exact (a borrow can only flag a byte above one truly below `n`).
#[inline(always)]
fn has_below(w: u64, n: u8) -> u64 {
    w.wrapping_sub(ONES * u64::from(n)) & !w & HIGHS
}

/// High bit set in the bytes of `w` equal to `c`; the lowest is exact.
#[inline(always)]
fn has_byte(w: u64, c: u8) -> u64 {
    has_below(w ^ (ONES * u64::from(c)), 1)
}

/// The eight bytes of `b` from `at`, little-endian. Near the end, the
/// bytes that are left, then zero bytes (control characters: a string
/// scan stops at them as it would at the end of `b`).
#[inline(always)]
fn window(b: &[u8], at: usize) -> u64 {
    let rest = b.get(at..).unwrap_or_default();
    if let Some(w) = rest.first_chunk::<8>() {
        return u64::from_le_bytes(*w);
    }
    match b.last_chunk::<8>() {
        // The last eight bytes, shifted down to start at `at`.
        Some(last) => u64::from_le_bytes(*last).checked_shr(8 * (8 - rest.len()) as u32).unwrap_or(0),
        None => {
            let mut padded = [0u8; 8];
            padded[..rest.len()].copy_from_slice(rest);
            u64::from_le_bytes(padded)
        }
    }
}

/// High bit set in the bytes of `w` where a plain string stops: a quote,
/// a backslash or a control character; the lowest is exact.
#[inline(always)]
fn string_stops(w: u64) -> u64 {
    has_byte(w, b'"') | has_byte(w, b'\\') | has_below(w, 0x20)
}

/// Where the string whose first byte is at `start` ends: the place of its
/// closing quote, sixteen bytes (two words) a step, with no loop over
/// single bytes: most values end within the first step, so the loop's
/// exit is well predicted. `None` if a backslash, a control character or
/// the end of `b` comes first (the plain reading is the oracle of
/// `strings_stop_at_the_first_quote_backslash_or_control_character`).
#[inline(always)]
fn plain_string_end(b: &[u8], start: usize) -> Option<usize> {
    let mut at = start;
    loop {
        let (low, high) = (string_stops(window(b, at)), string_stops(window(b, at + 8)));
        if low | high != 0 {
            // The lowest flagged byte is exact (higher ones may not be).
            let end = if low != 0 {
                at + (low.trailing_zeros() / 8) as usize
            } else {
                at + 8 + (high.trailing_zeros() / 8) as usize
            };
            return (b.get(end) == Some(&b'"')).then_some(end);
        }
        at += 16;
    }
}

/// What a key of a line is to the fast path: a key of the event table
/// ([`Key`]), or any other key (skipped, as the serde path ignores it).
type Field = Option<Key>;

/// Every key the fast path reads, with its name: the event table's keys
/// ([`Key::ALL`]), from which the key patterns are made.
const KEY_NAMES: [(&str, Key); Key::ALL.len()] = {
    let mut out = [("", Key::Kind); Key::ALL.len()];
    let mut i = 0;
    while i < Key::ALL.len() {
        out[i] = (Key::ALL[i].name(), Key::ALL[i]);
        i += 1;
    }
    out
};

/// The field of a key read as a string (only keys that no pattern
/// could match get here: spaced before their colon, or unknown).
fn field_of(key: &str) -> Field {
    KEY_NAMES.iter().find(|(name, _)| *name == key).map(|&(_, k)| k)
}

/// The bytes of a key as a line holds them, `"name":` (up to 32), to be
/// compared 16 at a time against the line: the key patterns' and the key
/// guesses' ([`Guess`]) compare.
#[derive(Clone, Copy, Default)]
struct Pattern {
    words: [u128; 2],
    masks: [u128; 2],
    /// How many bytes it holds (0: none, and it matches nothing it is asked about).
    len: usize,
}

impl Pattern {
    /// The pattern of `bytes`.
    const fn of(bytes: &[u8]) -> Self {
        assert!(bytes.len() <= 32, "a key pattern holds up to 32 bytes");
        let (mut words, mut masks) = ([0u128; 2], [0u128; 2]);
        let mut i = 0;
        while i < bytes.len() {
            words[i / 16] |= (bytes[i] as u128) << (8 * (i % 16));
            masks[i / 16] |= 0xff << (8 * (i % 16));
            i += 1;
        }
        Pattern { words, masks, len: bytes.len() }
    }

    /// Whether `b` holds the pattern at `at`, given `w0`, the 16 bytes
    /// there; `None` when `b` ends before the pattern's second word.
    #[inline(always)]
    fn matches(&self, w0: u128, b: &[u8], at: usize) -> Option<bool> {
        let w1 = if self.masks[1] == 0 { 0 } else { load16(b, at + 16)? };
        Some((w0 ^ self.words[0]) & self.masks[0] == 0 && (w1 ^ self.words[1]) & self.masks[1] == 0)
    }
}

/// A key as it appears in a line, `"name":`, with the field it names.
#[derive(Clone, Copy)]
struct KeyPattern {
    pattern: Pattern,
    field: Key,
}

const fn key(name: &str, field: Key) -> KeyPattern {
    let name = name.as_bytes();
    let len = name.len() + 3;
    assert!(len <= 32, "a key pattern holds up to 32 bytes");
    let mut bytes = [0u8; 32];
    bytes[0] = b'"';
    let mut i = 0;
    while i < name.len() {
        bytes[i + 1] = name[i];
        i += 1;
    }
    bytes[len - 2] = b'"';
    bytes[len - 1] = b':';
    KeyPattern { pattern: Pattern::of(bytes.split_at(len).0), field }
}

/// Multiplier of the key hash: it sends the first four bytes of every key
/// (after the quote: `id":`, `serv`, `caus`, ...) to a slot of its own
/// (keys that share those bytes share the slot).
const KEY_HASH: u32 = 0x5dd3_789f;

/// The slot of a key from its first four bytes after the quote.
const fn slot_of(first4: u32) -> usize {
    (first4.wrapping_mul(KEY_HASH) >> 27) as usize
}

/// The patterns of [`KEY_NAMES`] by slot: any key is found with one hash
/// and at most two compares, whatever order the keys come in.
const KEY_SLOTS: [[Option<KeyPattern>; 2]; 32] = {
    let mut slots: [[Option<KeyPattern>; 2]; 32] = [[None; 2]; 32];
    let mut k = 0;
    while k < KEY_NAMES.len() {
        let pattern = key(KEY_NAMES[k].0, KEY_NAMES[k].1);
        let slot = slot_of((pattern.pattern.words[0] >> 8) as u32);
        if slots[slot][0].is_none() {
            slots[slot][0] = Some(pattern);
        } else if slots[slot][1].is_none() {
            slots[slot][1] = Some(pattern);
        } else {
            panic!("three keys share a slot: choose another KEY_HASH");
        }
        k += 1;
    }
    slots
};

/// The 16 bytes of `b` from `at`, if there are that many.
#[inline]
fn load16(b: &[u8], at: usize) -> Option<u128> {
    Some(u128::from_le_bytes(b.get(at..at + 16)?.try_into().ok()?))
}

/// Where a key is read: the top level before `kind` (0), a kind's top
/// level (1 + the kind), or a pull request's object.
const CONTEXTS: usize = 5;
const PULL_REQUEST_CONTEXT: usize = 4;
/// What came before a key ([`KeyOrder`]'s second index): a key the fast
/// path reads (its [`Key`] index), the start of the object, or a key it
/// does not read, told apart by a hash of its first bytes (so that a run
/// of unknown keys, `"pipeline"` then `"labels"`, has guesses of its own).
const START: u8 = Key::ALL.len() as u8;
const UNKNOWN_IDS: u8 = 16;
const PREVIOUS: usize = Key::ALL.len() + 1 + UNKNOWN_IDS as usize;

/// A guessed key: its bytes in a line, `"name":`, and what it is.
#[derive(Clone, Copy, Default)]
struct Guess {
    /// Empty for no guess.
    pattern: Pattern,
    /// The field it names (`None`: a key the fast path does not read).
    field: Field,
    /// What this key is as the previous key of the next.
    id: u8,
}

/// The key that followed each key in the lines read so far, by context:
/// lines written by one program list their keys in one order, so the next
/// key is most often the one that came after the same key last time, and
/// one compare finds it (unknown keys too). A wrong guess costs one
/// compare, then the key is looked up as usual ([`Cursor::key`]) and
/// becomes the guess. Whatever the guesses, a key reads the same: a guess
/// is taken only when the line holds its exact bytes.
pub(crate) struct KeyOrder {
    guesses: [[Guess; PREVIOUS]; CONTEXTS],
}

impl KeyOrder {
    /// No guesses yet.
    pub(crate) fn new() -> Self {
        Self { guesses: [[Guess::default(); PREVIOUS]; CONTEXTS] }
    }
}

/// The guess for the key that was just read, from `line[at..end]` (its
/// opening quote to past its colon): what it is as the previous key of the
/// next one, and its bytes when they are a pattern (`"name":`, no space
/// before the colon, at most 32 bytes; else no guess).
fn guess_of(line: &[u8], at: usize, end: usize, field: Field) -> Guess {
    let id = match field {
        Some(k) => k as u8,
        None => {
            let first = line.get(at + 1..end).unwrap_or_default();
            let h = first.iter().take(4).fold(0u32, |h, &c| h << 8 | u32::from(c));
            START + 1 + (slot_of(h) as u8 % UNKNOWN_IDS)
        }
    };
    let bytes = &line[at..end];
    if !(3..=32).contains(&bytes.len()) || !bytes.starts_with(b"\"") || !bytes.ends_with(b"\":") {
        return Guess { id, ..Guess::default() };
    }
    Guess { pattern: Pattern::of(bytes), field, id }
}

struct Cursor<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    #[inline]
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    #[inline]
    fn eat(&mut self, c: u8) -> Option<()> {
        self.ws();
        (self.b.get(self.i) == Some(&c)).then(|| self.i += 1)
    }

    #[inline]
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.b.get(self.i).copied()
    }

    /// A string without escapes or control characters (the opening quote next).
    #[inline(always)]
    fn string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        self.string_rest()
    }

    /// The rest of a string whose opening quote was just read.
    #[inline(always)]
    fn string_rest(&mut self) -> Option<&'a str> {
        let start = self.i;
        let end = plain_string_end(self.b, start)?;
        self.i = end + 1;
        self.s.get(start..end)
    }

    /// The next key and its colon, found in [`KEY_SLOTS`] by a hash of its
    /// first bytes and one compare; any other key (unknown, or spaced before
    /// its colon) is read as a string.
    #[inline]
    fn key(&mut self) -> Option<Field> {
        self.ws();
        // Whether every candidate was compared in full: then a key that
        // is followed by its colon right away is none of them.
        let mut compared = false;
        if let Some(w0) = load16(self.b, self.i) {
            compared = true;
            for k in KEY_SLOTS[slot_of((w0 >> 8) as u32)].iter().flatten() {
                match k.pattern.matches(w0, self.b, self.i) {
                    Some(true) => {
                        self.i += k.pattern.len;
                        return Some(Some(k.field));
                    }
                    Some(false) => {}
                    None => compared = false,
                }
            }
        }
        let key = self.string()?;
        if compared && self.b.get(self.i) == Some(&b':') {
            // Not a key the fast path reads (its pattern would have matched).
            self.i += 1;
            return Some(None);
        }
        self.eat(b':')?;
        Some(field_of(key))
    }

    /// The next key and its colon, as [`Cursor::key`] reads it, trying
    /// first the key that followed `previous` in context `context` last
    /// time ([`KeyOrder`]); `previous` becomes this key.
    #[inline]
    fn key_in_order(&mut self, order: &mut KeyOrder, context: usize, previous: &mut u8) -> Option<Field> {
        self.ws();
        let guess = &order.guesses[context][*previous as usize];
        if guess.pattern.len != 0
            && let Some(w0) = load16(self.b, self.i)
            && guess.pattern.matches(w0, self.b, self.i) == Some(true)
        {
            self.i += guess.pattern.len;
            *previous = guess.id;
            return Some(guess.field);
        }
        let at = self.i;
        let field = self.key()?;
        let learned = guess_of(self.b, at, self.i, field);
        order.guesses[context][*previous as usize] = learned;
        *previous = learned.id;
        Some(field)
    }

    /// After an element: `Some(false)` past a comma (more follow),
    /// `Some(true)` past the closing `close`, `None` for anything else.
    #[inline]
    fn next_or_close(&mut self, close: u8) -> Option<bool> {
        match self.peek()? {
            b',' => {
                self.i += 1;
                Some(false)
            }
            c if c == close => {
                self.i += 1;
                Some(true)
            }
            _ => None,
        }
    }

    /// An opening `open` and, if the container is empty, its closing `close`:
    /// returns whether it was empty.
    #[inline]
    fn open_empty(&mut self, open: u8, close: u8) -> Option<bool> {
        self.eat(open)?;
        if self.peek()? == close {
            self.i += 1;
            return Some(true);
        }
        Some(false)
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        self.ws();
        self.b[self.i..].starts_with(word).then(|| self.i += word.len())
    }

    /// Consumes `null` and returns true, or consumes nothing and returns false.
    #[inline]
    fn null(&mut self) -> bool {
        self.literal(b"null").is_some()
    }

    /// A string or `null` (the string, the more common, is looked for first).
    #[inline]
    fn opt_string(&mut self) -> Option<Option<&'a str>> {
        if self.peek()? == b'"' {
            self.i += 1;
            return self.string_rest().map(Some);
        }
        self.null().then_some(None)
    }

    fn opt_time(&mut self) -> Option<Option<Micros>> {
        // `"YYYY-MM-DDTHH:MM:SS[.f](Z|±HH:MM)"` straight from the line (its
        // bytes are then digits and separators: no escape to look for).
        self.ws();
        if self.b.get(self.i) == Some(&b'"')
            && let Some((t, n)) = self.b.get(self.i + 1..).and_then(parse_fast_prefix)
            && self.b.get(self.i + 1 + n) == Some(&b'"')
        {
            self.i += n + 2;
            return Some(Some(t));
        }
        match self.opt_string()? {
            None => Some(None),
            Some(s) => parse_rfc3339(s).ok().map(Some),
        }
    }

    fn string_list<S>(&mut self, str_of: &impl Fn(&'a str) -> S) -> Option<StrList<S>> {
        if self.null() {
            return Some(StrList::new());
        }
        let mut out = StrList::new();
        if self.open_empty(b'[', b']')? {
            return Some(out);
        }
        loop {
            out.push(str_of(self.string()?));
            if self.next_or_close(b']')? {
                return Some(out);
            }
        }
    }

    /// A JSON number, checked against the grammar; returns its text.
    fn number(&mut self) -> Option<&'a str> {
        self.ws();
        let start = self.i;
        let digits = |c: &mut Self| {
            let from = c.i;
            while c.b.get(c.i).is_some_and(u8::is_ascii_digit) {
                c.i += 1;
            }
            c.i > from
        };
        if self.b.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        match self.b.get(self.i)? {
            b'0' => self.i += 1,
            b'1'..=b'9' => {
                digits(self);
            }
            _ => return None,
        }
        if self.b.get(self.i) == Some(&b'.') {
            self.i += 1;
            if !digits(self) {
                return None;
            }
        }
        if let Some(b'e' | b'E') = self.b.get(self.i) {
            self.i += 1;
            if let Some(b'+' | b'-') = self.b.get(self.i) {
                self.i += 1;
            }
            if !digits(self) {
                return None;
            }
        }
        Some(&self.s[start..self.i])
    }

    /// Skips any JSON value (a string with escapes falls back).
    fn skip(&mut self, depth: u32) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'{' => {
                if self.open_empty(b'{', b'}')? {
                    return Some(());
                }
                loop {
                    self.string()?;
                    self.eat(b':')?;
                    self.skip(depth + 1)?;
                    if self.next_or_close(b'}')? {
                        return Some(());
                    }
                }
            }
            b'[' => {
                if self.open_empty(b'[', b']')? {
                    return Some(());
                }
                loop {
                    self.skip(depth + 1)?;
                    if self.next_or_close(b']')? {
                        return Some(());
                    }
                }
            }
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => self.number().map(drop),
        }
    }

    fn pull_request(&mut self, order: &mut KeyOrder) -> Option<Option<RawPullRequest>> {
        if self.null() {
            return Some(None);
        }
        let mut pr = RawPullRequest::default();
        if self.open_empty(b'{', b'}')? {
            return Some(Some(pr));
        }
        let mut previous = START;
        loop {
            match self.key_in_order(order, PULL_REQUEST_CONTEXT, &mut previous)? {
                Some(Key::Number) => {
                    pr.number = if self.null() {
                        None
                    } else {
                        let n = self.number()?;
                        // Only plain non-negative integers; serde decides the rest.
                        Some(n.parse::<u64>().ok().filter(|_| n.bytes().all(|c| c.is_ascii_digit()))?)
                    }
                }
                Some(Key::OpenedAt) => pr.opened_at = self.opt_time()?,
                Some(Key::MergedAt) => pr.merged_at = self.opt_time()?,
                Some(Key::FirstCommitAt) => pr.first_commit_at = self.opt_time()?,
                _ => self.skip(1)?,
            }
            if self.next_or_close(b'}')? {
                return Some(Some(pr));
            }
        }
    }
}

/// The kind of each key's top-level field, by key (`None`: every kind's,
/// or no top-level field).
const KEY_KINDS: [Option<EventKind>; Key::ALL.len()] = {
    let mut out = [None; Key::ALL.len()];
    let mut i = 0;
    while i < Key::ALL.len() {
        out[Key::ALL[i] as usize] = Key::ALL[i].top_level_kind();
        i += 1;
    }
    out
};

/// The kind of a field that belongs to one kind only.
#[inline]
fn field_kind(field: Field) -> Option<EventKind> {
    KEY_KINDS[field? as usize]
}

/// [`parse_in_order`] with no key guesses (the tests' plain reading).
#[cfg(test)]
pub(crate) fn parse<'a, S>(line: &'a str, str_of: impl Fn(&'a str) -> S) -> Option<RawEvent<S>> {
    parse_in_order(line, str_of, &mut KeyOrder::new())
}

/// Parses a line of the common shape, or returns `None` (use the serde
/// path). Strings are slices of `line`, each turned into an `S` by
/// `str_of` (a `Cow` of the line, or its place in the line's block):
/// the event is built once, in its final form.
///
/// Keys may come in any order, with any whitespace, and `kind` anywhere:
/// a field read before `kind` is read as its own kind's field and kept only
/// if the line turns out to be of that kind (as the serde path ignores
/// another kind's fields). Whatever the fast path cannot vouch for (an
/// escape in a string, a value of an unexpected shape, a repeated `kind`)
/// returns `None`, and the serde path decides, with its exact message.
///
/// Each key is guessed from the order of the lines before ([`KeyOrder`],
/// kept by the caller from one line to the next): the result is the same
/// whatever `order` holds.
pub(crate) fn parse_in_order<'a, S>(
    line: &'a str,
    str_of: impl Fn(&'a str) -> S,
    order: &mut KeyOrder,
) -> Option<RawEvent<S>> {
    use EventKind::{Change, Deployment, Incident};
    let mut c = Cursor { s: line, b: line.as_bytes(), i: 0 };
    if c.open_empty(b'{', b'}')? {
        return None;
    }
    let mut kind: Option<EventKind> = None;
    let (mut id, mut service, mut team, mut source) = (None, None, None, None);
    let (mut environment, mut finished_at, mut started_at, mut status) = (None, None, None, None);
    let (mut commit, mut changes, mut deployment_type, mut remediates) =
        (None, StrList::new(), None, Vec::new());
    let mut note = None;
    let (mut committed_at, mut authored_at, mut pull_request) = (None, None, None);
    let (mut opened_at, mut resolved_at, mut caused_by, mut caused_by_change, mut severity) =
        (None, None, None, None, None);
    let (mut context, mut previous) = (0, START);
    loop {
        let field = c.key_in_order(order, context, &mut previous)?;
        // Another kind's field: ignored, as the serde path ignores it.
        if kind.is_some() && field_kind(field).is_some_and(|k| Some(k) != kind) {
            c.skip(1)?;
        } else {
            match field {
                Some(Key::Kind) => {
                    if kind.is_some() {
                        return None;
                    }
                    let k = match c.string()? {
                        "deployment" => Deployment,
                        "change" => Change,
                        "incident" => Incident,
                        _ => return None,
                    };
                    kind = Some(k);
                    context = 1 + k as usize;
                }
                Some(Key::Id) => id = c.opt_string()?,
                Some(Key::Service) => service = c.opt_string()?,
                Some(Key::Team) => team = c.opt_string()?,
                Some(Key::Source) => source = c.opt_string()?,
                Some(Key::Environment) => environment = c.opt_string()?,
                Some(Key::FinishedAt) => finished_at = c.opt_time()?,
                Some(Key::StartedAt) => started_at = c.opt_time()?,
                Some(Key::Status) => {
                    status = match c.opt_string()? {
                        None => None,
                        Some("success") => Some(DeploymentStatus::Success),
                        Some("failure") => Some(DeploymentStatus::Failure),
                        Some(_) => return None,
                    }
                }
                Some(Key::Commit) => commit = c.opt_string()?,
                Some(Key::Changes) => changes = c.string_list(&str_of)?,
                Some(Key::Type) => {
                    deployment_type = match c.opt_string()? {
                        None => None,
                        Some("regular") => Some(DeploymentType::Regular),
                        Some("rollback") => Some(DeploymentType::Rollback),
                        Some("hotfix") => Some(DeploymentType::Hotfix),
                        Some(_) => return None,
                    }
                }
                Some(Key::Remediates) => remediates = c.string_list(&str_of)?.into_vec(),
                // Any other value is ignored by the serde path: hand it over.
                Some(Key::Note) => note = c.opt_string()?,
                Some(Key::CommittedAt) => committed_at = c.opt_time()?,
                Some(Key::AuthoredAt) => authored_at = c.opt_time()?,
                Some(Key::PullRequest) => pull_request = c.pull_request(order)?,
                Some(Key::OpenedAt) => opened_at = c.opt_time()?,
                Some(Key::ResolvedAt) => resolved_at = c.opt_time()?,
                Some(Key::CausedBy) => caused_by = c.opt_string()?,
                Some(Key::CausedByChange) => caused_by_change = c.opt_string()?,
                Some(Key::Severity) => severity = c.opt_string()?,
                Some(Key::Number | Key::MergedAt | Key::FirstCommitAt) | None => c.skip(1)?,
            }
        }
        if c.next_or_close(b'}')? {
            break;
        }
    }
    c.ws();
    if c.i != c.b.len() {
        return None;
    }
    // An empty id or service is an error: the serde path words it.
    let (id, service) = (id.filter(|s| !s.is_empty())?, service.filter(|s| !s.is_empty())?);
    let opt = |s: Option<&'a str>| s.map(&str_of);
    let body = match kind? {
        Deployment => RawBody::Deployment(RawDeployment {
            environment: str_of(environment?),
            finished_at: finished_at?,
            started_at,
            status: status?,
            commit: opt(commit),
            changes,
            deployment_type: deployment_type.unwrap_or_default(),
            remediates,
            note: opt(note),
        }),
        Change => RawBody::Change { committed_at: committed_at?, authored_at, pull_request },
        Incident => RawBody::Incident {
            opened_at: opened_at?,
            resolved_at,
            caused_by: opt(caused_by),
            caused_by_change: opt(caused_by_change),
            severity: opt(severity),
        },
    };
    Some(RawEvent { id: str_of(id), service: str_of(service), team: opt(team), source: opt(source), body })
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use proptest::prelude::*;

    use super::*;
    use crate::read::raw::parse_line_str;

    const LINES: &[&str] = &[
        r#"{"kind":"deployment","id":"d1","service":"api","environment":"prod","finished_at":"2026-03-02T14:05:00Z","status":"success","changes":["a","b"],"extra":{"x":[1,2.5e-3,-0,true,null,"s"]},"type":null,"team":null}"#,
        r#" { "kind" : "change" , "id" : "c1", "service":"api","committed_at":"2026-03-02T14:05:00+01:00","pull_request":{"number":7,"opened_at":null,"x":{}}} "#,
        r#"{"kind":"incident","id":"i","service":"a","opened_at":"2026-03-02T14:05:00Z","status":7,"caused_by":"d1"}"#,
        r#"{"kind":"change","id":"c","service":"a","committed_at":"2026-03-02T14:05:00Z","pull_request":{"number":7.0}}"#,
        r#"{"kind":"change","id":"c","service":"a","committed_at":"2026-03-02T14:05:00Z","pull_request":{"number":-7}}"#,
        r#"{"kind":"change","id":"c\u0031","service":"a","committed_at":"2026-03-02T14:05:00Z"}"#,
        r#"{"kind":"change","id":"c","service":"a","committed_at":"2026-03-02T14:05:00"}"#,
        r#"{"kind":"change","id":"c","service":"a","committed_at":"2026-03-02T14:05:00Z",}"#,
        r#"{"kind":"change","id":"c","service":"a","committed_at":"2026-03-02T14:05:00Z"} x"#,
        r#"{"kind":"change","kind":"deployment"}"#,
        r#"{"id":"c","kind":"change","service":"a","committed_at":"2026-03-02T14:05:00Z"}"#,
        r#"{"kind":"deployment","id":"d","service":"a","environment":"p","finished_at":"2026-03-02T14:05:00Z","status":"ok"}"#,
        r#"{"kind":"deployment","id":"d","service":"a","environment":"p","finished_at":"2026-03-02T14:05:00Z","status":"failure","changes":null,"remediates":[]}"#,
        r#"{"kind":"change","id":"c","service":"a","committed_at":"2026-03-02T14:05:00Z","z":01}"#,
        r#"{"kind":"change","id":"c","service":"a","committed_at":"2026-03-02T14:05:00Z","z":[1,]}"#,
        r#"{"kind":"change","id":"c","service":"a","committed_at":"2026-03-02T14:05:00Z","z":tru}"#,
        r#"{"kind":"change","id":"c","service":"é✓","committed_at":"2026-03-02T14:05:00Z"}"#,
        r#"{"kind":"deployment","id":"d","service":"a","environment":"p","finished_at":"2026-03-02T14:05:00Z","status":"success","note":"kubectl apply"}"#,
        r#"{"kind":"deployment","id":"d","service":"a","environment":"p","finished_at":"2026-03-02T14:05:00Z","status":"success","note":7}"#,
        r#"{"kind":"deployment","id":"d","service":"a","environment":"p","finished_at":"2026-03-02T14:05:00Z","status":"success","note":null}"#,
        r#"{"kind":"change","id":"c","service":"a","committed_at":"2026-03-02T14:05:00Z","note":"x"}"#,
        r#"{"kind":"deployment","id":"d","service":"a","environment":"p","finished_at":"2026-03-02T14:05:00Z","status":"success","note":"undo \"v2\"\n"}"#,
        r#"{"kind":"deployment","id":"d","service":"a","environment":"p","finished_at":"2026-03-02T14:05:00Z","status":"success","note":"a","note":7}"#,
        r#"{"kind":"deployment","id":"d","service":"a","environment":"p","finished_at":"2026-03-02T14:05:00Z","status":"success","note":{"x":["y"]}}"#,
        // Keys out of dora's order, near the end of the line, long, with
        // spaces, sharing a prefix, or twice.
        r#"{"kind":"incident","id":"i","service":"a","opened_at":"2026-03-02T14:05:00Z","caused_by_change":"c1","caused_by":"d1"}"#,
        r#"{"kind":"change","id":"c","service":"a","committed_at":"2026-03-02T14:05:00Z","pull_request":{"first_commit_at":"2026-03-01T14:05:00Z","number":3}}"#,
        r#"{"kind":"change","ids":"x","id":"c","service":"a","committed_at":"2026-03-02T14:05:00Z","id_":1}"#,
        r#"{"kind":"change","id" :"c","service" : "a","committed_at":"2026-03-02T14:05:00Z","team":"t","id":"d"}"#,
        r#"{"kind":"change","service":"a","committed_at":"2026-03-02T14:05:00Z","id":"c"}"#,
        r#"{"kind":"change","service":"a","id":"c","committed_at":"2026-03-02T14:05:00+01:00","authored_at":"2026-03-02T14:05:00.5Z"}"#,
        r#"{"kind":"change","service":"a","id":"c","committed_at":"2026-03-02T14:05:60Z"}"#,
        r#"{"kind":"change","service":"a","id":"c","committed_at":"2026-13-02T14:05:00Z"}"#,
        r#"{"kind" : "change","service":"a","id":"c","committed_at":"2026-03-02T14:05:00Z","n":{"kind":1}}"#,
    ];

    /// Key guesses taught by every example line, read in turn.
    fn trained_order() -> KeyOrder {
        let mut order = KeyOrder::new();
        for line in LINES {
            parse_in_order(line, Cow::Borrowed, &mut order);
        }
        order
    }

    /// Whatever the fast path accepts, the serde path accepts with the same
    /// result; and key guesses change nothing: the line reads the same with
    /// none, with those of the example lines, and with its own.
    fn agrees(line: &str) -> Result<(), TestCaseError> {
        let fresh = parse(line, Cow::Borrowed);
        let mut order = trained_order();
        prop_assert_eq!(&parse_in_order(line, Cow::Borrowed, &mut order), &fresh, "{}", line);
        prop_assert_eq!(&parse_in_order(line, Cow::Borrowed, &mut order), &fresh, "{}", line);
        if let Some(fast) = fresh {
            let slow = parse_line_str(line);
            prop_assert!(slow.is_ok(), "fast accepted what serde refuses: {line}: {slow:?}");
            prop_assert_eq!(fast, slow.unwrap(), "{}", line);
        }
        Ok(())
    }

    #[test]
    fn a_guess_is_taken_only_for_the_exact_key() {
        // Taught `ids` (unknown) then `id` after `kind`, and the reverse:
        // keys that share a prefix, a longer name, a spaced colon.
        let taught = [
            r#"{"kind":"change","ids":"x","id":"c","service":"a","committed_at":"2026-03-02T14:05:00Z"}"#,
            r#"{"kind":"change","id":"c","ids":"x","service":"a","committed_at":"2026-03-02T14:05:00Z"}"#,
            r#"{"kind":"change","id" :"c","service":"a","committed_at":"2026-03-02T14:05:00Z","id_":1}"#,
            r#"{"kind":"change","identifier_of_the_change_in_full":"c","id":"d","service":"a","committed_at":"2026-03-02T14:05:00Z"}"#,
            r#"{"kind":"incident","caused_by_change":"c","id":"i","service":"a","opened_at":"2026-03-02T14:05:00Z"}"#,
            r#"{"kind":"incident","caused_by_changes":"c","id":"i","service":"a","opened_at":"2026-03-02T14:05:00Z"}"#,
            r#"{"kind":"incident","caused_by_chang":"c","id":"i","service":"a","opened_at":"2026-03-02T14:05:00Z"}"#,
        ];
        for first in taught {
            for second in taught {
                let mut order = KeyOrder::new();
                parse_in_order(first, Cow::Borrowed, &mut order);
                let guessed = parse_in_order(second, Cow::Borrowed, &mut order);
                assert_eq!(guessed, parse(second, Cow::Borrowed), "{first} then {second}");
                assert_eq!(guessed, Some(parse_line_str(second).unwrap()), "{second}");
            }
        }
    }

    #[test]
    fn every_key_is_found_in_its_slot() {
        for (name, field) in KEY_NAMES {
            let k = key(name, field);
            assert_eq!(field_of(name), Some(k.field));
            // As a line holds it: value bytes after the colon, spaced or not.
            for after in [" \"x\", \"more\": 1}", "\"xxxxxxxxxxxxxxxxxxxxxxxx\"}"] {
                let line = format!("\"{name}\":{after}");
                let mut c = Cursor { s: &line, b: line.as_bytes(), i: 0 };
                assert_eq!(c.key(), Some(Some(k.field)), "{name}");
                assert_eq!(&line[c.i..], after, "{name}");
            }
            // Spaced before its colon, or with a longer name: read as a string.
            let line = format!("\"{name}\" : 1, \"padding padding\": 2");
            let mut c = Cursor { s: &line, b: line.as_bytes(), i: 0 };
            assert_eq!(c.key(), Some(Some(k.field)), "{name}");
            let line = format!("\"{name}x\": 1, \"padding padding\": 2");
            let mut c = Cursor { s: &line, b: line.as_bytes(), i: 0 };
            assert_eq!(c.key(), Some(None), "{name}x");
        }
    }

    #[test]
    fn agrees_with_serde_on_known_lines() {
        for line in LINES {
            agrees(line).unwrap();
        }
        assert!([0, 1, 2].iter().all(|&i| parse(LINES[i], Cow::Borrowed).is_some()));
        assert!(parse(LINES[5], Cow::Borrowed).is_none() && parse(LINES[9], Cow::Borrowed).is_none());
        // `kind` need not come first.
        assert!(parse(LINES[10], Cow::Borrowed).is_some());
        // Keys in any order, spaced or twice, still take the fast path.
        assert!((24..=29).all(|i| parse(LINES[i], Cow::Borrowed).is_some()));
    }

    #[test]
    fn every_demo_line_takes_the_fast_path_and_agrees() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/demo/events.jsonl");
        let text = std::fs::read_to_string(path).expect("the bundled demo data");
        for line in text.lines() {
            assert!(parse(line, Cow::Borrowed).is_some(), "fell back: {line}");
            agrees(line).unwrap();
        }
    }

    #[test]
    fn strings_stop_at_the_first_quote_backslash_or_control_character() {
        // The word-at-a-time scan against a plain one, with the
        // stopping byte at every place of strings up to 40 bytes.
        let plain = |body: &str| -> Option<String> {
            let end = body.find(['"', '\\']).filter(|&i| body.as_bytes()[i] == b'"');
            let end = end?;
            (!body[..end].bytes().any(|c| c < 0x20)).then(|| body[..end].to_string())
        };
        for len in 0..40 {
            for at in 0..=len {
                for stop in ["\"", "\\", "\u{1}", "\u{1f}", "\u{7f}", "é"] {
                    let body: String =
                        (0..len).map(|i| if i == at { stop } else { "a" }).collect::<String>() + "\"x";
                    let line = format!("\"{body}");
                    let mut cursor = Cursor { s: &line, b: line.as_bytes(), i: 0 };
                    assert_eq!(cursor.string().map(str::to_string), plain(&body), "{line:?}");
                    // The line cut short anywhere: the scan must not look past its end.
                    for cut in 1..line.len() {
                        let Some(short) = line.get(..cut) else { continue };
                        let mut cursor = Cursor { s: short, b: short.as_bytes(), i: 0 };
                        assert_eq!(cursor.string().map(str::to_string), plain(&short[1..]), "{short:?}");
                    }
                }
            }
        }
    }

    /// A valid time in any RFC 3339 form: `Z`, `z` or an offset, with or
    /// without a fraction.
    fn any_time() -> impl Strategy<Value = String> {
        (
            0i64..4_000_000_000,
            prop::option::of("[0-9]{1,9}"),
            0usize..6,
            -23i32..=23,
            prop::sample::select(vec![0, 30, 45]),
        )
            .prop_map(|(secs, fraction, zone, hours, minutes)| {
                let offset = hours * 3600 + hours.signum() * minutes * 60;
                let t = chrono::DateTime::from_timestamp(secs, 0).unwrap();
                let z = chrono::FixedOffset::east_opt(offset).unwrap();
                let mut text = t.with_timezone(&z).format("%Y-%m-%dT%H:%M:%S").to_string();
                if let Some(f) = fraction {
                    text = format!("{text}.{f}");
                }
                match zone {
                    0 => text + "Z",
                    1 => text + "z",
                    2 => format!("{text}{}", t.with_timezone(&z).format("%:z")),
                    3 => text.replacen('T', " ", 1) + "Z",
                    _ => format!("{text}{}", t.with_timezone(&z).format("%:z")),
                }
            })
    }

    fn any_str() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9:/._ -]{1,20}|[é✓€]{1,3}"
    }

    /// A JSON value dora does not read, for unknown keys.
    fn any_unknown() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("null".to_string()),
            Just("true".to_string()),
            Just("-12.5e3".to_string()),
            Just("[1, \"a\", {\"b\": [null, {}]}]".to_string()),
            Just("{\"id\": 7, \"url\": \"https://ci.example.com/x/-/1\", \"kind\": \"x\"}".to_string()),
            any_str().prop_map(|s| format!("\"{s}\"")),
        ]
    }

    /// The fields of a valid event of each kind, as `(key, JSON text)`.
    fn any_fields() -> impl Strategy<Value = Vec<(String, String)>> {
        let q = |s: String| format!("\"{s}\"");
        let opt = |v: Option<String>| v.unwrap_or_else(|| "null".to_string());
        let common = || (any_str(), any_str(), prop::option::of(any_str()), prop::option::of(any_str()));
        let deployment = (
            common(),
            any_str(),
            any_time(),
            prop::option::of(any_time()),
            prop::sample::select(vec!["success", "failure"]),
            prop::option::of(prop::sample::select(vec!["regular", "rollback", "hotfix"])),
            prop::collection::vec(any_str(), 0..3),
            prop::option::of(any_str()),
        )
            .prop_map(
                move |((id, service, team, source), env, fin, start, status, ty, changes, commit)| {
                    let list = format!(
                        "[{}]",
                        changes.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", ")
                    );
                    vec![
                        ("kind".into(), q("deployment".into())),
                        ("id".into(), q(id)),
                        ("service".into(), q(service)),
                        ("team".into(), opt(team.map(q))),
                        ("source".into(), opt(source.map(q))),
                        ("environment".into(), q(env)),
                        ("finished_at".into(), q(fin)),
                        ("started_at".into(), opt(start.map(q))),
                        ("status".into(), q(status.into())),
                        ("type".into(), opt(ty.map(|t| q(t.into())))),
                        ("changes".into(), list.clone()),
                        ("remediates".into(), list),
                        ("commit".into(), opt(commit.map(q))),
                    ]
                },
            );
        let change = (
            common(),
            any_time(),
            prop::option::of(any_time()),
            prop::option::of((0u64..100_000, any_time(), prop::option::of(any_time()))),
        )
            .prop_map(move |((id, service, team, source), committed, authored, pr)| {
                let pr = pr.map(|(n, opened, merged)| {
                    format!(
                        "{{\"merged_at\": {}, \"number\": {n}, \"opened_at\": \"{opened}\", \"title\": \"x\"}}",
                        opt(merged.map(q))
                    )
                });
                vec![
                    ("kind".into(), q("change".into())),
                    ("id".into(), q(id)),
                    ("service".into(), q(service)),
                    ("team".into(), opt(team.map(q))),
                    ("source".into(), opt(source.map(q))),
                    ("committed_at".into(), q(committed)),
                    ("authored_at".into(), opt(authored.map(q))),
                    ("pull_request".into(), opt(pr)),
                ]
            });
        let incident = (common(), any_time(), prop::option::of(any_time()), prop::option::of(any_str()))
            .prop_map(move |((id, service, team, source), opened, resolved, cause)| {
                vec![
                    ("kind".into(), q("incident".into())),
                    ("id".into(), q(id)),
                    ("service".into(), q(service)),
                    ("team".into(), opt(team.map(q))),
                    ("source".into(), opt(source.map(q))),
                    ("opened_at".into(), q(opened)),
                    ("resolved_at".into(), opt(resolved.map(q))),
                    ("caused_by".into(), opt(cause.clone().map(q))),
                    ("severity".into(), opt(cause.map(q))),
                ]
            });
        prop_oneof![deployment, change, incident]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

        /// Any valid line, whatever its key order, whitespace, time forms,
        /// nulls and unknown keys, takes the fast path and reads exactly as
        /// the serde path reads it.
        #[test]
        fn every_valid_line_takes_the_fast_path(
            fields in any_fields().prop_shuffle(),
            unknown in prop::collection::vec(("[a-z_]{1,12}", any_unknown()), 0..4),
            at in prop::collection::vec(0usize..20, 4),
            (colon, comma, edge) in (
                prop::sample::select(vec!["", " ", "  ", "\t"]),
                prop::sample::select(vec!["", " ", "\t "]),
                prop::sample::select(vec!["", " ", " \r"]),
            ),
        ) {
            let mut fields = fields;
            for (i, (key, value)) in unknown.into_iter().enumerate() {
                // A name dora knows would not be unknown.
                if field_of(&key).is_none() {
                    let place = at[i] % (fields.len() + 1);
                    fields.insert(place, (key, value));
                }
            }
            let line_of = |fields: &[(String, String)]| {
                let body: Vec<String> = fields.iter().map(|(k, v)| format!("\"{k}\"{colon}:{colon}{v}")).collect();
                format!("{edge}{{{edge}{}{edge}}}{edge}", body.join(&format!(",{comma}")))
            };
            let line = line_of(&fields);
            let fast = parse(&line, Cow::Borrowed);
            prop_assert!(fast.is_some(), "fell back to serde: {}", line);
            let slow = parse_line_str(&line);
            prop_assert!(slow.is_ok(), "serde refuses a valid line: {line}: {slow:?}");
            prop_assert_eq!(fast.as_ref(), slow.as_ref().ok(), "{}", line);
            // Guessing keys from lines of other orders and kinds, then from
            // this line's own order, reads it the same.
            let mut order = trained_order();
            let mut rotated = fields.clone();
            rotated.rotate_left(1);
            parse_in_order(&line_of(&rotated), Cow::Borrowed, &mut order);
            prop_assert_eq!(&parse_in_order(&line, Cow::Borrowed, &mut order), &fast, "{}", line);
            prop_assert_eq!(&parse_in_order(&line, Cow::Borrowed, &mut order), &fast, "{}", line);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        /// Lines cut and mutated from the examples above.
        #[test]
        fn agrees_with_serde_on_mutated_lines(which in 0..LINES.len(), cut in 0usize..300, byte in any::<u8>(), pos in 0usize..300) {
            let mut bytes = LINES[which].as_bytes().to_vec();
            let p = pos % (bytes.len() + 1);
            bytes.insert(p, byte);
            if cut < bytes.len() && cut % 3 == 0 {
                bytes.truncate(cut);
            }
            if let Ok(line) = std::str::from_utf8(&bytes) {
                agrees(line)?;
            }
        }

        #[test]
        fn agrees_with_serde_on_generated_lines(
            id in "[a-z0-9:/ \\\\\"\u{e9}\u{1}]{0,24}",
            num in "-?[0-9]{1,3}(\\.[0-9]{1,2})?([eE][-+]?[0-9])?",
            ws in "[ \t]{0,2}",
            extra in prop_oneof![Just("null"), Just("[]"), Just("{}"), Just("[1,{\"a\":[null]}]"), Just("\"x\\ny\""), Just("truex")],
            time in prop_oneof![Just("2026-03-02T14:05:00Z"), Just("2026-03-02T14:05:00.5+02:00"), Just("2026-03-02"), Just("null")],
        ) {
            let line = format!(
                r#"{{{ws}"kind"{ws}:{ws}"change",{ws}"id":"{id}","service":"s","committed_at":"{time}","n":{num},"e":{extra},"pull_request":{{"number":{num}}}}}{ws}"#
            );
            agrees(&line)?;
            let line = format!(
                r#"{{"kind":"deployment","id":"{id}","service":"s","environment":"prod","finished_at":"{time}","status":"success","changes":["{id}",{extra}]}}"#
            );
            agrees(&line)?;
        }
    }
}
