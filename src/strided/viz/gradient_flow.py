"""Gradient flow pictures from ``strided.train.GradientStats``: how large each layer's
gradient is, step by step, and how much each step changes the weights — where a deep
sigmoid network's early layers stop learning, and a ReLU/He network's do not."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .figure import finish, pyplot

__all__ = ["gradient_table", "plot_gradient_flow"]


def gradient_table(stats: Any) -> dict:
    """``{"layers": [...], "records": [...], ...}`` from a ``GradientStats``, its
    ``to_dict()``, a ``grad_stats.json`` file or a run folder holding one.

    Parameters
    ----------
    stats : GradientStats, dict, str or PathLike
        A ``GradientStats``, its ``to_dict()``, a ``grad_stats.json`` file or a run folder
        holding one.
    """
    if hasattr(stats, "to_dict"):
        return stats.to_dict()
    if isinstance(stats, dict):
        return stats
    from ..train.gradient_stats import load_gradient_stats

    return load_gradient_stats(Path(stats))


def _series(records: list, layer: str, column: str) -> tuple[np.ndarray, np.ndarray]:
    rows = [r for r in records if r["layer"] == layer and r.get(column) not in (None, "")]
    return (
        np.array([r["step"] for r in rows]),
        np.array([float(r[column]) for r in rows], dtype=np.float64),
    )


def plot_gradient_flow(stats: Any, *, path: str | os.PathLike | None = None) -> Any:
    """Four panels: gradient norm per layer against step (log scale, colour by depth); the
    mean gradient norm of each layer (first layer left); the update/weight ratio against
    step; the fraction of dead ReLUs or saturated sigmoids per activation layer.

    Parameters
    ----------
    stats : GradientStats, dict, str or PathLike
        A ``GradientStats``, its ``to_dict()``, a ``grad_stats.json`` file or a run folder
        holding one.
    path : str or PathLike or None
        Also save the figure there (atomically) when given.
    """
    plt = pyplot()
    table = gradient_table(stats)
    records = table["records"]
    layers = table.get("layers") or list(
        dict.fromkeys(r["layer"] for r in records if r.get("grad_norm") not in (None, ""))
    )
    if not records or not layers:
        raise ValueError("plot_gradient_flow: no gradient statistics recorded yet")
    colours = plt.get_cmap("viridis")(np.linspace(0, 0.9, len(layers)))
    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    (ax_g, ax_bar), (ax_u, ax_act) = axes
    means = []
    for layer, c in zip(layers, colours, strict=False):
        steps, g = _series(records, layer, "grad_norm")
        means.append(g[g > 0].mean() if np.any(g > 0) else np.nan)
        ax_g.plot(steps, np.maximum(g, 1e-30), color=c, lw=1, label=layer)
        steps, u = _series(records, layer, "update_ratio")
        if len(u):
            ax_u.plot(steps, np.maximum(u, 1e-30), color=c, lw=1)
    for ax, title in (
        (ax_g, "gradient norm ‖∂L/∂θ‖ per layer"),
        (ax_u, "update / weight ‖Δθ‖/‖θ‖"),
    ):
        ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_title(title)
        ax.grid(alpha=0.3, which="both")
    if table.get("low"):
        ax_g.axhline(float(table["low"]), color="red", ls=":", lw=1)
    if table.get("high"):
        ax_g.axhline(float(table["high"]), color="red", ls=":", lw=1)
    if len(layers) <= 12:
        ax_g.legend(fontsize=7, ncol=2)
    ax_bar.bar(range(len(layers)), means, color=colours)
    ax_bar.set_yscale("log")
    ax_bar.set_xticks(range(len(layers)), layers, rotation=90, fontsize=6)
    ax_bar.set_title("mean gradient norm by layer (input side left)")
    ax_bar.grid(alpha=0.3, axis="y", which="both")
    acts = list(
        dict.fromkeys(
            r["layer"]
            for r in records
            if r.get("dead_fraction") not in (None, "")
            or r.get("saturated_fraction") not in (None, "")
        )
    )
    act_colours = plt.get_cmap("plasma")(np.linspace(0, 0.9, max(1, len(acts))))
    for layer, c in zip(acts, act_colours, strict=False):
        for column, ls in (("dead_fraction", "-"), ("saturated_fraction", "--")):
            steps, v = _series(records, layer, column)
            if len(v):
                ax_act.plot(steps, v, color=c, ls=ls, lw=1, label=f"{layer} {column.split('_')[0]}")
    ax_act.set_ylim(-0.02, 1.02)
    ax_act.set_xlabel("step")
    ax_act.set_title(
        "dead ReLUs (—) / saturated sigmoids (--)" if acts else "no activation layers recorded"
    )
    if acts and len(acts) <= 12:
        ax_act.legend(fontsize=7, ncol=2)
    ax_act.grid(alpha=0.3)
    return finish(fig, path)
