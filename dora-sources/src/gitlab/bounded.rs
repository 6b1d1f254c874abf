//! Futures run at once, at most so many at a time, on the current task (the
//! source's runtime has one thread: while one project waits for an answer,
//! the others send theirs). Their outputs come back in the order the
//! futures were given, whatever order they finish in, so the events of a
//! run do not depend on the order the server answered in.

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

/// Runs `futures`, at most `limit` (at least 1) at once, and returns their
/// outputs in the order given; the first error stops the others (they are
/// dropped, so no request of theirs is sent after it) and is returned.
pub async fn run<T, E, F>(futures: Vec<F>, limit: usize) -> Result<Vec<T>, E>
where
    F: Future<Output = Result<T, E>>,
{
    let limit = limit.max(1);
    let total = futures.len();
    let mut waiting = futures.into_iter().enumerate();
    let mut running: Vec<(usize, Pin<Box<F>>)> = Vec::with_capacity(limit.min(total));
    let mut done: Vec<Option<T>> = (0..total).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        loop {
            while running.len() < limit {
                match waiting.next() {
                    Some((i, f)) => running.push((i, Box::pin(f))),
                    None => break,
                }
            }
            if running.is_empty() {
                return Poll::Ready(Ok(()));
            }
            let mut finished = false;
            let mut i = 0;
            while i < running.len() {
                match running[i].1.as_mut().poll(cx) {
                    Poll::Ready(Ok(out)) => {
                        let (index, _) = running.swap_remove(i);
                        done[index] = Some(out);
                        finished = true;
                    }
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => i += 1,
                }
            }
            // Room was made: start the next ones (and poll them once).
            if !finished {
                return Poll::Pending;
            }
        }
    })
    .await?;
    Ok(done.into_iter().flatten().collect())
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::time::Duration;

    use super::*;

    #[test]
    fn at_most_limit_at_once_outputs_in_order() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let now = Cell::new(0usize);
        let most = Cell::new(0usize);
        let task = |i: u64| {
            let (now, most) = (&now, &most);
            async move {
                now.set(now.get() + 1);
                most.set(most.get().max(now.get()));
                // The later ones finish first.
                tokio::time::sleep(Duration::from_millis(40 - i * 3)).await;
                now.set(now.get() - 1);
                Ok::<u64, String>(i)
            }
        };
        let started = std::time::Instant::now();
        let out = rt.block_on(run((0..10).map(task).collect(), 4)).unwrap();
        assert_eq!(out, (0..10).collect::<Vec<_>>());
        assert_eq!(most.get(), 4);
        assert!(started.elapsed() < Duration::from_millis(40 * 10), "not one after the other");
        let failing = rt.block_on(run(
            vec![
                Box::pin(async { Ok::<u32, &str>(1) }) as Pin<Box<dyn Future<Output = Result<u32, &str>>>>,
                Box::pin(async { Err("no") }),
            ],
            2,
        ));
        assert_eq!(failing, Err("no"));
        assert_eq!(rt.block_on(run(Vec::<std::future::Ready<Result<u8, ()>>>::new(), 8)), Ok(vec![]));
    }
}
