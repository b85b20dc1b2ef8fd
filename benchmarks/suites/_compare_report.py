"""The compare suite's derived columns, honest clock, targets, float32 comparison and table (``suites/compare.py``)."""

import math

import numpy as np

from ..common.report import Goal, column_table, fmt, fmt_bytes
from ..common.solvers import CLOCK_TOL, tol_text

LATENCY_S = 0.050  # slow network: 50 ms per round trip
BANDWIDTH_BPS = 50e6  # slow network: 50 Mbit/s
MATCH_RTOL = 1e-12  # "reached f": loss <= f (1 + MATCH_RTOL)
OPTIMUM_RTOL = 1e-8  # "the optimum": relative gap <= 1e-8
TARGET_PROBLEMS_IN_PROCESS = (1, 2, 4)
FLOAT32_PEAK_OVER_X = 1.1  # float32 fit's peak growth over its X: room for row blocks, none for a float64 X
CLOCK_RATIO = 0.5  # the honest clock's target: dingo to f_ref in <= half the fastest scikit-learn fit's time


def slow_network_seconds(compute_s, round_trips, nbytes):
    return compute_s + round_trips * LATENCY_S + nbytes * 8.0 / BANDWIDTH_BPS


def _first_reaching(history, f):
    """Index of the first history row with loss <= f (1 + MATCH_RTOL), or None."""
    if history is None:
        return None
    hits = np.flatnonzero(history["loss"] <= f + MATCH_RTOL * abs(f))
    return int(hits[0]) if hits.size else None


def dingo_at(ref, k):
    """What the reference DINGO fit had spent when its history row k was recorded.

    time: history time + the fit's set-up (its wall time minus the last
    history time: validation, sharding, sending data; an upper bound, it
    includes the tear-down), of the run with the median wall time.
    rounds: paper counting. round trips and bytes:
    in-process, the paper model (one round trip per reduce; history bytes);
    on the cluster, the client meter when iteration k + 1 began (a
    scikit-learn callback of the fit: ``common/measure.IterationMarks``;
    row 0: after set-up, plus one trip for the initial reduce), with the
    fit's worker-to-worker bytes added in full.
    """
    h = ref["history"]
    setup = max(ref["wall_of_history"] - h["time"][-1], 0.0)
    out = dict(
        time=float(h["time"][k] + setup),
        rounds=int(h["rounds"][k]),
    )
    if ref["where"] == "in-process":
        out["round_trips"] = (int(h["rounds"][k]) + 1) // 2
        out["bytes"] = int(h["bytes_down"][k] + h["bytes_up"][k])
    else:
        marks = ref.get("iteration_marks")
        if marks and len(marks) > k:
            trips, nbytes = marks[k]
            if k == 0:
                trips += 1
            out["round_trips"] = int(trips)
            out["bytes"] = int(nbytes + ref.get("worker_bytes", 0))
        else:  # pro rata of rounds (no per-iteration marks)
            share = h["rounds"][k] / max(h["rounds"][-1], 1)
            out["round_trips"] = int(math.ceil(ref["round_trips"] * share))
            out["bytes"] = int(ref["bytes"] * share)
    out["slow_net"] = slow_network_seconds(out["time"], out["round_trips"], out["bytes"])
    return out


def derive(rows, problem, pass_time, pass_time_float32=None):
    """Fill the relative columns of one problem's rows in place; return f_best.

    A row's pass time and memory ratio are over the X it fitted (float32 rows:
    the float32 X); its gap and ``×dingo`` are against the float64 rows too.
    """
    pass_times = {"float64": pass_time, "float32": pass_time_float32 or pass_time}
    ok = [r for r in rows if r["status"] == "ok"]
    if not ok:
        return None
    f_best = min(r["objective"] for r in ok)
    refs = {
        "in-process": next((r for r in ok if r["solver"] == "dingo"), None),
        "cluster": next((r for r in ok if r["solver"] == "dingo (dask)"), None),
    }
    for r in ok:
        r["f_best"] = f_best
        r["rel_gap"] = (r["objective"] - f_best) / abs(f_best)
        r["pass_time"] = pass_times[r["dtype"]]
        r["time_in_passes"] = r["wall"] / r["pass_time"]
        r["peak_mem_over_X"] = (
            r["peak_mem_bytes"] / r["X_nbytes"] if r.get("peak_mem_bytes") is not None else None
        )
        if r.get("round_trips") is not None:
            r["slow_net"] = slow_network_seconds(r["wall"], r["round_trips"], r.get("bytes") or 0)
        ref = refs[r["where"]]
        if ref is None:
            continue
        for key in ("wall", "round_trips", "bytes"):
            mine, theirs = r.get(key), ref.get(key)
            r[f"x_dingo_{key}"] = mine / theirs if mine is not None and theirs else None
        if r is not ref:
            k = _first_reaching(ref["history"], r["objective"])
            if k is None:
                r["dingo_to_f"] = None
            else:
                at = dingo_at(ref, k)
                r["dingo_to_f"] = at
    for ref in refs.values():
        if ref is None:
            continue
        k = _first_reaching(ref["history"], f_best * (1 + OPTIMUM_RTOL))
        ref["dingo_to_optimum"] = None if k is None else dingo_at(ref, k)
    _honest_clock(ok)
    return f_best


# -- the honest clock --------------------------------------------------------------------
def clock_candidates(rows):
    """The scikit-learn fits at the clock's tol (float64, in-process) of one problem, as they ended."""
    return [r for r in rows if r["family"] == "sklearn" and r["dtype"] == "float64" and r.get("tol") == CLOCK_TOL]


def clock_reference(rows):
    """The fastest of :func:`clock_candidates` that ran and converged (not capped), or None."""
    converged = [r for r in clock_candidates(rows) if r["status"] == "ok" and not r["capped"]]
    return min(converged, key=lambda r: r["wall"]) if converged else None


def _honest_clock(ok):
    """Each dingo row's ``clock``: seconds to the reference's objective f_ref, and over the reference's seconds.

    Read off the row's own history (:func:`_first_reaching`, :func:`dingo_at`:
    timed like its wall column). A float32 row's history has its loss on the
    float32 X, which differs from the objective on the float64 X by more than
    the gaps compared here: its losses are shifted by their offset at the
    fit's end (last history loss minus the final coefficients' float64
    objective), an estimate (``estimated``), which reaches f_ref exactly when
    the final float64 objective does.
    """
    ref = clock_reference(ok)
    if ref is None:
        return
    f_ref = ref["objective"]
    for r in ok:
        if r["family"] != "dingo":
            continue
        history = r["history"]
        estimated = r["dtype"] == "float32"
        if estimated:
            offset = history["loss"][-1] - r["objective"]
            history = dict(history, loss=history["loss"] - offset)
        k = _first_reaching(history, f_ref)
        at = None if k is None else dingo_at(r, k)
        r["clock"] = dict(
            ref_solver=ref["solver"],
            f_ref=f_ref,
            ref_wall=ref["wall"],
            time=None if at is None else at["time"],
            ratio=None if at is None else at["time"] / ref["wall"],
            estimated=estimated,
        )


def clock_lines(rows):
    """Markdown: the honest clock of one problem (reference, then a table of the dingo rows), or [] if no dingo ran."""
    dingo = [r for r in rows if r["family"] == "dingo"]
    if not dingo:
        return []
    candidates = clock_candidates(rows)
    ref = clock_reference(rows)
    tried = "; ".join(f"{r['solver']} {_clock_state(r)}" for r in candidates) or "none ran (--solvers)"
    head = f"Honest clock (scikit-learn at tol={tol_text(CLOCK_TOL)}, in-process, float64): {tried}."
    if ref is None:
        why = "no reference" if not candidates else "no reference: none of them converged at this tol"
        return [f"{head[:-1]}; {why}.", ""]
    lines = [
        head,
        "",
        f"Reference: {ref['solver']}, the fastest of them, {fmt(ref['wall'])} s, {fmt(ref['passes'])} X reads; "
        f"f_ref = {ref['objective']!r} (rel. gap {fmt(ref['rel_gap'])}). Each dingo row: seconds to first reach "
        f"f <= f_ref, and over {fmt(ref['wall'])} s (cluster rows too: against the in-process reference).",
        "",
    ]
    table = [
        "| dingo fit | where | s to f_ref | ratio to ref | wall s (to its own stop) | its stop | X reads (whole fit) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in dingo:
        if r["status"] != "ok":
            table.append(f"| {r['solver']} | {r['where']} | {r['status']} | | | | |")
            continue
        c = r.get("clock") or {}
        if c.get("time") is not None:
            mark = " ‡" if c["estimated"] else ""
            reached, ratio = f"{c['time']:.3g}{mark}", f"{c['ratio']:.3g}"
        else:
            gap = (r["objective"] - ref["objective"]) / abs(ref["objective"])
            reached, ratio = f"never reached (final f = f_ref (1 + {gap:.1e}))", "—"
        table.append(
            f"| {r['solver']} | {r['where']} | {reached} | {ratio} | {fmt(r['wall'])} | {r['stop']} | "
            f"{fmt(r.get('passes'))} |"
        )
    lines += table
    if any(r["dtype"] == "float32" for r in dingo):
        lines += [
            "",
            "‡ float32 row, an estimate: its history's loss is on the float32 X; shifted by its offset at the "
            "fit's end (last loss minus the final coefficients' objective on the float64 X).",
        ]
    return lines + [""]


def _clock_state(r):
    if r["status"] != "ok":
        return r["status"]
    return f"{fmt(r['wall'])} s" + (" (capped: not a reference)" if r["capped"] else "")


# -- targets -----------------------------------------------------------------------------
def targets(problem, rows):
    """PASS / FAIL / n/a :class:`Goal` of each of the issue's targets for one problem."""
    by = {r["solver"]: r for r in rows if r["status"] == "ok"}
    ran = {r["solver"] for r in rows}

    def missing(solver):
        return "not run (--solvers)" if solver not in ran else f"{solver} failed"

    found = []
    if problem.key in TARGET_PROBLEMS_IN_PROCESS:
        found.append(_to_the_optimum_in_process(rows, by, missing))
    found.append(_honest_clock_target(rows, by, missing))
    found += _cluster_targets(by, [r for r in rows if r["status"] == "ok" and r["family"] == "dask-ml"], missing)
    found += _memory_targets(problem, by, missing)
    return [Goal(verdict, f"problem {problem.key}: {name}", detail) for name, verdict, detail in found]


def _to_the_optimum_in_process(rows, by, missing):
    """1. in-process: to the optimum no slower than scikit-learn's fastest solver that gets there."""
    name = "in-process: to the optimum (1e-8) no slower than sklearn's fastest solver that gets there"
    local = by.get("dingo")
    if local is None or local.get("dingo_to_optimum") is None:
        return name, "FAIL", "dingo did not reach the optimum" if local else missing("dingo")
    t = local["dingo_to_optimum"]["time"]
    there = [
        r
        for r in rows
        if r["status"] == "ok"
        and r["family"] == "sklearn"
        and r["dtype"] == "float64"  # the same data as dingo's
        and r.get("tol") != CLOCK_TOL  # the honest clock's fits have a target of their own
        and r["rel_gap"] <= OPTIMUM_RTOL
    ]
    if not there:
        return name, "PASS", f"dingo {t:.2f} s; no sklearn solver reached 1e-8"
    best = min(there, key=lambda r: r["wall"])
    return name, "PASS" if t <= best["wall"] else "FAIL", f"dingo {t:.2f} s vs {best['solver']} {best['wall']:.2f} s"


def _honest_clock_target(rows, by, missing):
    """In-process dingo to the fastest tol=1e-6 scikit-learn fit's objective in <= CLOCK_RATIO x its time."""
    name = (
        f"in-process: dingo reaches the fastest scikit-learn solver's tol={tol_text(CLOCK_TOL)} objective "
        f"in <= {CLOCK_RATIO:g} x its time"
    )
    candidates = clock_candidates(rows)
    ref = clock_reference(rows)
    if ref is None:
        why = "no scikit-learn solver ran at this tol (--solvers)" if not candidates else (
            "no scikit-learn fit converged at this tol: "
            + "; ".join(f"{r['solver']} {_clock_state(r)}" for r in candidates)
        )
        return name, "n/a", why
    local = by.get("dingo")
    if local is None:
        return name, "FAIL", missing("dingo")
    c = local.get("clock") or {}
    reference = f"{ref['solver']} {ref['wall']:.3g} s (f_ref = {ref['objective']:.12g})"
    if c.get("time") is None:
        return name, "FAIL", f"dingo never reached f_ref (its final f = {local['objective']:.12g}); {reference}"
    return (
        name,
        "PASS" if c["ratio"] <= CLOCK_RATIO else "FAIL",
        f"ratio {c['ratio']:.3g}: dingo {c['time']:.3g} s to f_ref (its whole fit to tol {local['wall']:.3g} s) "
        f"vs {reference}",
    )


def _cluster_targets(by, dml, missing):
    """2-4 and 6: against dask-ml on the cluster, in time, round trips and a slow network's model."""
    remote = by.get("dingo (dask)")
    # "dask-ml lbfgs": its defaults; where those fail (sparse input), the normalize=False run.
    lbfgs = by.get("dask-ml lbfgs") or by.get("dask-ml lbfgs (normalize=False)")
    lbfgs_name = "dask-ml lbfgs" if lbfgs is None else lbfgs["solver"]
    found = []
    name = "cluster: reaches each dask-ml solver's objective faster than that solver's fit"
    if remote is None:
        found.append((name, "FAIL", missing("dingo (dask)")))
    elif not dml:
        found.append((name, "n/a", "no dask-ml solver ran on this problem"))
    else:
        verdicts, details = [], []
        for r in dml:
            at = r.get("dingo_to_f")
            verdicts.append(at is not None and at["time"] < r["wall"])
            if at is None:
                details.append(f"{r['solver']} {r['wall']:.2f} s: dingo never reached its objective")
            else:
                details.append(f"{r['solver']} {r['wall']:.2f} s (gap {r['rel_gap']:.0e}) vs dingo {at['time']:.2f} s")
        details.append(f"dingo's whole fit to tol: {remote['wall']:.2f} s")
        found.append((name, "PASS" if all(verdicts) else "FAIL", "; ".join(details)))
    names = (
        "cluster: the optimum (1e-8) in <= dask-ml lbfgs's round trips",
        "cluster: dask-ml lbfgs's final objective in <= 1/3 of its round trips",
        "slow network (50 ms, 50 Mbit/s): <= 1/5 of dask-ml lbfgs's modelled time at equal objective",
    )
    if remote is None or lbfgs is None:
        why = ("n/a", "dask-ml lbfgs did not run") if lbfgs is None else ("FAIL", missing("dingo (dask)"))
        return found + [(n, *why) for n in names]
    at = remote.get("dingo_to_optimum")
    if at is None:
        found.append((names[0], "FAIL", "dingo (dask) did not reach the optimum"))
    else:
        found.append((
            names[0],
            "PASS" if at["round_trips"] <= lbfgs["round_trips"] else "FAIL",
            f"dingo {at['round_trips']} measured round trips ({at['rounds']} paper rounds) vs "
            f"{lbfgs_name} {lbfgs['round_trips']} (gap {lbfgs['rel_gap']:.1e})",
        ))
    at = lbfgs.get("dingo_to_f")
    if at is None:
        return found + [(n, "FAIL", f"dingo (dask) never reached {lbfgs_name}'s objective") for n in names[1:]]
    verdict = "PASS" if 3 * at["round_trips"] <= lbfgs["round_trips"] else "FAIL"
    found.append((names[1], verdict, f"dingo {at['round_trips']} vs {lbfgs_name} {lbfgs['round_trips']} round trips"))
    verdict = "PASS" if 5 * at["slow_net"] <= lbfgs["slow_net"] else "FAIL"
    found.append((names[2], verdict, f"dingo {at['slow_net']:.2f} s vs {lbfgs_name} {lbfgs['slow_net']:.2f} s"))
    return found


def _memory_targets(problem, by, missing):
    """5 and 7: peak memory growth of the in-process float64 and float32 fits."""
    found = []
    local = by.get("dingo")
    name = "in-process: peak memory growth of a dingo fit <= 1.5 x X.nbytes"
    if local is None or local.get("peak_mem_over_X") is None:
        found.append((name, "FAIL", missing("dingo")))
    else:
        ratio = local["peak_mem_over_X"]
        detail = f"{ratio:.2f} x X ({local['peak_mem_bytes'] / 2**20:.0f} MiB)"
        found.append((name, "PASS" if ratio <= 1.5 else "FAIL", detail))
    # float32: no float64 copy of X, only O(n) working vectors
    single = by.get("dingo float32")
    allowance = float32_working_bytes_per_row(problem.n_classes)
    name = (
        f"in-process: peak memory growth of a dingo float32 fit <= {FLOAT32_PEAK_OVER_X:g} x X.nbytes (float32) "
        f"+ O(n) working vectors ({allowance} B/row)"
    )
    if single is None or single.get("peak_mem_over_X") is None:
        found.append((name, "FAIL", missing("dingo float32")))
        return found
    peak, x_bytes, n = single["peak_mem_bytes"], single["X_nbytes"], problem.n_samples
    over = (peak - FLOAT32_PEAK_OVER_X * x_bytes) / n
    verdict = "PASS" if single["peak_mem_over_X"] <= FLOAT32_PEAK_OVER_X or over <= allowance else "FAIL"
    found.append((
        name,
        verdict,
        f"{single['peak_mem_over_X']:.2f} x X ({peak / 2**20:.1f} MiB); (peak - X)/n = {(peak - x_bytes) / n:.0f} "
        f"B/row, (peak - {FLOAT32_PEAK_OVER_X:g} X)/n = {over:.0f} B/row",
    ))
    return found


def float32_working_bytes_per_row(n_classes):
    """Allowance per row for a float32 fit's O(n) working arrays, which are float64.

    8 x (3 + 2 K x 4) bytes: room for three n-vectors and eight n x K arrays
    (margins, margins along the search direction, line-search trial margins
    and their residuals, each twice). Not an exact count of the fit's arrays:
    a bound that a float64 copy of X would break at the default sizes (dense:
    8 d >= 1,600 bytes per row; sparse: 8 bytes per stored entry, 50 a row).
    """
    return 8 * (3 + 2 * n_classes * 4)


# -- float32 against float64, same run -----------------------------------------------------
def float32_comparison(rows):
    """Markdown lines: the float32 rows beside their float64 counterparts, or [] if none ran."""
    by = {r["solver"]: r for r in rows if r["status"] == "ok"}
    ran = {r["solver"]: r for r in rows}
    if not any(r.get("dtype") == "float32" for r in rows):
        return []

    def state(name):
        return "not run" if name not in ran else ran[name]["status"]

    def wall_ratio(num, den):
        a, b = by.get(num), by.get(den)
        if a is None or b is None:
            return f"— ({num}: {state(num) if a is None else 'ok'}, {den}: {state(den) if b is None else 'ok'})"
        return f"{a['wall'] / b['wall']:.3g} ({fmt(a['wall'])} s / {fmt(b['wall'])} s)"

    def pair(what, num, den):
        return f"{what(num)} / {what(den)}"

    def each(name, key, show):
        r = by.get(name)
        return state(name) if r is None or r.get(key) is None else show(r[key])

    def gap(name):
        return each(name, "rel_gap", fmt)

    def mem(name):
        return each(name, "peak_mem_over_X", lambda v: f"{v:.2f}")

    single, double, lbfgs = "dingo float32", "dingo", "sklearn lbfgs float32"
    lines = [
        "float32 vs float64, same run (each pair: first row / second row; peak mem/X over each row's own X):",
        "",
        (
            f"- {single} / {double}: wall {wall_ratio(single, double)}; peak mem/X {pair(mem, single, double)}; "
            f"rel. gap {pair(gap, single, double)}"
        ),
        f"- {single} / {lbfgs}: wall {wall_ratio(single, lbfgs)}; rel. gap {pair(gap, single, lbfgs)}",
    ]
    if "dingo float32 (dask)" in by and "dingo (dask)" in by:
        lines.append(
            f"- dingo float32 (dask) / dingo (dask): wall {wall_ratio('dingo float32 (dask)', 'dingo (dask)')}"
        )
    return lines


# -- the table ------------------------------------------------------------------------------
TABLE_COLUMNS = [
    ("solver", "solver"),
    ("where", "where"),
    ("reps", "reps"),
    ("wall s", "wall"),
    ("× pass", "time_in_passes"),
    ("stop", "stop"),
    ("iters", "n_iter"),
    ("round trips", "round_trips"),
    ("rounds", "rounds"),
    ("bytes", "bytes"),
    ("X reads", "passes"),
    ("peak mem/X", "peak_mem_over_X"),
    ("rel. gap", "rel_gap"),
    ("‖g‖", "grad_norm"),
    ("slow-net s", "slow_net"),
    ("time ×dingo", "x_dingo_wall"),
    ("trips ×dingo", "x_dingo_round_trips"),
    ("bytes ×dingo", "x_dingo_bytes"),
    ("dingo to this f: s / trips / rounds", "dingo_to_f"),
]


def _cell(row, key):
    if row["status"] != "ok":
        if key == "stop":
            return f"**{row['status']}**: {row['reason']}"
        if key in ("solver", "where"):
            return row[key]
        return ""
    value = row.get(key)
    if key == "bytes":
        return fmt_bytes(value)
    if key == "stop":
        text = str(value)
        if row.get("note"):
            text += f" ({row['note']})"
        return text
    if key == "n_iter":
        return "—" if value is None or value < 0 else f"{value:,}"
    if key == "dingo_to_f":
        if "dingo_to_optimum" in row:  # the reference dingo row of its setting
            at = row.get("dingo_to_optimum")
            return "to 1e-8: " + (f"{at['time']:.3g} / {at['round_trips']} / {at['rounds']}" if at else "not reached")
        if key not in row:  # no dingo fit of this setting ran
            return "—"
        if value is None:
            return "not reached"
        return f"{value['time']:.3g} / {value['round_trips']} / {value['rounds']}"
    if key == "peak_mem_over_X":
        return "—" if value is None else f"{value:.2f}"
    if key in ("x_dingo_wall", "x_dingo_round_trips", "x_dingo_bytes"):
        return "—" if value is None else f"{value:.3g}"
    return fmt(value) if not isinstance(value, str) else value


def markdown_table(rows):
    return column_table(rows, TABLE_COLUMNS, _cell)


CSV_COLUMNS = [
    "problem", "problem_name", "shape", "C", "solver", "where", "family", "dtype", "status", "reason", "note",
    "reps", "wall", "wall_runs", "pass_time", "time_in_passes", "stop", "n_iter", "capped",
    "round_trips", "computes", "rounds", "bytes", "bytes_sent", "bytes_received", "worker_bytes",
    "paper_bytes", "passes", "peak_mem_bytes", "X_nbytes", "peak_mem_over_X", "objective", "f_best",
    "rel_gap", "grad_norm", "slow_net", "x_dingo_wall", "x_dingo_round_trips", "x_dingo_bytes",
    "dingo_to_f_time", "dingo_to_f_round_trips", "dingo_to_f_rounds", "dingo_to_f_bytes", "dingo_to_f_slow_net",
    "dingo_to_opt_time", "dingo_to_opt_round_trips", "dingo_to_opt_rounds",
    "clock_ref_solver", "clock_f_ref", "clock_ref_wall", "clock_time", "clock_ratio",
]


def csv_rows(rows):
    """The rows flattened for the CSV (``CSV_COLUMNS``): the "dingo to" dicts as columns."""
    flat_rows = []
    for r in rows:
        flat = dict(r)
        for prefix, key in (("dingo_to_f", "dingo_to_f"), ("dingo_to_opt", "dingo_to_optimum")):
            at = r.get(key)
            for field in ("time", "round_trips", "rounds", "bytes", "slow_net"):
                flat[f"{prefix}_{field}"] = None if not at else at.get(field)
        for field in ("ref_solver", "f_ref", "ref_wall", "time", "ratio"):
            flat[f"clock_{field}"] = (r.get("clock") or {}).get(field)
        flat_rows.append(flat)
    return flat_rows
