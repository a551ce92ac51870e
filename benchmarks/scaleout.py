"""Scale-out: a CPU-heavy export over many items on two Dask worker processes (asterai_kernel.map), against
the same export called in this process, the equivalent pure-Python function through Dask's client.map, and
two plain processes sharing the items without Dask (what two processes can do on this machine right now).

    python benchmarks/scaleout.py            # 10,000 items (the pure-Python row takes about a minute)
    python benchmarks/scaleout.py --quick    # 2,000 items

Items per second and ratios, every row from the same run; the machine's load (uptime) is printed before and
after, since two worker processes on a two-core machine only reach 2x when nothing else runs. Nothing here
asserts: a missed target shows NO.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import statistics
import subprocess
import time

from _timing import cell

# Counting the primes below n by trial division: the same loop in Rust and in Python.
RUST_CELL = """\
pub fn count_primes(below: u32) -> u32 {
    let mut count = 0;
    for n in 2..below {
        let mut d = 2;
        let mut prime = true;
        while d * d <= n {
            if n % d == 0 { prime = false; break; }
            d += 1;
        }
        if prime { count += 1; }
    }
    count
}
"""


def count_primes(below: int) -> int:
    count = 0
    for n in range(2, below):
        d, prime = 2, True
        while d * d <= n:
            if n % d == 0:
                prime = False
                break
            d += 1
        if prime:
            count += 1
    return count


WORKERS = 2
TARGET_SPEEDUP = 1.6  # cluster over in-process, on two cores
TARGET_IDLE = 0.10  # Dask's per-task cost and transfers: the workers' time not spent in calls


def items(n: int) -> list[int]:
    """n prime-counting jobs of 8,000 to 12,000 numbers each (about 0.3 ms of guest code)."""
    return [8_000 + (i * 37) % 4_000 for i in range(n)]


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def timed(fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def _shell():
    from IPython.testing.globalipapp import start_ipython

    ip = start_ipython()
    ip.run_line_magic("load_ext", "asterai_kernel")
    return ip


def _plain_share(work: list[int], ready, results) -> None:
    """One of the plain processes: the cell (from the cache), then its share of the items in a loop."""
    ip = _shell()
    cell(ip, "rust bench_primes", RUST_CELL)
    fn = ip.user_ns["count_primes"]
    ready.wait()
    t0 = time.perf_counter()
    for x in work:
        fn(x)
    results.put(time.perf_counter() - t0)


def plain_processes(work: list[int], k: int) -> float:
    """Seconds for k processes started together to share `work` with no Dask (the slowest one's time)."""
    spawn = multiprocessing.get_context("spawn")
    ready, results = spawn.Barrier(k), spawn.Queue()
    procs = [spawn.Process(target=_plain_share, args=(work[i::k], ready, results)) for i in range(k)]
    for p in procs:
        p.start()
    times = [results.get() for _ in procs]
    for p in procs:
        p.join()
    return max(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2,000 items instead of 10,000")
    parser.add_argument("--reps", type=int, default=3, help="runs of the in-process and cluster rows")
    args = parser.parse_args()
    n = 2_000 if args.quick else 10_000
    print(f"load before: {uptime()}  ({os.cpu_count()} cores)")

    from distributed import Client, LocalCluster

    import asterai_kernel
    from asterai_kernel import scaleout

    ip = _shell()
    cell(ip, "rust bench_primes", RUST_CELL)
    fn = ip.user_ns["count_primes"]
    work = items(n)
    expected = [count_primes(x) for x in work[:20]]
    with (
        LocalCluster(
            n_workers=WORKERS,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.CRITICAL,
        ) as lc,  # fmt: skip
        Client(lc, set_as_default=False) as client,
    ):
        cold, first = timed(lambda: asterai_kernel.map(fn, work[:20], client=client))
        assert first == expected, "the cluster's results differ from Python's"

        local_times, plain_times, cluster_times, stats = [], [], [], []
        for _ in range(args.reps):  # interleaved, so a change of load hits every row
            seconds, here = timed(lambda: [fn(x) for x in work])
            local_times.append(seconds)
            plain_times.append(plain_processes(work, WORKERS))
            seconds, there = timed(lambda: asterai_kernel.map(fn, work, client=client))
            cluster_times.append(seconds)
            stats.append(scaleout.last_stats)
            assert here == there
        unbatched_n = min(n, 1_000)
        unbatched, _ = timed(lambda: asterai_kernel.map(fn, work[:unbatched_n], client=client, batch_size=1))
        python_s, py = timed(lambda: client.gather(client.map(count_primes, work, pure=False)))
        assert py == there, "pure Python and the component disagree"

    local = statistics.median_low(local_times)
    plain = statistics.median_low(plain_times)
    clustered = statistics.median_low(cluster_times)
    best = stats[cluster_times.index(clustered)]
    rows = [
        ("in this process, the bound export in a loop", n / local, None),
        (f"{WORKERS} plain processes sharing the items, no Dask", n / plain, None),
        (f"asterai_kernel.map on {WORKERS} workers ({best.batches} batches)", n / clustered, TARGET_SPEEDUP),
        (f"asterai_kernel.map, batch_size=1 (first {unbatched_n:,} items)", unbatched_n / unbatched, None),
        (f"pure Python via client.map on {WORKERS} workers", n / python_s, None),
    ]
    print(f"\n{n:,} items: count_primes(8,000..12,000); medians of {args.reps} runs (pure Python: one run)\n")
    print(f"| {'line':58} | {'items/s':>10} | {'vs in-process':>13} | target |")
    print(f"|{'-' * 60}|{'-' * 12}|{'-' * 15}|--------|")
    for label, rate, target in rows:
        ratio = rate * local / n
        met = "" if target is None else f">= {target}: {'yes' if ratio >= target else 'NO'}"
        print(f"| {label:58} | {rate:10,.0f} | {ratio:12.2f}x | {met} |")
    idle = best.idle
    print(f"\nworkers' time not in calls (Dask's per-task cost, transfers, the last batch): {idle:.1%} "
          f"(target < {TARGET_IDLE:.0%}: {'yes' if idle < TARGET_IDLE else 'NO'})")  # fmt: skip
    print(f"asterai_kernel.map reaches {plain / clustered:.0%} of what {WORKERS} plain processes did")
    print(f"a call on a worker took {best.busy / local:.2f}x its time in this process (1.00x on free cores)")
    print(f"component vs pure Python, both on the cluster: {python_s / clustered:.1f}x")
    print(f"first map (ships the component, workers load it): {cold * 1e3:.0f} ms for 20 items")
    print(f"load after: {uptime()}")


if __name__ == "__main__":
    main()
