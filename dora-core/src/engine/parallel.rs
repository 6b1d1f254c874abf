//! The engine's threads. Every place the engine does two things at once
//! goes through [`join`]: one runs on a second core while the calling
//! thread runs the other. The serial path (one after the other, on the
//! calling thread) is one switch away ([`serially`]), and the tests hold
//! the parallel results to it.
//!
//! (The reader's threads are the JSON Lines pipeline's own, in
//! `read::jsonl`; polars runs its plans on its own pool.)

use std::cell::Cell;

thread_local! {
    /// Whether [`join`] runs its two closures one after the other here.
    static SERIAL: Cell<bool> = const { Cell::new(false) };
}

/// Runs `a` on a second thread and `b` on this one, and returns both
/// results (a panic in `a` goes on in the caller). On the serial path, `a`
/// then `b`, both here.
pub(crate) fn join<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    RA: Send,
    B: FnOnce() -> RB,
{
    if SERIAL.get() {
        let ra = a();
        return (ra, b());
    }
    std::thread::scope(|scope| {
        let a = scope.spawn(a);
        let rb = b();
        (a.join().unwrap_or_else(|p| std::panic::resume_unwind(p)), rb)
    })
}

/// Runs `f` with every [`join`] it makes on the serial path (the tests'
/// oracle for the parallel one).
#[cfg(test)]
pub(crate) fn serially<T>(f: impl FnOnce() -> T) -> T {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            SERIAL.set(self.0);
        }
    }
    let _reset = Reset(SERIAL.replace(true));
    f()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_runs_both_and_the_serial_path_stays_on_this_thread() {
        let here = std::thread::current().id();
        let (a, b) = join(|| std::thread::current().id(), || 2);
        assert_ne!(a, here);
        assert_eq!(b, 2);
        let (a, b) = serially(|| join(|| std::thread::current().id(), || std::thread::current().id()));
        assert_eq!((a, b), (here, here));
        // The switch is off again afterwards.
        assert_ne!(join(|| std::thread::current().id(), || ()).0, here);
    }

    /// The parallel engine gives what the serial one gives, to the byte,
    /// on the demo data, by every group kind and period.
    #[test]
    fn the_parallel_engine_agrees_with_the_serial_path() {
        use crate::engine::options::{GroupKind, Options, Period, Window};
        use crate::{EventSet, ReadOptions, compute, read_jsonl_path};

        let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/demo/events.jsonl");
        let mut set = EventSet::new();
        read_jsonl_path(&demo, &mut set, &ReadOptions::default()).unwrap();
        let window =
            Window::new("2026-08-31T00:00:00Z".parse().unwrap(), "2026-11-23T00:00:00Z".parse().unwrap())
                .unwrap();
        for period in [Period::Week, Period::Day] {
            let mut opts = Options::new(window);
            opts.period = period;
            opts.group_by = vec![GroupKind::All, GroupKind::Service, GroupKind::Team];
            let json = |c: &crate::Computation| serde_json::to_string(&c.report).unwrap();
            let parallel = compute(&set, &opts).unwrap();
            let serial = serially(|| compute(&set, &opts).unwrap());
            assert!(parallel.report.groups.len() > 10);
            assert_eq!(json(&parallel), json(&serial), "{period:?}");
        }
    }
}
