"""The layouts suite's derived columns, goals and tables (``suites/layouts.py``)."""

import math

from ..common.layout_problems import VARIANTS
from ..common.report import Goal, column_table, fmt, fmt_bytes, ratio

# The goals: rounds of a fit that may move rows (auto/True) and of one that
# may not (False), over DINGO's own rounds on shuffled rows.
MOVE_ROUNDS_FACTOR = 1.5
FIXED_ROUNDS_FACTOR = 4.0
REFERENCE = "dingo auto"  # on the shuffled layout: every ×shuffled ratio's denominator


# -- derived columns and goals ------------------------------------------------------------------
def derive(rows):
    """Fill rel_gap and the ratios of every row in place; return f_best of each problem."""
    ok = [r for r in rows if r["status"] == "ok"]
    f_best = {}
    for r in ok:
        f_best[r["problem"]] = min(f_best.get(r["problem"], math.inf), r["objective"])
    references = [r for r in ok if r["solver"] == REFERENCE and r["layout"] == "shuffled"]
    shuffled = {(r["problem"], r["setting"], r["shards"]): r for r in references}
    dask_ml = {(r["problem"], r["layout"], r["shards"]): r for r in ok if r["family"] == "dask-ml"}
    for r in ok:
        best = f_best[r["problem"]]
        r["f_best"] = best
        r["rel_gap"] = (r["objective"] - best) / abs(best)
        ref = shuffled.get((r["problem"], r["setting"], r["shards"]))
        if ref is not None:
            r["x_shuffled_rounds"] = ratio(r.get("rounds"), ref.get("rounds"))
            r["x_shuffled_round_trips"] = ratio(r.get("round_trips"), ref.get("round_trips"))
        theirs = dask_ml.get((r["problem"], r["layout"], r["shards"]))
        if r["setting"] == "cluster" and r["family"] == "dingo" and theirs is not None:
            r["x_daskml_round_trips"] = ratio(r.get("round_trips"), theirs.get("round_trips"))
    return f_best


def _goal(name, cases, limit):
    """One PASS / FAIL / n/a goal from ``(label, ratio or None, problem or None)`` per fit checked."""
    if not cases:
        return Goal("n/a", name, "no such fit ran")
    failures = [f"{label}: {problem}" for label, _, problem in cases if problem]
    failures += [f"{label}: {ratio:.2f}x" for label, ratio, problem in cases if not problem and ratio > limit]
    measured = [(ratio, label) for label, ratio, _ in cases if ratio is not None]
    detail = f"{len(cases)} fits; highest {max(measured)[0]:.2f}x ({max(measured)[1]})" if measured else ""
    return Goal("FAIL" if failures else "PASS", name, "; ".join(filter(None, [detail, *failures])))


def _why_not(r):
    """Why a fit cannot pass, whatever its ratio (None: it can)."""
    if r["status"] != "ok":
        return f"{r['status']} ({r['reason']})"
    return None if r["converged"] else f"not converged ({r['stop']}, {r['rounds']} rounds)"


def goals(rows, args):
    """PASS / FAIL / n/a goals, one per (goal, problem, setting)."""
    found = []
    dask_ml = {(r["problem"], r["layout"], r["shards"]): r for r in rows if r["family"] == "dask-ml"}
    for key in args.problems:
        mine = [r for r in rows if r["problem"] == key and r["family"] == "dingo"]
        # 1. cluster: DINGO auto in no more round trips than dask-ml lbfgs, every layout and shard count
        name = f"problem {key}, cluster: DINGO rebalance=auto in <= dask-ml lbfgs's round trips, every layout"
        cases = []
        for r in (r for r in mine if r["setting"] == "cluster" and r["solver"] == REFERENCE):
            theirs = dask_ml.get((key, r["layout"], r["shards"]))
            if theirs is None:
                continue
            label = f"{r['layout']}/{r['shards']} shards ({r.get('round_trips')} vs {theirs.get('round_trips')} trips)"
            trouble = _why_not(r) or (None if theirs["status"] == "ok" else f"dask-ml {theirs['status']}")
            cases.append((label, r.get("x_daskml_round_trips"), trouble))
        found.append(Goal("n/a", name, "dask-ml lbfgs is binary only") if not cases and key == "a" else _goal(
            name, cases, 1.0
        ))
        # 2-3. rounds against DINGO's own shuffled rounds
        for setting in args.settings:
            for allowed, limit, text in (
                (("auto", True), MOVE_ROUNDS_FACTOR, "rebalance auto/True"),
                ((False,), FIXED_ROUNDS_FACTOR, "rebalance=False"),
            ):
                name = f"problem {key}, {setting}: {text} converges in <= {limit:g}x DINGO's shuffled rounds"
                # `in` compares with ==: safe, the variants are "auto", True, False, "plain" (no 0 or 1)
                fits = [r for r in mine if r["setting"] == setting and r["variant"] in allowed]
                cases = [
                    (f"{r['layout']}/{r['shards']}/{r['variant']} ({r.get('rounds')} rounds)",
                     r.get("x_shuffled_rounds"),
                     _why_not(r) or (None if r.get("x_shuffled_rounds") else "no shuffled reference"))
                    for r in fits
                ]
                found.append(_goal(name, cases, limit))
    return found


# -- tables -------------------------------------------------------------------------------------
COLUMNS = [
    ("layout", "layout"), ("shards", "shards"), ("solver", "solver"), ("reps", "reps"), ("wall s", "wall"),
    ("iters", "n_iter"), ("stop", "stop"), ("rounds", "rounds"), ("round trips", "round_trips"),
    ("paper bytes", "paper_bytes"), ("wire bytes", "wire_bytes"), ("moved", "bytes_moved"),
    ("moved/X", "moved_over_X"), ("δ", "disagreement"), ("rows rebalanced", "rows_rebalanced"), ("case 4", "case4"),
    ("rel. gap", "rel_gap"), ("‖g‖", "grad_norm"), ("rounds ×shuffled", "x_shuffled_rounds"),
    ("trips ×shuffled", "x_shuffled_round_trips"), ("trips ×dask-ml", "x_daskml_round_trips"),
]
IN_PROCESS_ONLY_MISSING = {"wire_bytes", "x_daskml_round_trips"}  # no cluster, no dask-ml in-process


def _cell(row, key):
    if row["status"] != "ok":
        return f"**{row['status']}**: {row['reason']}" if key == "stop" else str(row.get(key) or "")
    value = row.get(key)
    if value is None:
        return "—"
    if key in ("paper_bytes", "wire_bytes", "bytes_moved"):
        return fmt_bytes(value)
    if key == "stop":
        if row["family"] == "dingo":
            return "converged" if row["converged"] else f"**not converged**: {value}"
        return value
    if key in ("moved_over_X", "x_shuffled_rounds", "x_shuffled_round_trips", "x_daskml_round_trips"):
        return f"{value:.2f}"
    if isinstance(value, str):
        return value
    return fmt(value)


def markdown_table(rows, setting):
    columns = [c for c in COLUMNS if setting == "cluster" or c[1] not in IN_PROCESS_ONLY_MISSING]
    return column_table(rows, columns, _cell)


def rounds_at_a_glance(rows, args):
    """Layouts down, settings x shards across; cells: DINGO rounds for auto / True / False / plain."""
    by = {(r["layout"], r["setting"], r["shards"], r["variant"]): r for r in rows if r["family"] == "dingo"}
    dask_ml = {(r["layout"], r["shards"]): r for r in rows if r["family"] == "dask-ml" and r["status"] == "ok"}
    heads = [(s, m) for s in args.settings for m in args.shards]
    lines = ["| layout | " + " | ".join(f"{s} {m}" for s, m in heads) + " |", "|" + "---|" * (len(heads) + 1)]

    def rounds(r):
        if r is None or r["status"] != "ok":
            return "—" if r is None else r["status"]
        return f"{r['rounds']}" + ("" if r["converged"] else "†")

    for layout in args.layouts:
        cells = []
        for setting, m in heads:
            text = " / ".join(rounds(by.get((layout, setting, m, variant))) for variant in VARIANTS)
            if setting == "cluster" and (layout, m) in dask_ml:
                text += f" (dask-ml {dask_ml[layout, m]['rounds']})"
            cells.append(text)
        lines.append(f"| {layout} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


CSV_COLUMNS = [
    "problem", "layout", "setting", "shards", "solver", "variant", "rebalance", "fit_intercept", "status", "reason",
    "reps", "wall", "wall_runs", "n_iter", "converged", "stop", "rounds", "round_trips", "computes", "paper_bytes",
    "bytes_sent", "bytes_received", "worker_bytes", "wire_bytes", "bytes_moved", "X_nbytes", "moved_over_X",
    "disagreement", "rebalanced", "rows_rebalanced", "rebalanced_at", "case4", "objective", "f_best", "rel_gap",
    "grad_norm", "x_shuffled_rounds", "x_shuffled_round_trips", "x_daskml_round_trips",
]
