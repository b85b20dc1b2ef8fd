"""Tables of ``benchmarks/heterogeneous.py``: markdown per setting, rounds at a glance, CSV."""

from _layouts import VARIANTS
from _report import _bytes, _g, write_rows

COLUMNS = [
    ("layout", "layout"), ("shards", "shards"), ("solver", "solver"), ("reps", "reps"), ("wall s", "wall"),
    ("iters", "n_iter"), ("stop", "stop"), ("rounds", "rounds"), ("round trips", "round_trips"),
    ("paper bytes", "paper_bytes"), ("wire bytes", "wire_bytes"), ("moved", "bytes_moved"),
    ("moved/X", "moved_over_X"), ("δ", "disagreement"), ("rows mixed", "mixed"), ("case 4", "case4"),
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
        return _bytes(value)
    if key == "stop":
        if row["family"] == "dingo":
            return "converged" if row["converged"] else f"**not converged**: {value}"
        return value
    if key in ("moved_over_X", "x_shuffled_rounds", "x_shuffled_round_trips", "x_daskml_round_trips"):
        return f"{value:.2f}"
    if isinstance(value, str):
        return value
    return _g(value)


def markdown_table(rows, setting):
    columns = [c for c in COLUMNS if setting == "cluster" or c[1] not in IN_PROCESS_ONLY_MISSING]
    lines = ["| " + " | ".join(title for title, _ in columns) + " |", "|" + "---|" * len(columns)]
    for r in rows:
        lines.append("| " + " | ".join(_cell(r, key).replace("|", "/") for _, key in columns) + " |")
    return "\n".join(lines)


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
    "problem", "layout", "setting", "shards", "solver", "variant", "rebalance", "fit_intercept", "status", "reason", "reps",
    "wall", "wall_runs", "n_iter", "converged", "stop", "rounds", "round_trips", "computes", "paper_bytes",
    "bytes_sent", "bytes_received", "worker_bytes", "wire_bytes", "bytes_moved", "X_nbytes", "moved_over_X",
    "disagreement", "rebalanced", "mixed", "mixed_at", "case4", "objective", "f_best", "rel_gap", "grad_norm",
    "x_shuffled_rounds", "x_shuffled_round_trips", "x_daskml_round_trips",
]


def write_csv(path, rows):
    write_rows(path, rows, CSV_COLUMNS)
