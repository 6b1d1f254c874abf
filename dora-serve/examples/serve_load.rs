//! A load generator for `dora serve`: the benchmarks of `docs/BENCHMARKS.md`
//! ("dora serve"). It drives a server that is already running.
//!
//! ```text
//! serve_load rate   URL [--rate 1000] [--seconds 60] [--token-env NAME]
//! serve_load bulk   URL [--lines 100000] [--repeat 5] [--token-env NAME]
//! serve_load scrape URL [--count 200]
//! ```
//!
//! - `rate`: single-event `POST /events` at a fixed rate, open loop: request
//!   `i` is due at `start + i / rate` and its latency counts from that due
//!   time, so a slow server cannot hide its queueing by slowing the client
//!   (no coordinated omission). Prints the achieved rate and the latency
//!   quantiles.
//! - `bulk`: one `POST /events` of `--lines` new events (deployments and
//!   their changes), `--repeat` times; prints events stored per second, from
//!   sending the request to the `200`.
//! - `scrape`: `GET /metrics` `--count` times in a row after one warm-up
//!   scrape; prints the latency quantiles (the store must not change
//!   meanwhile for the cached answer to be measured).
//!
//! The token, when the server asks for one, is read from the environment
//! variable named by `--token-env` (default `DORA_INGEST_TOKEN`).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The command line, parsed by hand (an example needs no clap).
struct Args {
    mode: String,
    url: String,
    rate: u64,
    seconds: u64,
    lines: usize,
    repeat: usize,
    count: usize,
    token: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut raw = std::env::args().skip(1);
    let mode = raw.next().ok_or("usage: serve_load rate|bulk|scrape URL [options]")?;
    let url = raw.next().ok_or("the server's URL is missing (like http://127.0.0.1:8080)")?;
    let mut args = Args {
        mode,
        url: url.trim_end_matches('/').to_string(),
        rate: 1000,
        seconds: 60,
        lines: 100_000,
        repeat: 5,
        count: 200,
        token: None,
    };
    let mut token_env = "DORA_INGEST_TOKEN".to_string();
    while let Some(flag) = raw.next() {
        let value = raw.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = || value.parse::<u64>().map_err(|_| format!("{flag}: {value:?} is not a number"));
        match flag.as_str() {
            "--rate" => args.rate = number()?.max(1),
            "--seconds" => args.seconds = number()?.max(1),
            "--lines" => args.lines = number()?.max(1) as usize,
            "--repeat" => args.repeat = number()?.max(1) as usize,
            "--count" => args.count = number()?.max(1) as usize,
            "--token-env" => token_env = value,
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    args.token = std::env::var(&token_env).ok().filter(|t| !t.is_empty());
    Ok(args)
}

fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("serve_load: {e}");
            std::process::exit(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let result = runtime.block_on(async {
        match args.mode.as_str() {
            "rate" => rate(&args).await,
            "bulk" => bulk(&args).await,
            "scrape" => scrape(&args).await,
            other => Err(format!("unknown mode {other:?}: rate, bulk or scrape")),
        }
    });
    if let Err(e) = result {
        eprintln!("serve_load: {e}");
        std::process::exit(1);
    }
}

/// A unique prefix for this run's event ids, so runs never replace each other.
fn run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("load-{nanos:x}")
}

fn now_text() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn deployment_line(id: &str, service: usize, at: &str) -> String {
    format!(
        r#"{{"kind":"deployment","id":"{id}","service":"svc-{service}","environment":"production","finished_at":"{at}","status":"success"}}"#
    )
}

/// A deployment that shipped the changes `changes`.
fn shipping_line(id: &str, service: usize, at: &str, changes: [&str; 2]) -> String {
    format!(
        r#"{{"kind":"deployment","id":"{id}","service":"svc-{service}","environment":"production","finished_at":"{at}","status":"success","changes":["{}","{}"]}}"#,
        changes[0], changes[1]
    )
}

fn change_line(id: &str, service: usize, at: &str) -> String {
    format!(r#"{{"kind":"change","id":"{id}","service":"svc-{service}","committed_at":"{at}"}}"#)
}

fn post(client: &reqwest::Client, args: &Args, body: String) -> reqwest::RequestBuilder {
    let mut request =
        client.post(format!("{}/events", args.url)).header("content-type", "application/x-ndjson").body(body);
    if let Some(token) = &args.token {
        request = request.bearer_auth(token);
    }
    request
}

/// The quantile `q` (0..=1) of sorted durations, in milliseconds.
fn quantile_ms(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1].as_secs_f64() * 1000.0
}

fn print_latencies(what: &str, mut latencies: Vec<Duration>) {
    latencies.sort_unstable();
    println!(
        "{what}: n={} p50={:.2} ms p90={:.2} ms p99={:.2} ms p99.9={:.2} ms max={:.2} ms",
        latencies.len(),
        quantile_ms(&latencies, 0.5),
        quantile_ms(&latencies, 0.9),
        quantile_ms(&latencies, 0.99),
        quantile_ms(&latencies, 0.999),
        latencies.last().map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0),
    );
}

async fn rate(args: &Args) -> Result<(), String> {
    let client = reqwest::Client::builder().pool_max_idle_per_host(512).build().map_err(|e| e.to_string())?;
    let total = args.rate * args.seconds;
    let interval = Duration::from_secs_f64(1.0 / args.rate as f64);
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(total as usize)));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let prefix = run_id();
    let start = tokio::time::Instant::now() + Duration::from_millis(100);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..total {
        let due = start + interval.mul_f64(i as f64);
        tokio::time::sleep_until(due).await;
        let request =
            post(&client, args, deployment_line(&format!("{prefix}-{i}"), (i % 50) as usize, &now_text()));
        let (latencies, failures) = (Arc::clone(&latencies), Arc::clone(&failures));
        tasks.spawn(async move {
            let outcome = request.send().await;
            let took = due.elapsed();
            match outcome {
                Ok(response) if response.status().is_success() => {
                    latencies.lock().expect("not poisoned").push(took);
                }
                Ok(response) => {
                    failures.lock().expect("not poisoned").push(format!("status {}", response.status()))
                }
                Err(e) => failures.lock().expect("not poisoned").push(e.to_string()),
            }
        });
        // Reap finished requests as we go so the set stays small.
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
    let elapsed = start.elapsed().as_secs_f64();
    let latencies = std::mem::take(&mut *latencies.lock().expect("not poisoned"));
    let failures = std::mem::take(&mut *failures.lock().expect("not poisoned"));
    println!(
        "rate: {total} requests due at {}/s over {} s; {} ok, {} failed; {:.0} answered/s",
        args.rate,
        args.seconds,
        latencies.len(),
        failures.len(),
        latencies.len() as f64 / elapsed
    );
    if let Some(first) = failures.first() {
        println!("first failure: {first}");
    }
    print_latencies("latency from due time", latencies);
    Ok(())
}

async fn bulk(args: &Args) -> Result<(), String> {
    let client =
        reqwest::Client::builder().timeout(Duration::from_secs(600)).build().map_err(|e| e.to_string())?;
    let mut rates = Vec::new();
    for round in 0..args.repeat {
        let prefix = format!("{}-{round}", run_id());
        let at = now_text();
        let mut body = String::with_capacity(args.lines * 180);
        // One deployment per three lines, each with two changes.
        for i in 0..args.lines {
            let group = i / 3;
            let service = group % 200;
            let change = |n: usize| format!("{prefix}-c{group}-{n}");
            let line = match i % 3 {
                0 => shipping_line(&format!("{prefix}-d{group}"), service, &at, [&change(1), &change(2)]),
                n => change_line(&change(n), service, &at),
            };
            body.push_str(&line);
            body.push('\n');
        }
        let bytes = body.len();
        let sent = Instant::now();
        let response = post(&client, args, body).send().await.map_err(|e| e.to_string())?;
        let status = response.status();
        let text = response.text().await.map_err(|e| e.to_string())?;
        let took = sent.elapsed().as_secs_f64();
        if !status.is_success() {
            return Err(format!("round {round}: status {status}: {text}"));
        }
        let per_second = args.lines as f64 / took;
        println!(
            "bulk round {round}: {} lines ({:.1} MB) stored in {:.3} s = {:.0} events/s; answer {}",
            args.lines,
            bytes as f64 / 1e6,
            took,
            per_second,
            text.trim()
        );
        rates.push(per_second);
    }
    rates.sort_by(f64::total_cmp);
    println!("bulk: median {:.0} events/s over {} rounds", rates[rates.len() / 2], rates.len());
    Ok(())
}

async fn scrape(args: &Args) -> Result<(), String> {
    let client = reqwest::Client::new();
    let url = format!("{}/metrics", args.url);
    let warm = Instant::now();
    let first = client.get(&url).send().await.map_err(|e| e.to_string())?;
    let status = first.status();
    let size = first.bytes().await.map_err(|e| e.to_string())?.len();
    if !status.is_success() {
        return Err(format!("GET /metrics: status {status}"));
    }
    println!("scrape: first (computing) {:.1} ms, {size} bytes", warm.elapsed().as_secs_f64() * 1000.0);
    let mut latencies = Vec::with_capacity(args.count);
    for _ in 0..args.count {
        let sent = Instant::now();
        let response = client.get(&url).send().await.map_err(|e| e.to_string())?;
        response.bytes().await.map_err(|e| e.to_string())?;
        latencies.push(sent.elapsed());
    }
    print_latencies("scrape (cached)", latencies);
    Ok(())
}
