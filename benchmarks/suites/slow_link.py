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
* the modelled slow-network time of the ``compare`` suite (the fit on a fast
  link plus 50 ms per blocking client call plus the bytes at 50 Mbit/s),
  checked against the measured time on the 50 ms link.

Writes ``DIR/slow-link.md`` and ``.csv`` (default DIR: ``benchmarks/results/``).
``--quick``: 3,000 x 5 rows, links of 0 and 10 ms without a bandwidth limit,
one fit per solver (well under a minute). Example::

    python -m benchmarks slow-link --rtt-ms 0,10,50 --mbit inf,inf,50 --repeats 3
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

import numpy as np

from ..common.cli import suite_parser
from ..common.measure import ClusterMeter
from ..common.report import ROOT, Report, bound_goal, command_line, environment_text, log, markdown_table, write

NAME = "slow-link"
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
        output = open(os.path.join(self.workdir, name + ".log"), "wb")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(args, stdout=output, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        self.processes.append((process, output))
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
            link = self._spawn([py, "-m", "benchmarks", NAME, "--serve-link", json.dumps(spec)], "link")
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
        for process, output in reversed(self.processes):
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
            output.close()
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
        client.submit(
            make_block, i, r, args.d, args.seed, args.corr, workers=[a], allow_other_workers=False, pure=False
        )
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
                log(f"  {solver:7s} {fits[-1]['wall']:7.2f} s")
    return fits


# -- the report ---------------------------------------------------------------------------------
def summarise(fits, Xloc, yloc, C):
    """Medians per solver; every objective value, for the gap."""
    by_solver = {}
    for f in fits:
        by_solver.setdefault(f["solver"], []).append(f)
    out = {}
    for solver, runs in by_solver.items():
        row = {
            key: statistics.median([r[key] for r in runs])
            for key, v in runs[0].items() if isinstance(v, (int, float))
        }
        row["objective"] = max(objective(Xloc, yloc, r["coef"], r["intercept"], C) for r in runs)
        row["walls"] = [r["wall"] for r in runs]
        out[solver] = row
    return out


def modelled_seconds(row, rtt_ms, mbit):
    """The compare suite's slow-network model (its "slow-net s" column).

    Fast-link wall + blocking calls x RTT + bytes / bandwidth.
    """
    transfer = row["link_bytes"] * 8.0 / (mbit * 1e6) if math.isfinite(mbit) else 0.0
    return row["wall"] + row["waits"] * rtt_ms / 1000.0 + transfer


def _link_text(rtt, mbit):
    return f"{rtt:g} ms" + ("" if not math.isfinite(mbit) else f", {mbit:g} Mbit/s")


def fits_table(settings, f_star):
    """Every (link, solver): the medians, and DINGO's iterations, rounds and cycles."""
    head = ["link", "solver", "wall s", "f - f*", "graphs", "waits", "link kB", "iters", "rounds", "cycles",
            "setup s", "rounds s"]
    cells, rows = [], []
    for (rtt, mbit), by_solver in settings:
        for solver, r in by_solver.items():
            dingo = solver == "dingo"
            cells.append([
                _link_text(rtt, mbit), solver, f"{r['wall']:.2f}", f"{r['objective'] - f_star:.1e}",
                f"{r['graphs']:.0f}",
                f"{r['waits']:.0f}", f"{r['link_bytes'] / 1e3:.1f}",
                *([f"{r[k]:.0f}" for k in ("iterations", "rounds", "cycles")] if dingo else ["", "", ""]),
                *([f"{r['setup_s']:.3f}", f"{r['rounds_s']:.3f}"] if dingo else ["", ""]),
            ])
            rows.append(dict(rtt_ms=rtt, mbit=mbit, solver=solver, gap=r["objective"] - f_star,
                             **{k: v for k, v in r.items() if k != "walls"}))
    return markdown_table(head, cells), rows


def link_round_trips(settings, modelled_against):
    """Lines of link round trips and speed-ups per setting after the first; the goals at the largest RTT."""
    (rtt0, _), base = settings[0]
    lines, goals = [], []
    for (rtt, _mbit), rows in settings[1:]:
        seconds = (rtt - rtt0) / 1000.0
        d, d0 = rows["dingo"], base["dingo"]
        per_cycle = (d["rounds_s"] - d0["rounds_s"]) / seconds / d["cycles"]
        setup = (d["setup_s"] - d0["setup_s"]) / seconds
        fits = {s: (r["wall"] - base[s]["wall"]) / seconds for s, r in rows.items()}
        line = f"- {rtt:g} ms: DINGO {per_cycle:.2f} per cycle, {setup:.2f} for the setup; per fit: " + ", ".join(
            f"{s} {v:.1f}" for s, v in fits.items()
        )
        speedups = {s: r["wall"] / d["wall"] for s, r in rows.items() if s != "dingo"}
        if speedups:
            line += "; x faster than " + ", ".join(f"{s} {v:.1f}" for s, v in speedups.items())
        lines.append(line)
        if rtt == modelled_against:
            goals += [
                bound_goal("round trips per cycle", per_cycle, GOALS["trips_per_cycle"]),
                bound_goal("round trips of the setup", setup, GOALS["setup_trips"]),
            ]
            for solver, key in (("lbfgs", "x_lbfgs"), ("newton", "x_newton")):
                if solver in speedups:
                    name = f"x faster than dask-ml {solver} at {rtt:g} ms"
                    goals.append(bound_goal(name, speedups[solver], GOALS[key], ">="))
    return "\n".join(lines), goals


def model_check(settings):
    """The compare suite's slow-network model against the largest RTT's measured times."""
    (rtt0, _), base = settings[0]
    (rtt, mbit), rows = max(settings[1:], key=lambda setting: setting[0][0])
    cells = []
    for solver, r in base.items():
        modelled, measured = modelled_seconds(r, rtt - rtt0, mbit), rows[solver]["wall"]
        cells.append([solver, f"{modelled:.2f}", f"{measured:.2f}", f"{measured / modelled:.2f}"])
    text = (
        f"The first setting's wall + one RTT per blocking wait + the link's bytes at its bandwidth, against the "
        f"{_link_text(rtt, mbit)} link:\n\n"
    )
    return text + markdown_table(["solver", "modelled s", "measured s", "measured / modelled"], cells)


def fill_report(report, args, settings, f_star):
    """The report's sections, rows and goals from the medians of every setting."""
    report.intro.append(
        f"n={args.n:,} d={args.d} corr={args.corr:g} C={args.C:g} on {args.workers} single-thread workers, "
        f"{args.chunks_per_worker} row chunk(s) each; f* = {f_star:.15f}; medians of {args.repeats} fit(s) per "
        "link setting after a warm-up fit, fresh processes per setting."
    )
    table, report.rows = fits_table(settings, f_star)
    report.columns = list(dict.fromkeys(key for row in report.rows for key in row))
    report.sections.append(("## Fits", table))
    largest = max(rtt for (rtt, _), _ in settings)
    lines, report.goals = link_round_trips(settings, largest)
    report.sections.append(("## Link round trips and speed-ups of DINGO",
                            "From the difference to the first setting:\n\n" + lines))
    report.sections.append(("## The slow-network model of `compare`", model_check(settings)))
    return report


def parse_list(text):
    return [float(v) for v in str(text).split(",") if v.strip()]


QUICK = dict(n=3_000, d=5, rtt_ms="0,10", mbit="inf", repeats=1)


def parse_args(argv):
    parser = suite_parser(NAME, __doc__, "3,000 x 5 rows, links of 0 and 10 ms, one fit each (CI)")
    parser.add_argument("--rtt-ms", default=None, help="round-trip times, one cluster each; the first is the base "
                        "(default 0,10,50)")
    parser.add_argument("--mbit", default=None, help="bandwidth per direction for each RTT (inf: none; "
                        "default inf,inf,50)")
    parser.add_argument("--n", type=int, default=None, help="rows (default 100,000)")
    parser.add_argument("--d", type=int, default=None, help="features (default 100)")
    parser.add_argument("--corr", type=float, default=0.5)
    parser.add_argument("--C", type=float, default=1.0)
    parser.add_argument("--tol", type=float, default=1e-8, help="DINGO's tol")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--chunks-per-worker", type=int, default=1,
        help="row chunks made on each worker (DINGO's shards; more than a worker's threads: several per task)",
    )
    parser.add_argument("--solvers", default="dingo,lbfgs,newton")
    parser.add_argument("--repeats", type=int, default=None, help="fits per solver and link (default 3)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--serve-link", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    defaults = QUICK if args.quick else dict(n=100_000, d=100, rtt_ms="0,10,50", mbit="inf,inf,50", repeats=3)
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.serve_link:
        return args
    args.solvers = [s.strip() for s in args.solvers.split(",") if s.strip()]
    if "dingo" not in args.solvers:
        parser.error("--solvers must include dingo")
    args.rtts, mbits = parse_list(args.rtt_ms), parse_list(args.mbit)
    args.mbits = mbits * len(args.rtts) if len(mbits) == 1 else mbits
    if len(args.mbits) != len(args.rtts) or len(args.rtts) < 2:
        parser.error("give two RTTs or more, and one bandwidth or one per RTT")
    return args


def command_text(args):
    defaults = QUICK if args.quick else dict(n=100_000, d=100, rtt_ms="0,10,50", mbit="inf,inf,50", repeats=3)
    return command_line(NAME, args.quick, [
        ("--rtt-ms", args.rtt_ms, defaults["rtt_ms"]), ("--mbit", args.mbit, defaults["mbit"]),
        ("--n", args.n, defaults["n"]), ("--d", args.d, defaults["d"]), ("--corr", args.corr, 0.5),
        ("--C", args.C, 1.0), ("--tol", args.tol, 1e-8), ("--workers", args.workers, 2),
        ("--chunks-per-worker", args.chunks_per_worker, 1), ("--solvers", args.solvers, ["dingo", "lbfgs", "newton"]),
        ("--repeats", args.repeats, defaults["repeats"]), ("--seed", args.seed, 0),
    ])


def main(argv=None):
    args = parse_args(argv)
    if args.serve_link:
        signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
        return asyncio.run(_serve_link(json.loads(args.serve_link)))
    from sklearn.linear_model import LogisticRegression

    report = Report(NAME, "DINGO against dask-ml behind an emulated slow link", command_text(args),
                    environment=environment_text())

    blocks = [make_block(i, r, args.d, args.seed, args.corr) for i, r in enumerate(block_rows(args.n, args.workers))]
    Xloc, yloc = np.concatenate([b[0] for b in blocks]), np.concatenate([b[1] for b in blocks])
    ref = LogisticRegression(C=args.C, solver="newton-cholesky", tol=1e-12, max_iter=200).fit(Xloc, yloc)
    f_star = objective(Xloc, yloc, ref.coef_, ref.intercept_, args.C)
    settings = []
    for rtt, mbit in zip(args.rtts, args.mbits):
        log(f"-- link: RTT {rtt:g} ms, {mbit:g} Mbit/s")
        settings.append(((rtt, mbit), summarise(measure_setting(args, rtt, mbit), Xloc, yloc, args.C)))
    f_star = min([f_star] + [r["objective"] for _, rows in settings for r in rows.values()])
    fill_report(report, args, settings, f_star)
    write(report, args.out)
    return 0
