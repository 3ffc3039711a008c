//! Synthetic landing data in the shape of the real STEDI data: the same folders, file naming,
//! field names and JSON layout, deterministic for a seed, written as it goes (memory does not grow
//! with the number of readings). Privacy problems can be injected on request, and the generator
//! says exactly how many rows each check must then find, worked out from how the data was built.
//!
//! Layout of time: customer `i` owns the window `[BASE + i*W, BASE + (i+1)*W)`. Registration and
//! consent fall in its first quarter, its regular readings in its second half at even seconds, so no
//! two customers ever share a millisecond unless a problem is injected on purpose.
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::error::{EngineError, Result};

const BASE_TIME: i64 = 1_655_564_376_361;
const FILE_STAMP: i64 = 1_691_348_231_425;
/// The real data's size per scale unit: 956 customers, ~30 step trainer readings each, ~2.83
/// accelerometer readings per step trainer millisecond (81,273 / 28,680).
pub const CUSTOMERS_PER_SCALE: f64 = 956.0;
pub const DEFAULT_READINGS: usize = 30;

/// The problems the generator can inject, each `count` times (on distinct consenting customers).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Injections {
    pub orphans: usize,
    pub pre_consent: usize,
    pub cross_customer: usize,
    pub revoked: usize,
    pub duplicates: usize,
}

impl Injections {
    pub const KINDS: [&'static str; 5] = ["orphans", "pre-consent", "cross-customer", "revoked", "duplicates"];

    /// Parse `orphans,pre-consent=5,...` (a kind alone means `default_count`).
    pub fn parse(spec: &str, default_count: usize) -> std::result::Result<Injections, String> {
        let mut inj = Injections::default();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (kind, count) = match part.split_once('=') {
                Some((k, n)) => (k, n.parse::<usize>().map_err(|_| format!("bad count in {part:?}"))?),
                None => (part, default_count),
            };
            match kind {
                "orphans" => inj.orphans = count,
                "pre-consent" => inj.pre_consent = count,
                "cross-customer" => inj.cross_customer = count,
                "revoked" => inj.revoked = count,
                "duplicates" => inj.duplicates = count,
                "all" => {
                    inj = Injections {
                        orphans: count,
                        pre_consent: count,
                        cross_customer: count,
                        revoked: count,
                        duplicates: count,
                    }
                }
                other => {
                    return Err(format!("unknown problem {other:?}; known: {}, all", Injections::KINDS.join(", ")))
                }
            }
        }
        Ok(inj)
    }

    /// Consenting customers the injections need, each used by one injection only.
    fn customers_needed(&self) -> usize {
        self.pre_consent + 2 * self.cross_customer + self.revoked + self.duplicates
    }
}

#[derive(Debug, Clone)]
pub struct GenerateOptions {
    pub out: PathBuf,
    pub customers: usize,
    pub seed: u64,
    /// Average Step Trainer readings per customer.
    pub readings: usize,
    pub inject: Injections,
}

impl GenerateOptions {
    pub fn new(out: impl Into<PathBuf>, customers: usize, seed: u64) -> Self {
        GenerateOptions { out: out.into(), customers, seed, readings: DEFAULT_READINGS, inject: Injections::default() }
    }
    /// `--scale F`: F = 1 is the real data's size.
    pub fn customers_for_scale(scale: f64) -> usize {
        (CUSTOMERS_PER_SCALE * scale).round().max(1.0) as usize
    }
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct GenerateSummary {
    pub customer_records: u64,
    pub consenting_customers: u64,
    pub accelerometer_readings: u64,
    pub step_trainer_readings: u64,
    pub files: u64,
    pub bytes: u64,
    /// check id -> failing rows the default (rubric) pipeline must report; ids not listed must pass
    /// (except `pii.machine_learning_curated`, which the rubric ML table always fails).
    pub expected_failing: BTreeMap<String, u64>,
}

/// SplitMix64: tiny, fast, and the same on every platform, so a seed always gives the same data.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn for_item(seed: u64, item: u64, stream: u64) -> Rng {
        let mut rng = Rng(seed ^ item.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03));
        rng.next();
        rng
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
    fn uuid(&mut self) -> String {
        let (a, b) = (self.next(), self.next());
        let bytes: Vec<u8> = a.to_be_bytes().into_iter().chain(b.to_be_bytes()).collect();
        let hex: String = bytes
            .iter()
            .enumerate()
            .map(|(i, byte)| match i {
                6 => format!("{:02x}", (byte & 0x0f) | 0x40),
                8 => format!("{:02x}", (byte & 0x3f) | 0x80),
                _ => format!("{byte:02x}"),
            })
            .collect();
        format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
    }
}

const FIRST: [&str; 40] = [
    "Santosh", "Ben", "Frank", "Jeff", "Sarah", "Lyn", "Chris", "Grace", "Jacob", "Liz", "Senthil", "Bobby", "Trevor",
    "Edward", "Danny", "Gail", "Kathy", "Neeraj", "Spencer", "Steve", "Suresh", "John", "Mary", "Aisha", "Wei", "Olga",
    "Pedro", "Fatima", "Hiro", "Ingrid", "Kofi", "Lucia", "Mateo", "Nadia", "Omar", "Priya", "Rosa", "Sven", "Tariq",
    "Yara",
];
const LAST: [&str; 40] = [
    "Clayton", "Khatib", "Doshi", "Lincoln", "Mitra", "Davis", "Jones", "Hansen", "Ahmed", "Anandh", "Abram", "Wu",
    "Huey", "Stafford", "Howard", "Lee", "Smith", "Kumar", "Phillips", "Hofmann", "Garcia", "Silva", "Nguyen",
    "Okafor", "Tanaka", "Novak", "Rossi", "Haddad", "Larsen", "Mensah", "Ortiz", "Petrov", "Quinn", "Reyes", "Sato",
    "Berg", "Walsh", "Young", "Zhang", "Mendes",
];

/// One customer, a pure function of (seed, index): nothing is kept in memory between uses.
#[derive(Debug, Clone)]
struct Customer {
    name: String,
    email: String,
    phone: String,
    birthday: String,
    serial: String,
    window_start: i64,
    registration: i64,
    last_update: i64,
    consent: Option<i64>,
    public: Option<i64>,
    friends: Option<i64>,
}

struct Layout {
    seed: u64,
    readings: usize,
    window: i64,
}

impl Layout {
    fn new(seed: u64, readings: usize) -> Layout {
        // Regular readings sit at even seconds in the window's second half: room for 1.5x the average.
        let max_readings = (readings as i64 * 3 / 2 + 2).max(4);
        let window = (max_readings * 2_000 * 2).max(600_000);
        Layout { seed, readings, window }
    }

    fn customer(&self, i: usize) -> Customer {
        let mut rng = Rng::for_item(self.seed, i as u64, 1);
        let first = FIRST[(i + self.seed as usize) % FIRST.len()];
        // (first, last) pairs are all distinct for the first 40 x 40 customers; then a number is added.
        let last = LAST[(i / FIRST.len() + i + self.seed as usize / 7) % LAST.len()];
        let round = i / (FIRST.len() * LAST.len());
        let suffix = if round == 0 { String::new() } else { round.to_string() };
        let window_start = BASE_TIME + i as i64 * self.window;
        let registration = window_start + 1_000 + rng.below((self.window / 8) as u64) as i64;
        let consent = rng.chance(0.5).then(|| registration + rng.below((self.window / 8) as u64) as i64);
        let public = rng.chance(0.5).then_some(registration);
        let friends = rng.chance(0.5).then_some(registration);
        Customer {
            name: format!("{first} {last}"),
            email: format!("{first}.{last}{suffix}@test.com"),
            phone: format!("801555{:04}", rng.below(10_000)),
            birthday: format!("{}-{:02}-{:02}", 1940 + rng.below(65), 1 + rng.below(12), 1 + rng.below(28)),
            serial: rng.uuid(),
            window_start,
            registration,
            last_update: consent.unwrap_or(registration),
            consent,
            public,
            friends,
        }
    }

    /// The customer's Step Trainer readings, each with the accelerometer readings taken in the same
    /// millisecond (1 to 4, distinct values, mean ~2.83 as in the real data).
    fn readings(&self, i: usize, c: &Customer) -> Vec<StepReading> {
        let mut rng = Rng::for_item(self.seed, i as u64, 2);
        let n = (self.readings / 2 + rng.below(self.readings as u64 + 1) as usize).max(1);
        (0..n)
            .map(|j| {
                let time = c.window_start + self.window / 2 + j as i64 * 2_000;
                let roll = rng.below(100);
                let count = if roll < 10 {
                    1
                } else if roll < 35 {
                    2
                } else if roll < 72 {
                    3
                } else {
                    4
                };
                let mut accel: Vec<[f64; 3]> = Vec::with_capacity(count);
                while accel.len() < count {
                    let mut axis = || (rng.below(2001) as f64 - 1000.0) / 1000.0;
                    let xyz = [axis(), axis(), axis()];
                    if !accel.contains(&xyz) {
                        accel.push(xyz);
                    }
                }
                StepReading { time, distance: 150 + rng.below(150) as i64, accel }
            })
            .collect()
    }
}

struct StepReading {
    time: i64,
    distance: i64,
    accel: Vec<[f64; 3]>,
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialise")
}

fn opt(v: Option<i64>) -> String {
    v.map_or("null".to_string(), |v| v.to_string())
}

fn customer_line(c: &Customer, last_update: i64, consent: Option<i64>) -> String {
    format!(
        "{{\"customerName\": {}, \"email\": {}, \"phone\": {}, \"birthDay\": {}, \"serialNumber\": {}, \"registrationDate\": {}, \"lastUpdateDate\": {}, \"shareWithResearchAsOfDate\": {}, \"shareWithPublicAsOfDate\": {}, \"shareWithFriendsAsOfDate\": {}}}\n",
        json_str(&c.name), json_str(&c.email), json_str(&c.phone), json_str(&c.birthday), json_str(&c.serial),
        c.registration, last_update, opt(consent), opt(c.public), opt(c.friends)
    )
}

fn accel_line(user: &str, time: i64, xyz: [f64; 3]) -> String {
    format!(
        "{{\"user\":{},\"timestamp\":{time},\"x\":{:?},\"y\":{:?},\"z\":{:?}}}\n",
        json_str(user),
        xyz[0],
        xyz[1],
        xyz[2]
    )
}

fn step_line(serial: &str, time: i64, distance: i64) -> String {
    format!(
        "{{\"sensorReadingTime\":{time},\"serialNumber\":{},\"distanceFromObject\":{distance}}}\n",
        json_str(serial)
    )
}

/// A table's output, split into `files` files by customer range, as the S3 landing folders are.
struct Sink {
    dir: PathBuf,
    dataset: &'static str,
    files: usize,
    customers: usize,
    current: Option<(usize, BufWriter<File>)>,
    written: Vec<PathBuf>,
    records: u64,
}

impl Sink {
    fn new(out: &Path, dataset: &'static str, files: usize, customers: usize) -> Result<Sink> {
        let dir = out.join(dataset).join("landing");
        fs::create_dir_all(&dir).map_err(|e| EngineError::input(&dir, format!("cannot create: {e}")))?;
        Ok(Sink {
            dir,
            dataset,
            files: files.max(1),
            customers: customers.max(1),
            current: None,
            written: Vec::new(),
            records: 0,
        })
    }

    /// Write `line` into the file that holds customer `i`'s range.
    fn write(&mut self, i: usize, line: &str) -> Result<()> {
        let file_index = (i * self.files / self.customers).min(self.files - 1);
        if self.current.as_ref().map(|(n, _)| *n) != Some(file_index) {
            self.finish()?;
            let path = self.dir.join(format!("{}-{}.json", self.dataset, FILE_STAMP + file_index as i64 * 50));
            let file = File::create(&path).map_err(|e| EngineError::input(&path, format!("cannot create: {e}")))?;
            self.written.push(path);
            self.current = Some((file_index, BufWriter::new(file)));
        }
        let (_, writer) = self.current.as_mut().expect("opened above");
        let path = self.written.last().expect("opened above");
        writer.write_all(line.as_bytes()).map_err(|e| EngineError::input(path, format!("cannot write: {e}")))?;
        self.records += 1;
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        if let Some((_, mut writer)) = self.current.take() {
            let path = self.written.last().expect("a writer has a path");
            writer.flush().map_err(|e| EngineError::input(path, format!("cannot write: {e}")))?;
        }
        Ok(())
    }
}

fn files_for(records: f64, per_file: f64, min: usize) -> usize {
    ((records / per_file).ceil() as usize).clamp(min, 500)
}

/// Write a landing data set under `options.out` and say what the checks must find in it.
pub fn generate(options: &GenerateOptions) -> Result<GenerateSummary> {
    let n = options.customers;
    if n == 0 {
        return Err(EngineError::input(&options.out, "--customers must be at least 1"));
    }
    let layout = Layout::new(options.seed, options.readings.max(1));
    let inj = options.inject;

    // Injections go to the first consenting customers, each customer to one injection only, so the
    // expected counts simply add up.
    let mut consenting = (0..n).filter(|&i| layout.customer(i).consent.is_some());
    let mut take = |k: usize| -> Vec<usize> { consenting.by_ref().take(k).collect() };
    let pre_consent = take(inj.pre_consent);
    let cross: Vec<(usize, usize)> =
        take(2 * inj.cross_customer).chunks(2).filter(|p| p.len() == 2).map(|p| (p[0], p[1])).collect();
    let revoked = take(inj.revoked);
    let duplicated = take(inj.duplicates);
    let got = pre_consent.len() + 2 * cross.len() + revoked.len() + duplicated.len();
    if got < inj.customers_needed() {
        return Err(EngineError::input(
            &options.out,
            format!(
                "the injections need {} consenting customers but only {got} were generated; raise --customers",
                inj.customers_needed()
            ),
        ));
    }

    let est_steps = (n * layout.readings) as f64;
    let mut customers = Sink::new(&options.out, "customer", files_for(n as f64, 50_000.0, 2), n)?;
    let mut accel = Sink::new(&options.out, "accelerometer", files_for(est_steps * 2.83, 200_000.0, 3), n)?;
    let mut steps = Sink::new(&options.out, "step_trainer", files_for(est_steps, 200_000.0, 3), n)?;
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    let mut add = |id: &str, rows: u64| *expected.entry(id.to_string()).or_insert(0) += rows;
    let mut consenting_count = 0;

    for i in 0..n {
        let c = layout.customer(i);
        consenting_count += c.consent.is_some() as u64;
        customers.write(i, &customer_line(&c, c.last_update, c.consent))?;
        let readings = layout.readings(i, &c);
        let accel_rows: u64 = readings.iter().map(|r| r.accel.len() as u64).sum();
        for r in &readings {
            steps.write(i, &step_line(&c.serial, r.time, r.distance))?;
            for xyz in &r.accel {
                accel.write(i, &accel_line(&c.email, r.time, *xyz))?;
            }
        }
        if revoked.contains(&i) {
            // A later record without consent: the customer withdrew. The rubric pipeline still
            // trusts the earlier record, so everything of theirs downstream is a leak.
            customers.write(i, &customer_line(&c, c.last_update + 86_400_000, None))?;
            add("consent_leak.customer_trusted", 1);
            add("consent_leak.customer_curated", 1);
            add("consent_leak.accelerometer_trusted", accel_rows);
            add("consent_leak.step_trainer_trusted", readings.len() as u64);
            add("consent_leak.machine_learning_curated", accel_rows);
            add("duplicate_key.customer_landing", 2);
        }
        if pre_consent.contains(&i) {
            // One reading of each device before registration (so before consent), in the same ms.
            let t = c.window_start + 500;
            steps.write(i, &step_line(&c.serial, t, 200))?;
            accel.write(i, &accel_line(&c.email, t, [0.5, 0.5, 0.5]))?;
            for id in [
                "pre_consent.accelerometer_trusted",
                "pre_consent.step_trainer_trusted",
                "pre_consent.machine_learning_curated",
            ] {
                add(id, 1);
            }
        }
        if let Some(&(other, _)) = cross.iter().find(|(_, owner)| *owner == i) {
            // This customer's Step Trainer and an earlier customer's phone in one odd millisecond:
            // the rubric's timestamp-only join pairs them.
            let t = c.window_start + layout.window / 2 + 1_000;
            steps.write(i, &step_line(&c.serial, t, 199))?;
            accel.write(i, &accel_line(&layout.customer(other).email, t, [0.25, 0.25, 0.25]))?;
            add("cross_customer.machine_learning_curated", 1);
        }
        if duplicated.contains(&i) {
            // The same customer record twice, and one phone reading twice (as a re-sent file does).
            customers.write(i, &customer_line(&c, c.last_update, c.consent))?;
            let first = &readings[0];
            accel.write(i, &accel_line(&c.email, first.time, first.accel[0]))?;
            for id in ["duplicate.customer_landing", "duplicate.customer_trusted", "duplicate.accelerometer_landing"] {
                add(id, 1);
            }
            add("duplicate.accelerometer_trusted", 1);
            add("duplicate.machine_learning_curated", 1);
            add("duplicate_key.customer_landing", 2);
        }
    }
    let mut orphan_rng = Rng::for_item(options.seed, n as u64, 3);
    for k in 0..inj.orphans {
        // Readings from devices and phones no customer owns, after every customer's window.
        let t = BASE_TIME + n as i64 * layout.window + k as i64 * 1_000;
        accel.write(n - 1, &accel_line(&format!("Nobody.Known{k}@test.com"), t, [1.0, 0.0, -1.0]))?;
        steps.write(n - 1, &step_line(&orphan_rng.uuid(), t, 100))?;
        add("orphan.accelerometer_landing", 1);
        add("orphan.step_trainer_landing", 1);
    }
    let mut files = Vec::new();
    for sink in [&mut customers, &mut accel, &mut steps] {
        sink.finish()?;
        files.extend(sink.written.iter().cloned());
    }
    let bytes = files.iter().filter_map(|p| fs::metadata(p).ok()).map(|m| m.len()).sum();
    Ok(GenerateSummary {
        customer_records: customers.records,
        consenting_customers: consenting_count,
        accelerometer_readings: accel.records,
        step_trainer_readings: steps.records,
        files: files.len() as u64,
        bytes,
        expected_failing: expected,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_look_like_v4() {
        let u = Rng::for_item(1, 2, 3).uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
    }

    #[test]
    fn injections_parse() {
        let inj = Injections::parse("orphans,revoked=5", 3).unwrap();
        assert_eq!((inj.orphans, inj.revoked, inj.duplicates), (3, 5, 0));
        assert!(Injections::parse("bogus", 1).is_err());
    }
}
