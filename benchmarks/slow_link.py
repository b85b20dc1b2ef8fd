"""DINGO against dask-ml on a local Dask cluster behind an emulated slow link.

Every byte to or from a worker crosses a link emulator (a separate process of
this script, ``--serve-link``): asyncio TCP proxies that deliver each chunk
``rtt / 2`` after it was read, after its serialisation time at ``--mbit`` on
a queue shared by all connections of one worker and direction, in order; a
new connection waits one RTT before its first byte moves (TCP's handshake).
Worker i listens on a private port and advertises its proxy's port to
everyone (``--contact-address``), and reaches the scheduler through a
second proxy on the same link. The client sits beside the scheduler (a
cluster driven from its own network), so everything between the client side
and a worker, and between workers, pays the link.

Data are made on the workers (one row chunk each, or ``--chunks-per-worker``; never moved):
equicorrelated standard-normal features, labels from a logistic model. The
client makes the same rows to evaluate every solution exactly and to get
the optimum from scikit-learn.

Per link setting (fresh processes each time), each solver fits
``--repeats`` times after one warm-up fit; the report gives medians, and:

* **link round trips**, from the difference between settings of the same run:
  ``(wall(rtt) - wall(0)) / rtt``. For DINGO separately for the setup (the
  time outside its rounds: reading, encoding, building shards, releasing
  them) and per cycle (broadcast, compute, replies: ``(rounds + 1) // 2``
  cycles per fit, from the time its rounds took);
* speed-ups of DINGO over dask-ml's lbfgs and newton, each to the optimum
  it reaches (f - f* is shown);
* the modelled slow-network time of ``benchmarks/run.py`` (the fit on a fast
  link plus 50 ms per blocking client call plus the bytes at 50 Mbit/s),
  checked against the measured time on the 50 ms link.

Example::

    python benchmarks/slow_link.py --rtt-ms 0,10,50 --mbit inf,inf,50 --repeats 3
"""

import argparse
import asyncio
import json
import math
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

HOST = "127.0.0.1"
READ_BYTES = 256 * 1024
GOALS = {"trips_per_cycle": 1.2, "setup_trips": 3.0, "x_lbfgs": 12.0, "x_newton": 3.0}


# -- the link emulator (its own process) ----------------------------------------------
class Link:
    """One worker's link: per direction a queue at ``rate`` bytes/s, then ``delay`` seconds."""

    def __init__(self, delay, rate):
        self.delay, self.rate = delay, rate
        self.free_at = {"up": 0.0, "down": 0.0}
        self.bytes = 0

    def arrival(self, direction, nbytes, now):
        """When ``nbytes`` read now from one end reach the other."""
        self.bytes += nbytes
        t = now
        if self.rate:
            t = max(now, self.free_at[direction]) + nbytes / self.rate
            self.free_at[direction] = t
        return t + self.delay


async def _forward(reader, writer, link, direction):
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()

    async def deliver():
        try:
            while True:
                when, data = await queue.get()
                await asyncio.sleep(max(when - loop.time(), 0.0))
                if data is None:
                    break
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()

    delivering = asyncio.create_task(deliver())
    try:
        while data := await reader.read(READ_BYTES):
            queue.put_nowait((link.arrival(direction, len(data), loop.time()), data))
    except OSError:
        pass
    queue.put_nowait((link.arrival(direction, 0, loop.time()), None))
    await delivering


async def _serve_link(spec):
    delay = spec["rtt_ms"] / 2000.0
    rate = spec["mbit"] * 1e6 / 8 if math.isfinite(spec["mbit"]) else None
    links = []

    def handler(link, target, direction):
        async def handle(reader, writer):
            await asyncio.sleep(2 * delay)  # the handshake before the first byte
            try:
                far_reader, far_writer = await asyncio.open_connection(HOST, target)
            except OSError:
                writer.close()
                return
            back = "up" if direction == "down" else "down"
            await asyncio.gather(
                _forward(reader, far_writer, link, direction), _forward(far_reader, writer, link, back)
            )

        return handle

    for routes in spec["links"]:
        link = Link(delay, rate)
        links.append(link)
        for listen, target, direction in routes:
            await asyncio.start_server(handler(link, target, direction), HOST, listen)

    async def report(reader, writer):
        await reader.readline()
        writer.write((json.dumps(sum(link.bytes for link in links)) + "\n").encode())
        await writer.drain()
        writer.close()

    await asyncio.start_server(report, HOST, spec["control"])
    print("READY", flush=True)
    await asyncio.Event().wait()


# -- the cluster behind the link ----------------------------------------------------------
def free_ports(k):
    sockets = [socket.socket() for _ in range(k)]
    for s in sockets:
        s.bind((HOST, 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def wait_for_port(port, process, timeout=90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[:4]} exited with {process.returncode}")
        try:
            socket.create_connection((HOST, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"port {port} not open after {timeout} s")


class SlowLinkCluster:
    """A scheduler and single-thread workers, each worker behind its own emulated link."""

    def __init__(self, n_workers, rtt_ms, mbit, workdir):
        self.n_workers, self.rtt_ms, self.mbit, self.workdir = n_workers, rtt_ms, mbit, workdir
        self.processes = []

    def _spawn(self, args, name, env=None):
        log = open(os.path.join(self.workdir, name + ".log"), "wb")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
        self.processes.append((process, log))
        return process

    def __enter__(self):
        from distributed import Client

        n = self.n_workers
        scheduler, control, *ports = free_ports(2 + 3 * n)
        listen, proxied, to_scheduler = ports[:n], ports[n : 2 * n], ports[2 * n :]
        spec = {
            "rtt_ms": self.rtt_ms, "mbit": self.mbit, "control": control,
            "links": [[[proxied[i], listen[i], "down"], [to_scheduler[i], scheduler, "up"]] for i in range(n)],
        }
        env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
        py = sys.executable
        try:
            link = self._spawn([py, __file__, "--serve-link", json.dumps(spec)], "link")
            sched = self._spawn(
                [py, "-m", "dask", "scheduler", "--host", HOST, "--port", str(scheduler), "--no-dashboard"],
                "scheduler", env,
            )
            wait_for_port(control, link)
            wait_for_port(scheduler, sched)
            for i in range(n):
                self._spawn(
                    [
                        py, "-m", "dask", "worker", f"tcp://{HOST}:{to_scheduler[i]}", "--nthreads", "1",
                        "--no-nanny", "--no-dashboard", "--name", f"w{i}", "--memory-limit", "0",
                        "--listen-address", f"tcp://{HOST}:{listen[i]}",
                        "--contact-address", f"tcp://{HOST}:{proxied[i]}",
                        "--local-directory", self.workdir, "--death-timeout", "60",
                    ],
                    f"worker{i}", env,
                )
            self.control = control
            self.client = Client(f"tcp://{HOST}:{scheduler}", timeout=90)  # dask-ml computes on the default client
            self.client.wait_for_workers(n, timeout=90)
            self.addresses = [f"tcp://{HOST}:{proxied[i]}" for i in range(n)]
            if set(self.client.nthreads()) != set(self.addresses):
                raise RuntimeError(f"workers did not register behind the link: {sorted(self.client.nthreads())}")
        except BaseException:
            self.__exit__()
            raise
        return self

    def link_bytes(self):
        with socket.create_connection((HOST, self.control), timeout=10) as s:
            s.sendall(b"bytes\n")
            return int(s.makefile().readline())

    def __exit__(self, *exc_info):
        client = getattr(self, "client", None)
        if client is not None:
            client.close(timeout=10)
        for process, log in reversed(self.processes):
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
            log.close()
        self.processes = []


# -- data ----------------------------------------------------------------------------------
def make_block(index, rows, d, seed, corr):
    """Rows of block ``index``: unit-variance equicorrelated X (rows, d), y in {0, 1}."""
    rng = np.random.default_rng([seed, index])
    X = math.sqrt(1.0 - corr) * rng.standard_normal((rows, d)) + math.sqrt(corr) * rng.standard_normal((rows, 1))
    w = np.random.default_rng([seed, 1 << 20]).standard_normal(d) * (2.0 / math.sqrt(d))
    y = (rng.random(rows) < 1.0 / (1.0 + np.exp(-(X @ w + 0.3)))).astype(np.float64)
    return X, y


def block_rows(n, k):
    return [n // k + (1 if i < n % k else 0) for i in range(k)]


def cluster_data(cluster, args):
    """X and y as Dask arrays whose chunk i was made, and stays, on worker i."""
    import dask.array as da
    from distributed import wait

    client, rows = cluster.client, block_rows(args.n, cluster.n_workers)
    blocks = [
        client.submit(make_block, i, r, args.d, args.seed, args.corr, workers=[a], allow_other_workers=False, pure=False)
        for i, (r, a) in enumerate(zip(rows, cluster.addresses))
    ]
    arrays = []
    for part, shape in ((0, lambda r: (r, args.d)), (1, lambda r: (r,))):
        chunks = []
        for block, r, address in zip(blocks, rows, cluster.addresses):
            bounds = np.linspace(0, r, args.chunks_per_worker + 1).astype(int)
            for a, b in zip(bounds[:-1], bounds[1:]):
                piece = client.submit(
                    _rows_of, block, part, a, b, workers=[address], allow_other_workers=False, pure=False
                )
                chunks.append(da.from_delayed(piece, shape=shape(b - a), dtype=np.float64))
        arrays.append(da.concatenate(chunks))
    X, y = client.persist(arrays)
    wait([X, y])
    return X, y


def _rows_of(block, part, start, stop):
    """Rows ``start:stop`` of X (part 0) or y (part 1) of a block."""
    return block[part][start:stop]


def objective(X, y, coef, intercept, C):
    """scikit-learn's LogisticRegression objective: mean log-loss + ||coef||^2 / (2 C n)."""
    z = X @ np.ravel(coef) + float(np.ravel(intercept)[0])
    return float(np.logaddexp(0.0, -(2.0 * y - 1.0) * z).mean() + np.sum(np.square(coef)) / (2.0 * C * X.shape[0]))


# -- fits ------------------------------------------------------------------------------------
def count_graphs(dask_scheduler=None):
    plugin = dask_scheduler.plugins.get("slow-link-graphs")
    return 0 if plugin is None else plugin.graphs


def fit(cluster, solver, X, y, args, max_iter=None):
    """One fit on the cluster: wall seconds, coef, intercept, and what it cost."""
    from _measure import ClusterMeter

    client = cluster.client
    graphs, link_bytes = client.run_on_scheduler(count_graphs), cluster.link_bytes()
    meter = ClusterMeter(client)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if solver == "dingo":
                from sklearn_dingo import DingoLogisticRegression

                est = DingoLogisticRegression(C=args.C, tol=args.tol, **({"max_iter": max_iter} if max_iter else {}))
            else:
                from dask_ml.linear_model import LogisticRegression

                est = LogisticRegression(C=args.C, solver=solver, **({"max_iter": max_iter} if max_iter else {}))
            start = time.perf_counter()
            est.fit(X, y)
            wall = time.perf_counter() - start
    finally:
        meter.close()
    out = {
        "solver": solver, "wall": wall, "coef": np.ravel(est.coef_), "intercept": np.ravel(est.intercept_)[:1],
        "graphs": client.run_on_scheduler(count_graphs) - graphs, "link_bytes": cluster.link_bytes() - link_bytes,
        "waits": meter.round_trips, "client_bytes": meter.bytes_sent + meter.bytes_received,
    }
    if solver == "dingo":
        rounds = int(est.n_communication_rounds_)
        out.update(iterations=int(np.ravel(est.n_iter_)[0]), rounds=rounds, cycles=(rounds + 1) // 2)
        out["rounds_s"] = float(est.history_["time"][-1])
        out["setup_s"] = wall - out["rounds_s"]
    return out


def measure_setting(args, rtt_ms, mbit):
    from distributed.diagnostics.plugin import SchedulerPlugin

    class GraphCounter(SchedulerPlugin):
        def __init__(self):
            self.graphs = 0

        def update_graph(self, scheduler, *args, **kwargs):
            self.graphs += 1

    fits = []
    with tempfile.TemporaryDirectory(prefix="slow_link_") as workdir, SlowLinkCluster(
        args.workers, rtt_ms, mbit, workdir
    ) as cluster:
        cluster.client.register_plugin(GraphCounter(), name="slow-link-graphs")
        X, y = cluster_data(cluster, args)
        for solver in args.solvers:  # imports, connections between workers
            fit(cluster, solver, X, y, args, max_iter=1)
        for _ in range(args.repeats):
            for solver in args.solvers:
                fits.append(fit(cluster, solver, X, y, args))
                print(f"  {solver:7s} {fits[-1]['wall']:7.2f} s", flush=True)
    return fits


# -- the report ---------------------------------------------------------------------------------
def summarise(fits, Xloc, yloc, C):
    """Medians per solver; every objective value, for the gap."""
    by_solver = {}
    for f in fits:
        by_solver.setdefault(f["solver"], []).append(f)
    out = {}
    for solver, runs in by_solver.items():
        row = {key: statistics.median([r[key] for r in runs]) for key, v in runs[0].items() if isinstance(v, (int, float))}
        row["objective"] = max(objective(Xloc, yloc, r["coef"], r["intercept"], C) for r in runs)
        row["walls"] = [r["wall"] for r in runs]
        out[solver] = row
    return out


def modelled_seconds(row, rtt_ms, mbit):
    """benchmarks/run.py's slow-network model: fast-link wall + blocking calls x RTT + bytes / bandwidth."""
    transfer = row["link_bytes"] * 8.0 / (mbit * 1e6) if math.isfinite(mbit) else 0.0
    return row["wall"] + row["waits"] * rtt_ms / 1000.0 + transfer


def report(settings, f_star, args):
    print(f"\nn={args.n} d={args.d} corr={args.corr} C={args.C} on {args.workers} single-thread workers, "
          f"{args.chunks_per_worker} row chunk(s) each; f* = {f_star:.15f}; medians of {args.repeats} fits")
    header = f"{'link':>16s} {'solver':>7s} {'wall s':>7s} {'f - f*':>9s} {'graphs':>6s} {'waits':>5s} {'link kB':>8s}"
    print(header + f" {'iters':>5s} {'cycles':>6s} {'setup s':>7s} {'rounds s':>8s}")
    for (rtt, mbit), rows in settings:
        link = f"{rtt:g} ms" + ("" if not math.isfinite(mbit) else f", {mbit:g} Mb/s")
        for solver, r in rows.items():
            tail = ""
            if solver == "dingo":
                tail = f" {r['iterations']:>5.0f} {r['cycles']:>6.0f} {r['setup_s']:>7.3f} {r['rounds_s']:>8.3f}"
            print(f"{link:>16s} {solver:>7s} {r['wall']:>7.2f} {r['objective'] - f_star:>9.1e} {r['graphs']:>6.0f} "
                  f"{r['waits']:>5.0f} {r['link_bytes'] / 1e3:>8.1f}{tail}")
    (rtt0, _), base = settings[0]
    goals = []
    print("\nlink round trips (from the difference to the first setting) and speed-ups of DINGO:")
    for (rtt, mbit), rows in settings[1:]:
        seconds = (rtt - rtt0) / 1000.0
        d, d0 = rows["dingo"], base["dingo"]
        per_cycle = (d["rounds_s"] - d0["rounds_s"]) / seconds / d["cycles"]
        setup = (d["setup_s"] - d0["setup_s"]) / seconds
        fits = {s: (r["wall"] - base[s]["wall"]) / seconds for s, r in rows.items()}
        line = f"  {rtt:g} ms: DINGO {per_cycle:.2f} per cycle, {setup:.2f} for the setup; per fit: " + ", ".join(
            f"{s} {v:.1f}" for s, v in fits.items()
        )
        speedups = {s: r["wall"] / d["wall"] for s, r in rows.items() if s != "dingo"}
        if speedups:
            line += "; x faster than " + ", ".join(f"{s} {v:.1f}" for s, v in speedups.items())
        print(line)
        if rtt == max(r for (r, _), _ in settings):
            goals += [
                ("round trips per cycle", per_cycle, "<=", GOALS["trips_per_cycle"]),
                ("round trips of the setup", setup, "<=", GOALS["setup_trips"]),
            ]
            if "lbfgs" in speedups:
                goals.append((f"x faster than dask-ml lbfgs at {rtt:g} ms", speedups["lbfgs"], ">=", GOALS["x_lbfgs"]))
            if "newton" in speedups:
                goals.append((f"x faster than dask-ml newton at {rtt:g} ms", speedups["newton"], ">=", GOALS["x_newton"]))
            print(f"\nrun.py's slow-network model (the first setting's wall + one RTT per blocking wait + "
                  f"the link's bytes at its bandwidth) against the {rtt:g} ms link:")
            for solver, r in base.items():
                modelled, measured = modelled_seconds(r, rtt - rtt0, mbit), rows[solver]["wall"]
                print(f"  {solver:7s} modelled {modelled:6.2f} s, measured {measured:6.2f} s "
                      f"(measured / modelled {measured / modelled:.2f})")
    print("\ngoals:")
    for name, value, sense, bound in goals:
        ok = value <= bound if sense == "<=" else value >= bound
        print(f"  {'PASS' if ok else 'FAIL'}  {name}: {value:.2f} ({sense} {bound:g})")


def parse_list(text):
    return [float(v) for v in str(text).split(",") if v.strip()]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rtt-ms", default="0,10,50", help="round-trip times, one cluster each; the first is the base")
    parser.add_argument("--mbit", default="inf,inf,50", help="bandwidth per direction for each RTT (inf: none)")
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--d", type=int, default=100)
    parser.add_argument("--corr", type=float, default=0.5)
    parser.add_argument("--C", type=float, default=1.0)
    parser.add_argument("--tol", type=float, default=1e-8, help="DINGO's tol")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--chunks-per-worker", type=int, default=1,
        help="row chunks made on each worker (DINGO's shards; more than a worker's threads: several per task)",
    )
    parser.add_argument("--solvers", default="dingo,lbfgs,newton")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--serve-link", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_link:
        signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
        return asyncio.run(_serve_link(json.loads(args.serve_link)))
    args.solvers = [s.strip() for s in args.solvers.split(",") if s.strip()]
    if "dingo" not in args.solvers:
        parser.error("--solvers must include dingo")
    rtts, mbits = parse_list(args.rtt_ms), parse_list(args.mbit)
    mbits = mbits * len(rtts) if len(mbits) == 1 else mbits
    if len(mbits) != len(rtts) or len(rtts) < 2:
        parser.error("give two RTTs or more, and one bandwidth or one per RTT")

    from sklearn.linear_model import LogisticRegression

    blocks = [make_block(i, r, args.d, args.seed, args.corr) for i, r in enumerate(block_rows(args.n, args.workers))]
    Xloc, yloc = np.concatenate([b[0] for b in blocks]), np.concatenate([b[1] for b in blocks])
    ref = LogisticRegression(C=args.C, solver="newton-cholesky", tol=1e-12, max_iter=200).fit(Xloc, yloc)
    f_star = objective(Xloc, yloc, ref.coef_, ref.intercept_, args.C)
    settings = []
    for rtt, mbit in zip(rtts, mbits):
        print(f"-- link: RTT {rtt:g} ms, {mbit:g} Mbit/s", flush=True)
        settings.append(((rtt, mbit), summarise(measure_setting(args, rtt, mbit), Xloc, yloc, args.C)))
    f_star = min([f_star] + [r["objective"] for _, rows in settings for r in rows.values()])
    report(settings, f_star, args)


if __name__ == "__main__":
    sys.exit(main())
