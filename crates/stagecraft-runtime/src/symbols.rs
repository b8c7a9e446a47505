//! Interned strings. Symbol `i` of a fresh table is the program's string
//! constant `i`, so expressions compare strings as integers. The table is
//! part of a snapshot, so ids stay the same across restores.

use hashbrown::HashMap;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Symbols {
    names: Vec<Box<str>>,
    #[serde(skip)]
    ids: HashMap<Box<str>, i64>,
}

impl Symbols {
    pub fn new(seed: &[String]) -> Symbols {
        let mut symbols = Symbols::default();
        for s in seed {
            symbols.intern(s);
        }
        symbols
    }

    pub fn intern(&mut self, s: &str) -> i64 {
        if let Some(id) = self.ids.get(s) {
            return *id;
        }
        let id = self.names.len() as i64;
        self.names.push(s.into());
        self.ids.insert(s.into(), id);
        id
    }

    pub fn get(&self, s: &str) -> Option<i64> {
        self.ids.get(s).copied()
    }

    pub fn name(&self, id: i64) -> &str {
        usize::try_from(id)
            .ok()
            .and_then(|i| self.names.get(i))
            .map_or("", |s| s)
    }

    /// Rebuilds the lookup map after deserialisation.
    pub fn reindex(&mut self) {
        self.ids = self
            .names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i as i64))
            .collect();
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}
