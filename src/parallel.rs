//! Independent jobs run on every core, results in job order (so output never depends
//! on scheduling); and a helper thread started ahead of the work it will share.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

/// How many threads can run at once (1 when that cannot be told).
pub fn cores() -> usize {
    thread::available_parallelism().map_or(1, |n| n.get())
}

/// `jobs.map(f).collect()`, the jobs spread over as many threads as there are cores
/// (at most one per job); each thread takes the next job when it is done with one.
pub fn map<T: Send, R: Send>(
    jobs: impl IntoIterator<Item = T>,
    f: impl Fn(T) -> R + Sync,
) -> Vec<R> {
    let jobs: Vec<Mutex<Option<T>>> = jobs.into_iter().map(|j| Mutex::new(Some(j))).collect();
    let results: Vec<Mutex<Option<R>>> = jobs.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let work = || {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(job) = jobs.get(i) else { break };
            let job = lock(job).take().expect("each job is taken once");
            *lock(&results[i]) = Some(f(job));
        }
    };
    let threads = cores().min(jobs.len());
    thread::scope(|scope| {
        for _ in 1..threads {
            scope.spawn(work);
        }
        work();
    });
    results
        .into_iter()
        .map(|r| r.into_inner().ok().flatten().expect("every job ran"))
        .collect()
}

/// A lock whose holder panicked is still usable here: a panic propagates out of
/// `thread::scope` anyway.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A value handed to the thread [`with_helper`] started before the value existed, and
/// what that thread made of it.
pub struct Handoff<T, H> {
    value: OnceLock<Option<T>>,
    helper: Mutex<Option<thread::JoinHandle<()>>>,
    /// What the helper made of the value, handed back before its thread ends (`done`).
    made: Mutex<Option<H>>,
    done: AtomicBool,
    /// How long either thread waits for the other awake.
    at_most: Duration,
}

impl<T, H> Handoff<T, H> {
    /// Hands `value` to the helper, which starts on it at once.
    pub fn publish(&self, value: T) -> &T {
        let _ = self.value.set(Some(value));
        (self.value.get().and_then(Option::as_ref)).expect("published once, before the end")
    }

    /// What the helper made of the published value, once it is done with it; `None`
    /// without a helper (one core). A panic of the helper's is resumed here. This thread
    /// waits for it awake (`at_most`), as the helper waited for the value: asleep, its
    /// core halts, and the hypervisor takes a tenth of a millisecond to wake it. Nor
    /// does it wait for the helper's thread to end (its heap handed back to the
    /// allocator, another tenth): [`with_helper`] joins it as it returns.
    pub fn result(&self) -> Option<H> {
        let start = Instant::now();
        while !self.done.load(Ordering::Acquire) {
            let ended = lock(&self.helper)
                .as_ref()
                .is_none_or(thread::JoinHandle::is_finished);
            if ended || start.elapsed() >= self.at_most {
                // No helper; or one that ended without a result (it panicked); or one
                // still at work, awaited asleep.
                let helper = lock(&self.helper).take()?;
                if let Err(panic) = helper.join() {
                    std::panic::resume_unwind(panic);
                }
                break;
            }
            thread::yield_now();
        }
        lock(&self.made).take()
    }
}

/// Runs `body` on this thread while a second one does `ahead`, then waits for the value
/// `body` publishes ([`Handoff::publish`]) and makes `task` of it, side by side with
/// `body`. On a virtual machine an idle virtual CPU is halted, and waking it for a new
/// thread takes the hypervisor about a millisecond, often two; and the scheduler, which
/// places a new thread before that core is awake, may leave it queued behind this one
/// for as long again: together half of `build production`'s rendering, when its
/// workers were started once the descriptors were read. The helper started first wakes
/// its core while this thread reads them, does `ahead` (until told to stop: the value
/// is there), and waits for the value awake, yielding the core at every turn, for
/// `at_most`; then asleep ([`Handoff::result`] waits for the helper's result so too). It
/// spends the time it waits awake on a core that would idle. On one core, or when the
/// caller knows no value will come (`wanted` false), `body` runs alone and `result` is
/// `None`.
pub fn with_helper<T: Send + Sync, H: Send, R>(
    wanted: bool,
    at_most: Duration,
    ahead: impl FnOnce(&dyn Fn() -> bool) + Send,
    task: impl FnOnce(&T) -> H + Send,
    body: impl FnOnce(&Handoff<T, H>) -> R,
) -> R {
    let handoff = Handoff {
        value: OnceLock::new(),
        helper: Mutex::new(None),
        made: Mutex::new(None),
        done: AtomicBool::new(false),
        at_most,
    };
    // The CPUs this thread may run on tell whether a second one can help: one system
    // call, where `cores` also reads the cgroup's CPU quota (a dozen calls, 50 us, before
    // the helper can start).
    let cpus = placement::Cpus::allowed();
    if !wanted || cpus.as_ref().map_or_else(cores, placement::Cpus::count) < 2 {
        return body(&handoff);
    }
    /// When `body` returns or panics: tells the helper that no value will come (if none
    /// did), then joins it (it borrows from this frame).
    struct End<'a, T, H>(&'a Handoff<T, H>);
    impl<T, H> Drop for End<'_, T, H> {
        fn drop(&mut self) {
            let _ = self.0.value.set(None);
            let joined = lock(&self.0.helper).take().map(thread::JoinHandle::join);
            if let Some(Err(panic)) = joined
                && !thread::panicking()
            {
                std::panic::resume_unwind(panic);
            }
        }
    }
    let start = Instant::now();
    let awake = || handoff.value.get().is_none() && start.elapsed() < at_most;
    let helper = || {
        if let Some(cpus) = &cpus {
            cpus.restore();
        }
        ahead(&|| !awake());
        while awake() {
            thread::yield_now();
        }
        if let Some(value) = handoff.value.wait() {
            *lock(&handoff.made) = Some(task(value));
            handoff.done.store(true, Ordering::Release);
        }
    };
    // SAFETY: the thread borrows from this frame, which it cannot outlive: `_end` joins
    // it before the frame ends, whether `body` returns or panics.
    let spawned = unsafe { thread::Builder::new().spawn_unchecked(helper) };
    if let Ok(helper) = spawned {
        if let Some(cpus) = &cpus {
            cpus.elsewhere(&helper);
        }
        *lock(&handoff.helper) = Some(helper);
    }
    let _end = End(&handoff);
    body(&handoff)
}

/// Where the helper of [`with_helper`] runs (Linux; elsewhere the scheduler decides).
#[cfg(target_os = "linux")]
mod placement {
    use std::mem::size_of;
    use std::os::unix::thread::JoinHandleExt;
    use std::thread::JoinHandle;

    /// A set of CPUs.
    pub struct Cpus(libc::cpu_set_t);

    impl Cpus {
        /// The CPUs this thread may run on.
        pub fn allowed() -> Option<Cpus> {
            // SAFETY: `cpu_set_t` is plain bits; the call writes at most its size.
            let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
            let got = unsafe { libc::sched_getaffinity(0, size_of::<libc::cpu_set_t>(), &mut set) };
            (got == 0).then_some(Cpus(set))
        }

        /// Places `thread`, not started yet, on another of these CPUs than this thread's.
        /// Left to itself, the scheduler may queue a thread that a process starts as it
        /// begins behind its first thread, on the same CPU, while the other sleeps: the
        /// helper then starts milliseconds late, when the work it was started ahead of is
        /// done. The helper lifts the restriction as it starts ([`Cpus::restore`]) (if it
        /// started first, it keeps it: it lives a few milliseconds).
        pub fn elsewhere<T>(&self, thread: &JoinHandle<T>) {
            // SAFETY: reads the CPU this thread runs on.
            let Ok(here) = usize::try_from(unsafe { libc::sched_getcpu() }) else {
                return;
            };
            let mut others = self.0;
            // SAFETY: `CPU_CLR` ignores a CPU beyond the set's size.
            unsafe { libc::CPU_CLR(here, &mut others) };
            // SAFETY: counts the bits of a valid set.
            if unsafe { libc::CPU_COUNT(&others) } > 0 {
                // SAFETY: `thread` is not joined yet: its handle names a live thread.
                unsafe {
                    libc::pthread_setaffinity_np(
                        thread.as_pthread_t(),
                        size_of::<libc::cpu_set_t>(),
                        &others,
                    );
                }
            }
        }

        /// How many CPUs there are.
        pub fn count(&self) -> usize {
            // SAFETY: counts the bits of a valid set.
            usize::try_from(unsafe { libc::CPU_COUNT(&self.0) }).unwrap_or(1)
        }

        /// Lets this thread run on every one of these CPUs again.
        pub fn restore(&self) {
            // SAFETY: sets this thread's CPUs from a valid set.
            unsafe { libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &self.0) };
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod placement {
    pub struct Cpus;

    impl Cpus {
        pub fn allowed() -> Option<Cpus> {
            None
        }
        pub fn count(&self) -> usize {
            1
        }
        pub fn elsewhere<T>(&self, _: &std::thread::JoinHandle<T>) {}
        pub fn restore(&self) {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_job_order() {
        let squares = map(0..1000u64, |i| {
            if i % 7 == 0 {
                thread::yield_now();
            }
            i * i
        });
        assert_eq!(squares, (0..1000u64).map(|i| i * i).collect::<Vec<_>>());
        assert!(map(Vec::<u8>::new(), |x| x).is_empty());
    }

    /// The helper makes its task of the published value beside `body`; a body that
    /// publishes nothing, or panics, ends without waiting for `at_most`.
    #[test]
    fn the_helper_works_on_what_is_published_and_never_hangs() {
        let ahead = std::sync::atomic::AtomicBool::new(false);
        let made = with_helper(
            true,
            Duration::from_secs(60),
            |_| ahead.store(true, Ordering::Relaxed),
            |value: &Vec<u64>| value.iter().sum::<u64>(),
            |handoff| {
                let value = handoff.publish((1..=10).collect());
                (value.len(), handoff.result())
            },
        );
        let cores = cores();
        if cores > 1 {
            assert_eq!(made, (10, Some(55)));
            assert!(ahead.load(Ordering::Relaxed));
        } else {
            assert_eq!(made, (10, None));
        }
        let started = Instant::now();
        for wanted in [true, false] {
            let nothing = with_helper(wanted, Duration::from_secs(60), |_| (), |v: &u8| *v, |_| 7);
            assert_eq!(nothing, 7);
        }
        let panicked = std::panic::catch_unwind(|| {
            with_helper(
                true,
                Duration::from_secs(60),
                |_| (),
                |v: &u8| *v,
                |_| -> u8 { panic!("the body fails") },
            )
        });
        assert!(panicked.is_err());
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "a helper was waited for"
        );
    }

    /// A panic of the helper's task is the caller's, not a missing result (on one core
    /// there is no helper: no result, and no panic).
    #[test]
    fn a_panicking_helper_panics_the_caller() {
        let run = || {
            with_helper(
                true,
                Duration::from_secs(60),
                |_| (),
                |_: &u8| -> u8 { panic!("the helper fails") },
                |handoff| {
                    handoff.publish(1);
                    handoff.result()
                },
            )
        };
        if cores() < 2 {
            assert_eq!(run(), None);
        } else {
            assert!(std::panic::catch_unwind(run).is_err());
        }
    }
}
