"""
==========================================
Rows sorted by label: shards that disagree
==========================================

DINGO averages the shards' local Newton-type directions, so it needs few
rounds only when every shard looks like the whole data. Rows stored class by
class make contiguous shards that disagree. This example fits
``DingoLogisticRegression(n_shards=4)`` on the same rows shuffled and sorted
by label, with each value of ``rebalance`` ("auto", True, False), on dense
and on sparse (CSR) copies of the data, and plots the gradient norm against
communication rounds.

Look at the rounds each setting needs to reach ``tol``: rebalanced shards take the
rounds of shuffled rows; shards that keep sorted rows (``rebalance=False``)
take more, and plain DINGO on them (the correction turned off) many more.
"""

# %%
# The data
# --------
#
# 40,000 rows, 20 standardised features, two classes; the sorted copy has
# every row of class 0 before every row of class 1, so with 4 contiguous
# shards two shards hold only class 0 and two only class 1.
import matplotlib.pyplot as plt
import numpy as np
import scipy.sparse as sp
from sklearn.datasets import make_classification
from sklearn.preprocessing import StandardScaler

from sklearn_dingo import DingoLogisticRegression

X, y = make_classification(n_samples=40_000, n_features=20, n_informative=10, random_state=0)
X = StandardScaler().fit_transform(X)
order = np.argsort(y, kind="stable")
rows = {"shuffled": (X, y), "sorted by label": (X[order], y[order])}
tol = 1e-8


def fit(X, y, **params):
    model = DingoLogisticRegression(n_shards=4, tol=tol, **params).fit(X, y)
    print(
        f"  {params!s:45s} {model.n_iter_[0]:3d} iterations {model.n_communication_rounds_:4d} rounds  "
        f"disagreement {model.shard_disagreement_:.3f}  rebalanced_={model.rebalanced_}  "
        f"rows copied {model.history_['bytes_moved'][-1] / 1e6:.1f} MB"
    )
    return model


# %%
# Dense data in memory
# --------------------
#
# With ``rebalance`` "auto" or True, shard j of dense data takes every 4th
# row, ``X[j::4]``: views, nothing is copied, and sorted rows are rebalanced from
# the start (``rebalanced_`` stays False because nothing moved). With
# ``rebalance=False`` the shards are contiguous blocks of the rows as given:
# the sorted rows' shards disagree (``shard_disagreement_`` about 0.8 against
# 0.04), and DINGO corrects its averaged direction with the curvature of its
# past steps (``case`` 4 in ``history_``). ``secant_memory=0`` turns that
# correction off: plain DINGO.
dense = {}
for name, (X_rows, y_rows) in rows.items():
    print(name)
    for rebalance in ("auto", True, False):
        dense[name, rebalance] = fit(X_rows, y_rows, rebalance=rebalance)
print("sorted by label, plain DINGO")
dense["sorted by label", "plain"] = fit(*rows["sorted by label"], rebalance=False, secant_memory=0)

# %%
# Sparse data in memory
# ---------------------
#
# Every 4th row of a CSR matrix would be a copy, so for sparse data
# ``"auto"`` starts from contiguous blocks (views) and copies the rows into
# rebalanced shards only once the first iteration shows that the shards disagree
# (``rebalanced_`` True, the copy counted in ``bytes_moved``); ``True`` copies
# before the first round; ``False`` never copies.
sparse = {}
for name, (X_rows, y_rows) in rows.items():
    print(name, "(CSR)")
    for rebalance in ("auto", True, False):
        sparse[name, rebalance] = fit(sp.csr_matrix(X_rows), y_rows, rebalance=rebalance)

# %%
# Gradient norm against rounds
# ----------------------------
#
# Each curve ends where the fit reached ``tol`` (dashed line); the number
# there, and in the legend, is the rounds it took. Shuffled rows give the
# same curve for every setting.
styles = {"auto": ("o-", "C0"), True: ("s--", "C1"), False: ("^-", "C2"), "plain": ("v:", "C3")}
label_of = {"auto": 'rebalance="auto"', True: "rebalance=True", False: "rebalance=False",
            "plain": "False, secant_memory=0 (plain DINGO)"}
panels = [
    ("shuffled rows, dense", {k[1]: m for k, m in dense.items() if k[0] == "shuffled"}),
    ("rows sorted by label, dense", {k[1]: m for k, m in dense.items() if k[0] == "sorted by label"}),
    ("rows sorted by label, CSR", {k[1]: m for k, m in sparse.items() if k[0] == "sorted by label"}),
]
fig, axes = plt.subplots(1, 3, figsize=(13, 4.5), sharey=True)
for ax, (title, models) in zip(axes, panels):
    for offset, (setting, model) in enumerate(models.items()):
        style, color = styles[setting]
        rounds, grad_norm = model.history_["rounds"], model.history_["grad_norm"]
        ax.semilogy(rounds, grad_norm, style, color=color, markersize=4,
                    label=f"{label_of[setting]}: {rounds[-1]} rounds")
        ax.annotate(
            str(rounds[-1]), (rounds[-1], grad_norm[-1]), xytext=(-4, -14 - 10 * offset),
            textcoords="offset points", fontsize=8, color=color, fontweight="bold",
        )
    ax.axhline(tol, color="gray", linewidth=0.8, linestyle="--")
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("communication rounds")
    ax.set_xlim(0, 125)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="upper right")
axes[0].set_ylabel("gradient norm ‖∇f‖")
axes[0].set_ylim(tol / 1e3, 1)
fig.suptitle(f"DingoLogisticRegression(n_shards=4, tol={tol:g}), 40,000 × 20")
fig.tight_layout()

# %%
# Which directions did the corrected fit take?
# --------------------------------------------
#
# ``history_["case"]`` per iteration (1-3: DINGO's cases, 4: the corrected
# direction) and ``direction_spread``, the shards' disagreement in that
# iteration.
corrected = dense["sorted by label", False]
print("case:            ", corrected.history_["case"][1:].tolist())
print("direction_spread:", np.round(corrected.history_["direction_spread"][1:], 2).tolist())

plt.show()
