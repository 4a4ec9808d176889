//! A small `--flag value` parser (no dependency needed for a dozen flags).

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;
use std::time::Duration;

/// Flags that take no value.
const SWITCHES: &[&str] = &["quick", "no-pin", "help"];

/// Parsed flags; every flag read is remembered so unknown ones can be reported.
#[derive(Debug)]
pub struct Args {
    map: BTreeMap<String, Option<String>>,
    used: RefCell<BTreeSet<String>>,
}

impl Args {
    /// Parses `--key value`, `--key=value` and the switches.
    pub fn parse(argv: &[String]) -> Result<Self, String> {
        let mut map = BTreeMap::new();
        let mut it = argv.iter();
        while let Some(a) = it.next() {
            let key = a
                .strip_prefix("--")
                .ok_or_else(|| format!("unexpected argument {a:?} (flags are --name value)"))?;
            if let Some((k, v)) = key.split_once('=') {
                map.insert(k.to_string(), Some(v.to_string()));
            } else if SWITCHES.contains(&key) {
                map.insert(key.to_string(), None);
            } else {
                let v = it.next().ok_or_else(|| format!("--{key} needs a value"))?;
                map.insert(key.to_string(), Some(v.clone()));
            }
        }
        Ok(Self {
            map,
            used: RefCell::new(BTreeSet::new()),
        })
    }

    /// A switch.
    pub fn flag(&self, k: &str) -> bool {
        self.used.borrow_mut().insert(k.to_string());
        self.map.contains_key(k)
    }

    /// A string value.
    pub fn str(&self, k: &str) -> Option<String> {
        self.used.borrow_mut().insert(k.to_string());
        self.map.get(k).cloned().flatten()
    }

    /// A parsed value, if given.
    pub fn opt<T: FromStr>(&self, k: &str) -> Result<Option<T>, String> {
        match self.str(k) {
            None => Ok(None),
            Some(v) => v
                .replace('_', "")
                .parse()
                .map(Some)
                .map_err(|_| format!("--{k}: cannot parse {v:?}")),
        }
    }

    /// A parsed value with a default.
    pub fn num<T: FromStr>(&self, k: &str, default: T) -> Result<T, String> {
        Ok(self.opt(k)?.unwrap_or(default))
    }

    /// Seconds (fractions allowed) with a default.
    pub fn secs(&self, k: &str, default: f64) -> Result<Duration, String> {
        let v: f64 = self.num(k, default)?;
        if !(0.0..=86_400.0).contains(&v) {
            return Err(format!("--{k}: {v} seconds is out of range"));
        }
        Ok(Duration::from_secs_f64(v))
    }

    /// A comma-separated list with a default.
    pub fn list<T: FromStr>(&self, k: &str, default: Vec<T>) -> Result<Vec<T>, String> {
        match self.str(k) {
            None => Ok(default),
            Some(v) => v
                .split(',')
                .filter(|s| !s.trim().is_empty())
                .map(|s| {
                    s.trim()
                        .replace('_', "")
                        .parse()
                        .map_err(|_| format!("--{k}: cannot parse {s:?}"))
                })
                .collect(),
        }
    }

    /// Fails on flags that no one read.
    pub fn finish(&self) -> Result<(), String> {
        let used = self.used.borrow();
        let unknown: Vec<&String> = self.map.keys().filter(|k| !used.contains(*k)).collect();
        if unknown.is_empty() {
            Ok(())
        } else {
            Err(format!("unknown flag(s): {unknown:?} (see loadgen --help)"))
        }
    }
}
