//! Load and measurement: the request loop, snapshots of the counters and one
//! variant's run.

use super::*;

#[derive(Clone, Copy)]
pub(crate) enum Plan {
    For(Duration),
    Count(u64),
}

/// `concurrency` tasks sending GETs on one client until the plan is done;
/// the number of requests made, and how many of their parent spans were
/// sampled (by `sampled`, when given; else all of them).
pub(crate) async fn load(
    client: Arc<BenchClient>,
    url: Arc<str>,
    concurrency: usize,
    plan: Plan,
    sampled: Option<fn(&tracing::Span) -> bool>,
) -> (u64, u64) {
    let deadline = match plan {
        Plan::For(d) => Some(Instant::now() + d),
        Plan::Count(_) => None,
    };
    let left = Arc::new(AtomicU64::new(match plan {
        Plan::Count(n) => n,
        Plan::For(_) => u64::MAX,
    }));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let client = client.clone();
        let url = url.clone();
        let left = left.clone();
        tasks.spawn(async move {
            let (mut done, mut kept) = (0u64, 0u64);
            loop {
                if deadline.is_some_and(|d| Instant::now() >= d)
                    || left
                        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                        .is_err()
                {
                    return (done, kept);
                }
                let parent = tracing::info_span!("parent");
                if sampled.is_none_or(|f| f(&parent)) {
                    kept += 1;
                }
                let n = client.get(&url).instrument(parent).await;
                assert_eq!(n, BODY.len(), "wrong body length");
                done += 1;
            }
        });
    }
    let (mut total, mut kept) = (0, 0);
    while let Some(done) = tasks.join_next().await {
        let (d, k) = done.unwrap();
        total += d;
        kept += k;
    }
    (total, kept)
}

/// Counters read at both ends of a measured window.
#[derive(Clone, Copy)]
pub(crate) struct Snapshot {
    pub(crate) at: Instant,
    pub(crate) process_cpu: u64,
    pub(crate) server_cpu: u64,
    pub(crate) receiver_cpu: u64,
    pub(crate) spans: u64,
    pub(crate) allocs: u64,
    pub(crate) path_allocs: u64,
    pub(crate) reallocs: u64,
    pub(crate) events: u64,
    pub(crate) attributes: u64,
    pub(crate) bytes: u64,
}

#[derive(Clone, Copy)]
pub(crate) struct Env {
    pub(crate) url_port: u16,
    pub(crate) server_clock: libc::clockid_t,
    pub(crate) receiver_clock: libc::clockid_t,
}

impl Env {
    pub(crate) fn snapshot(&self, received: &Received) -> Snapshot {
        Snapshot {
            at: Instant::now(),
            process_cpu: clock_ns(libc::CLOCK_PROCESS_CPUTIME_ID),
            server_cpu: clock_ns(self.server_clock),
            receiver_cpu: clock_ns(self.receiver_clock),
            spans: received.spans.load(Ordering::SeqCst),
            allocs: count(&ALLOCS, ROLE_CLIENT) + count(&ALLOCS, ROLE_REQUESTS),
            path_allocs: count(&ALLOCS, ROLE_REQUESTS),
            reallocs: count(&REALLOCS, ROLE_CLIENT) + count(&REALLOCS, ROLE_REQUESTS),
            events: received.events.load(Ordering::SeqCst),
            attributes: received.attributes.load(Ordering::SeqCst),
            bytes: received.bytes.load(Ordering::SeqCst),
        }
    }
}

/// One variant at one concurrency in one round.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Run {
    pub(crate) requests: u64,
    /// Requests whose parent span was sampled (all, without a sampler).
    pub(crate) sampled: u64,
    /// Seconds from the window's start to the last response.
    pub(crate) load_secs: f64,
    /// Seconds the final flush took (exporting what was still queued).
    pub(crate) flush_secs: f64,
    pub(crate) client_cpu_ns: u64,
    pub(crate) receiver_cpu_ns: u64,
    pub(crate) spans: u64,
    pub(crate) allocs: u64,
    pub(crate) path_allocs: u64,
    pub(crate) reallocs: u64,
    pub(crate) events: u64,
    pub(crate) attributes: u64,
    pub(crate) bytes: u64,
}

impl Run {
    pub(crate) fn rate(&self) -> f64 {
        self.requests as f64 / self.load_secs
    }
    /// Requests per second counting the time to export their spans too.
    pub(crate) fn sustained_rate(&self) -> f64 {
        self.requests as f64 / (self.load_secs + self.flush_secs)
    }
    pub(crate) fn per_req(&self, x: u64) -> f64 {
        x as f64 / self.requests as f64
    }
    pub(crate) fn dropped(&self, variant: Variant) -> i64 {
        (variant.expected_spans() * self.sampled) as i64 - self.spans as i64
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn run_variant(
    variant: Variant,
    protocol: Protocol,
    concurrency: usize,
    plan: Plan,
    tuning: Tuning,
    env: Env,
    endpoint: Arc<str>,
    received: Arc<Received>,
) -> Run {
    std::thread::Builder::new()
        .name(format!("bench-client-{}", variant.name()))
        .spawn(move || {
            ROLE.with(|r| r.set(ROLE_REQUESTS));
            pin_to(0);
            let url: Arc<str> = format!("http://127.0.0.1:{}/", env.url_port).into();
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            // Built on this (pinned) thread: the pipeline's threads inherit
            // the pinning.
            let pipeline = Pipeline::new(variant, protocol, &endpoint, tuning);
            let _dispatch = pipeline.dispatch().map(tracing::dispatcher::set_default);
            let client = Arc::new(pipeline.client(variant));
            // Warm-up: connections open, first-use initialisation done, then
            // everything it exported is out of the way.
            let probe = pipeline.sampled_probe().filter(|_| tuning.sampled);
            rt.block_on(load(
                client.clone(),
                url.clone(),
                concurrency,
                Plan::Count(4 * concurrency as u64),
                probe,
            ));
            pipeline.flush();
            let start = env.snapshot(&received);
            let (requests, sampled) =
                rt.block_on(load(client.clone(), url, concurrency, plan, probe));
            let loaded = Instant::now();
            drop(client);
            pipeline.flush();
            let end = env.snapshot(&received);
            drop(_dispatch);
            pipeline.shutdown();
            drop(rt);
            let server = end.server_cpu - start.server_cpu;
            let receiver = end.receiver_cpu - start.receiver_cpu;
            let process = end.process_cpu - start.process_cpu;
            Run {
                requests,
                sampled,
                load_secs: loaded.duration_since(start.at).as_secs_f64(),
                flush_secs: end.at.duration_since(loaded).as_secs_f64(),
                client_cpu_ns: process.saturating_sub(server + receiver),
                receiver_cpu_ns: receiver,
                spans: end.spans - start.spans,
                allocs: end.allocs - start.allocs,
                path_allocs: end.path_allocs - start.path_allocs,
                reallocs: end.reallocs - start.reallocs,
                events: end.events - start.events,
                attributes: end.attributes - start.attributes,
                bytes: end.bytes - start.bytes,
            }
        })
        .unwrap()
        .join()
        .expect("client thread panicked")
}
