"""The audit's two plots (PNG, matplotlib's Agg backend, imported only here).

1. Indicator by token id, coloured by verdict: where the suspicious tokens sit.
2. Indicator against the verified max probability (log scale) with the 0.01 line:
   how well the indicator ranks what verification confirms.
Files carry no timestamps, so the same audit gives the same bytes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from auditor.core import MissingExtraError, UserError

_COLOURS = {
    "under-trained": "#d62728",
    "ok": "#2ca02c",
    "candidate": "#ff7f0e",
    "reference": "#9467bd",
    "other": "#7f7f7f",
}


def _group(t: dict[str, Any]) -> str:
    if t["verdict"] in ("under-trained", "ok", "candidate"):
        return t["verdict"]
    if t["reference"]:
        return "reference"
    return "other"


def write_plots(report: dict[str, Any], folder: str | Path) -> list[Path]:
    """Write the plots of an audit report (audit_dict) into `folder`; returns the files."""
    try:
        import matplotlib

        matplotlib.use("Agg", force=True)
        import matplotlib.pyplot as plt
    except ImportError:
        raise MissingExtraError("--plots", "matplotlib", "model") from None
    model = report.get("model")
    if not model or "indicator" not in model:
        raise UserError("--plots: no indicators were computed (the model rules M104/M105 are not selected)")
    out = Path(folder)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"{folder}: cannot create the plot folder ({exc.strerror})") from None
    tokens = [t for t in report["tokens"] if t["indicator"] is not None]
    name = "/".join(Path(model["path"]).parts[-2:])  # "tiny_model/model" says more than "model"
    written = []
    meta = {"Software": None}

    fig, ax = plt.subplots(figsize=(10, 4.5), dpi=100)
    for name in ("other", "reference", "ok", "candidate", "under-trained"):
        pts = [t for t in tokens if _group(t) == name]
        if pts:
            size = 2 if name == "other" else 8
            ax.scatter(
                [t["token_id"] for t in pts],
                [t["indicator"] for t in pts],
                s=size,
                c=_COLOURS[name],
                label=f"{name} ({len(pts)})",
                linewidths=0,
                rasterized=True,
            )
    if model.get("threshold") is not None:
        ax.axhline(model["threshold"], color="#444444", lw=0.8, ls="--", label="candidate cutoff")
    ax.set_xlabel("token id")
    ax.set_ylabel(f"indicator ({model['indicator']}; low = suspicious)")
    ax.set_title(f"{name}: indicator by token id")
    ax.legend(loc="best", fontsize=8, markerscale=2)
    fig.tight_layout()
    path = out / "indicator_by_token.png"
    _save(fig, path, meta)
    plt.close(fig)
    written.append(path)

    verified = [t for t in tokens if t["max_prob"] is not None]
    if verified:
        fig, ax = plt.subplots(figsize=(7, 5), dpi=100)
        for name in ("ok", "under-trained"):
            pts = [t for t in verified if t["verdict"] == name]
            if pts:
                ax.scatter(
                    [t["indicator"] for t in pts],
                    [max(t["max_prob"], 1e-12) for t in pts],
                    s=10,
                    c=_COLOURS[name],
                    label=f"{name} ({len(pts)})",
                    linewidths=0,
                )
        threshold = (model.get("verification") or {}).get("threshold", 0.01)
        ax.axhline(threshold, color="#444444", lw=0.8, ls="--", label=f"max prob = {threshold:g}")
        ax.set_yscale("log")
        ax.set_xlabel(f"indicator ({model['indicator']})")
        ax.set_ylabel("max probability of repeating the token")
        ax.set_title(f"{name}: indicator vs verification")
        ax.legend(loc="best", fontsize=8)
        fig.tight_layout()
        path = out / "indicator_vs_max_prob.png"
        _save(fig, path, meta)
        plt.close(fig)
        written.append(path)
    return written


def _save(fig: Any, path: Path, meta: dict[str, Any]) -> None:
    import io

    from auditor.atomic import write_bytes_atomic

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata=meta)
    write_bytes_atomic(path, buffer.getvalue())
