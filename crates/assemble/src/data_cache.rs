//! A bounded cache of decompressed template data, shared by every reader of
//! every image a server or mount publishes (issue 7, 9): a range request
//! then costs a copy, not a decompression from the start of its data part.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// Data parts larger than this are decompressed as a stream, never cached
/// whole (libjte cuts parts at 1 MiB, jigdo-file at about 256 KiB
/// compressed; a hostile template may claim anything).
pub(crate) const MAX_CACHED_PART: u64 = 32 << 20;

/// Decompressed data parts, least recently used dropped first once their
/// total passes the budget.
#[derive(Debug)]
pub struct DataCache {
    budget: u64,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Hands out an id per image, so no two images' parts share a key.
    next_image: u64,
    tick: u64,
    used: u64,
    /// (image id, part index) → (bytes, last use).
    parts: HashMap<PartKey, (Arc<[u8]>, u64)>,
}

type PartKey = (u64, usize);

impl DataCache {
    /// A cache holding up to `budget` bytes of decompressed data.
    pub fn new(budget: u64) -> Self {
        DataCache {
            budget,
            state: Mutex::new(State::default()),
        }
    }

    /// Bytes held now.
    pub fn used(&self) -> u64 {
        self.lock().used
    }

    /// The budget in bytes.
    pub fn budget(&self) -> u64 {
        self.budget
    }

    /// A fresh id for an image's entries.
    pub(crate) fn register(&self) -> u64 {
        let mut s = self.lock();
        s.next_image += 1;
        s.next_image
    }

    pub(crate) fn get(&self, image: u64, part: usize) -> Option<Arc<[u8]>> {
        let mut s = self.lock();
        s.tick += 1;
        let tick = s.tick;
        let entry = s.parts.get_mut(&(image, part))?;
        entry.1 = tick;
        Some(Arc::clone(&entry.0))
    }

    pub(crate) fn insert(&self, image: u64, part: usize, bytes: Arc<[u8]>) {
        let len = bytes.len() as u64;
        if len > self.budget {
            return;
        }
        let mut s = self.lock();
        s.tick += 1;
        let tick = s.tick;
        if let Some((old, _)) = s.parts.insert((image, part), (bytes, tick)) {
            s.used -= old.len() as u64;
        }
        s.used += len;
        while s.used > self.budget {
            let Some(oldest) = s.parts.iter().min_by_key(|(_, (_, t))| *t).map(|(k, _)| *k) else {
                break;
            };
            if let Some((gone, _)) = s.parts.remove(&oldest) {
                s.used -= gone.len() as u64;
            }
        }
    }

    /// Drops every entry of one image (it was unloaded).
    pub(crate) fn forget_image(&self, image: u64) {
        let mut s = self.lock();
        let before = s.parts.len();
        let mut freed = 0;
        s.parts.retain(|(i, _), (bytes, _)| {
            let keep = *i != image;
            if !keep {
                freed += bytes.len() as u64;
            }
            keep
        });
        if s.parts.len() != before {
            s.used -= freed;
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // every update leaves the map and the byte count consistent
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for DataCache {
    /// 64 MiB: 64 of libjte's 1 MiB parts.
    fn default() -> Self {
        DataCache::new(64 << 20)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_to_its_budget_dropping_the_least_recently_used() {
        let c = DataCache::new(10);
        let a = c.register();
        let b = c.register();
        assert_ne!(a, b);
        c.insert(a, 0, Arc::from(vec![1u8; 4]));
        c.insert(a, 1, Arc::from(vec![2u8; 4]));
        assert!(c.get(a, 0).is_some());
        c.insert(b, 0, Arc::from(vec![3u8; 4]));
        assert_eq!(c.used(), 8);
        assert!(c.get(a, 1).is_none(), "least recently used goes first");
        assert_eq!(c.get(a, 0).unwrap()[0], 1);
        assert_eq!(c.get(b, 0).unwrap()[0], 3);
        c.insert(a, 2, Arc::from(vec![0u8; 11]));
        assert!(c.get(a, 2).is_none(), "larger than the budget: not kept");
        c.forget_image(a);
        assert_eq!(c.used(), 4);
        assert!(c.get(a, 0).is_none());
    }
}
