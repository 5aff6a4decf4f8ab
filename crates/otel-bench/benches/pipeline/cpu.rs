//! CPU clocks per thread and pinning to a core.

pub(crate) fn clock_ns(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec to write to.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime({clock})");
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// The CPU clock of the calling thread, readable from any thread while this
/// one lives.
pub(crate) fn this_thread_cpu_clock() -> libc::clockid_t {
    let mut id: libc::clockid_t = 0;
    // SAFETY: pthread_self() is the calling thread; `id` is writable.
    let rc = unsafe { libc::pthread_getcpuclockid(libc::pthread_self(), &mut id) };
    assert_eq!(rc, 0, "pthread_getcpuclockid");
    id
}

/// Pins the calling thread (and the threads it starts from now on) to one
/// core. False when the machine has no such core.
pub(crate) fn pin_to(core: usize) -> bool {
    // SAFETY: a zeroed cpu_set_t is an empty set; the set outlives the call.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(core, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0
    }
}

/// How the receiver's thread is scheduled against the server's on core 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Priority {
    /// The default class at the default nice value.
    Normal,
    /// The default class at nice 10: the server, at nice 0, weighs about
    /// nine times as much and preempts it on wake-up.
    Low,
    /// `SCHED_IDLE`: runs only when core 1 has nothing else to run.
    Idle,
}

impl Priority {
    pub(crate) fn parse(s: &str) -> Priority {
        match s {
            "normal" => Priority::Normal,
            "low" => Priority::Low,
            "idle" => Priority::Idle,
            other => panic!("unknown receiver priority {other} (normal, low, idle)"),
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Priority::Normal => "normal",
            Priority::Low => "low (nice 10)",
            Priority::Idle => "idle (SCHED_IDLE)",
        }
    }

    /// Applies this priority to the calling thread; false when refused.
    pub(crate) fn apply(self) -> bool {
        match self {
            Priority::Normal => true,
            // SAFETY: plain syscalls on the calling thread (tid = gettid()).
            Priority::Low => unsafe {
                let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
                libc::setpriority(libc::PRIO_PROCESS, tid, 10) == 0
            },
            // SAFETY: 0 is the calling thread; `param` outlives the call.
            Priority::Idle => unsafe {
                let param = libc::sched_param { sched_priority: 0 };
                libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) == 0
            },
        }
    }
}
