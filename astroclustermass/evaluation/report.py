"""The benchmark report: Table 3 and Figure 4 of Ho et al. (2023) for this data.

`write_report` writes, into one directory,

* ``report.md`` and ``report.html`` — the comparison table with the papers'
  numbers beside ours, the figures, the run configuration, timings and
  package versions;
* ``table3.ecsv`` and ``table3.tex`` — the comparison table, with bootstrap
  standard errors of scatter, bias and coverage;
* ``calibration.ecsv`` and ``calibration_bins.ecsv`` — coverage, width, PIT
  KS, CRPS and NLL of every estimator with intervals, and its coverage per
  bin of true mass, redshift and exposure;
* ``figures/*.png`` — Fig. 4-style predictions, Fig. 3 residual correlations,
  calibration (coverage/PIT) of models with a per-cluster σ, bias per mass bin,
  a reliability plot (coverage vs nominal, per mass bin) per estimator with intervals;
* ``predictions/<model>.ecsv`` — the out-of-fold predictions of every model.

Examples
--------
>>> import tempfile
>>> from astroclustermass.estimators import MassPrediction
>>> p = MassPrediction.from_arrays(range(4), [0.1] * 4, [14.0, 14.2, 14.5, 14.9], 0.1,
...                                truth=[14.1, 14.2, 14.4, 14.9], estimator="multiband_cnn")
>>> out = write_report(tempfile.mkdtemp(), predictions={"multiband_cnn": p})
>>> out.name
'report.md'
"""

from __future__ import annotations

import html
import json
import platform
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from astropy.table import Table, vstack

from .._utils import atomic_write
from ..exceptions import EmptyInputError, InputError, MissingColumnError
from ..version import __version__
from ._paper import canonical_observables, paper_best_combination, paper_reference
from .bootstrap import bootstrap_errors
from .calibration import calibration_table
from .metrics import compare, dex_to_percent, has_per_cluster_sigma, to_markdown

__all__ = ["write_report", "benchmark_table"]

#: Columns of the combined table, in order.
TABLE_COLUMNS = [
    "section",
    "model",
    "method",
    "n",
    "scatter_dex",
    "scatter_se_dex",
    "scatter_percent",
    "bias_dex",
    "bias_se_dex",
    "robust_scatter_dex",
    "mean_sigma_dex",
    "coverage_68",
    "coverage_68_se",
    "coverage_95",
    "coverage_95_se",
    "paper_dex",
    "paper_percent",
    "paper_source",
]

_HEADERS = {
    "section": "section",
    "model": "model",
    "method": "method",
    "n": "N",
    "scatter_dex": "scatter (dex)",
    "scatter_se_dex": "± scatter",
    "scatter_percent": "scatter (%)",
    "bias_dex": "bias (dex)",
    "bias_se_dex": "± bias",
    "robust_scatter_dex": "robust σ (dex)",
    "mean_sigma_dex": "mean σ̂ (dex)",
    "coverage_68": "cov. 68%",
    "coverage_68_se": "± cov. 68%",
    "coverage_95": "cov. 95%",
    "coverage_95_se": "± cov. 95%",
    "paper_dex": "paper (dex)",
    "paper_percent": "paper (%)",
    "paper_source": "paper source",
}

_FORMATS = {
    "scatter_dex": ".4f",
    "scatter_se_dex": ".4f",
    "bias_se_dex": ".4f",
    "coverage_68_se": ".3f",
    "coverage_95_se": ".3f",
    "scatter_percent": ".2f",
    "bias_dex": "+.4f",
    "robust_scatter_dex": ".4f",
    "mean_sigma_dex": ".4f",
    "coverage_68": ".3f",
    "coverage_95": ".3f",
    "paper_dex": ".4f",
    "paper_percent": ".2f",
}


def _as_dict(predictions: Any) -> dict[str, Any]:
    if predictions is None:
        return {}
    if isinstance(predictions, Mapping):
        return {str(k): v for k, v in predictions.items()}
    out: dict[str, Any] = {}
    for i, p in enumerate(predictions):
        meta = getattr(p, "meta", {}) or {}
        out[str(meta.get("name") or meta.get("estimator") or f"model_{i}")] = p
    return out


def benchmark_table(
    proxy_table: Table | None = None,
    predictions: Mapping[str, Any] | Sequence[Any] | None = None,
    n_boot: int = 300,
    paper: bool = True,
) -> Table:
    """Combine Eq. 7 proxy scatters and cross-validated models into one Table 3.

    Cross-validated rows carry bootstrap (over clusters, ``n_boot``
    resamples; `bootstrap_errors`) standard errors of scatter, bias and
    coverage (``*_se`` columns), so that differences smaller than them are
    not read as a ranking.

    Parameters
    ----------
    proxy_table : astropy.table.Table, optional
        Scatter of scalar proxies from Eq. 7, one row per observable or
        combination: columns ``model`` and ``scatter_dex``, optionally
        ``section`` (e.g. ``"ideal"``, ``"realistic"``, ``"ideal combination"``)
        and ``n``.
    predictions : mapping name → MassPrediction, or sequence
        Out-of-fold predictions of cross-validated models.
    n_boot : int
        Bootstrap resamples of the standard errors.
    paper : bool
        Whether to put Ho et al. (2023)'s numbers beside ours (the
        ``paper_*`` columns): right on the built-in mock, misleading on other
        data.

    Returns
    -------
    astropy.table.Table
        Columns `TABLE_COLUMNS` (without ``paper_*`` if not ``paper``); NaN
        where a number does not apply.

    Examples
    --------
    >>> from astropy.table import Table
    >>> t = benchmark_table(Table({"model": ["n_phot_500c"], "scatter_dex": [0.15]}))
    >>> str(t["section"][0]), float(t["paper_dex"][0])
    ('proxy', 0.1479)
    """
    parts = []
    if proxy_table is not None and len(proxy_table):
        for col in ("model", "scatter_dex"):
            if col not in proxy_table.colnames:
                raise MissingColumnError(
                    f"the proxy table needs a column {col!r}; it has {proxy_table.colnames}"
                )
        rows = Table()
        n = len(proxy_table)
        rows["section"] = (
            [str(s) for s in proxy_table["section"]]
            if "section" in proxy_table.colnames
            else ["proxy"] * n
        )
        rows["model"] = [str(m) for m in proxy_table["model"]]
        rows["method"] = ["Eq. 7"] * n
        rows["n"] = (
            np.asarray(proxy_table["n"], dtype=int) if "n" in proxy_table.colnames else [-1] * n
        )
        sd = np.asarray(proxy_table["scatter_dex"], dtype=float)
        rows["scatter_dex"] = sd
        rows["scatter_percent"] = dex_to_percent(sd)
        for col in TABLE_COLUMNS:
            if col not in rows.colnames and not col.startswith("paper_"):
                rows[col] = np.full(n, np.nan)
        refs = [_proxy_reference(s, m) for s, m in zip(rows["section"], rows["model"])]
        rows["paper_dex"] = [r["dex"] if r else np.nan for r in refs]
        rows["paper_percent"] = [r["percent"] if r else np.nan for r in refs]
        rows["paper_source"] = [r["source"] if r else "" for r in refs]
        parts.append(rows[TABLE_COLUMNS])
    preds = _as_dict(predictions)
    if preds:
        cv = compare(*preds.values(), names=list(preds), paper=True)
        cv["section"] = ["cross-validated"] * len(cv)
        cv["method"] = ["out-of-fold"] * len(cv)
        errors = [
            bootstrap_errors(p, n_boot=n_boot, seed=0, with_coverage=has_per_cluster_sigma(p))
            for p in preds.values()
        ]
        for col in ("scatter_se_dex", "bias_se_dex", "coverage_68_se", "coverage_95_se"):
            key = col.replace("_se_dex", "_dex_se")
            cv[col] = [e[key] for e in errors]
        parts.append(cv[TABLE_COLUMNS])
    if not parts:
        raise EmptyInputError("nothing to tabulate: give a proxy table and/or predictions")
    table = vstack(parts, join_type="exact", metadata_conflicts="silent")
    if not paper:
        table.remove_columns([c for c in table.colnames if c.startswith("paper_")])
    for col, fmt in _FORMATS.items():
        if col not in table.colnames:
            continue
        table[col].format = fmt
        table[col].unit = None
    return table


def _proxy_reference(section: str, model: str) -> dict | None:
    """The paper's row for a proxy: the same observables, else Table 3's best of that size."""
    ref = paper_reference(model)
    if ref is not None or not section.endswith("combination"):
        return ref
    obs = canonical_observables(model)
    best = paper_best_combination(section, len(obs)) if obs else None
    if best is not None:
        best = dict(best, source=f"{best['source']}, best of {len(obs)}: {best['label']}")
    return best


# ------------------------------------------------------------------ rendering
def _cell(value: Any, fmt: str | None) -> str:
    if isinstance(value, (float, np.floating)):
        if not np.isfinite(value):
            return "–"
        return format(float(value), fmt or ".4g")
    if isinstance(value, (int, np.integer)) and int(value) < 0:
        return "–"
    return str(value)


def _display(table: Table) -> Table:
    out = Table()
    for col in table.colnames:
        out[_HEADERS.get(col, col)] = [_cell(v, table[col].format) for v in table[col]]
    return out


def _html_table(table: Table) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.colnames)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(row[c]))}</td>" for c in table.colnames) + "</tr>"
        for row in table
    )
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>{body}</tbody>\n</table>"


def _inline_html(text: str) -> str:
    text = html.escape(text)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", text)


def _render(blocks: list[tuple[str, Any]]) -> tuple[str, str]:
    md: list[str] = []
    body: list[str] = []
    for kind, value in blocks:
        if kind in ("h1", "h2"):
            md.append(("# " if kind == "h1" else "## ") + value)
            body.append(f"<{kind}>{html.escape(value)}</{kind}>")
        elif kind == "p":
            md.append(value)
            body.append(f"<p>{_inline_html(value)}</p>")
        elif kind == "ul":
            md.append("\n".join(f"- {item}" for item in value))
            body.append("<ul>" + "".join(f"<li>{_inline_html(i)}</li>" for i in value) + "</ul>")
        elif kind == "table":
            disp = _display(value)
            md.append(to_markdown(disp))
            body.append(_html_table(disp))
        elif kind == "img":
            rel, alt = value
            md.append(f"![{alt}]({rel})")
            body.append(
                f'<figure><img src="{html.escape(rel)}" alt="{html.escape(alt)}">'
                f"<figcaption>{html.escape(alt)}</figcaption></figure>"
            )
        elif kind == "pre":
            md.append("```\n" + value + "\n```")
            body.append(f"<pre>{html.escape(value)}</pre>")
    style = (
        "body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse;font-size:0.9em}td,th{border:1px solid #ccc;"
        "padding:2px 6px;text-align:right}th{background:#eee}img{max-width:100%}"
        "pre{background:#f6f6f6;padding:0.5em;overflow-x:auto}"
    )
    page = (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>astroclustermass report"
        f"</title><style>{style}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )
    return "\n\n".join(md) + "\n", page


def _latex(table: Table) -> str:
    def esc(text: str) -> str:
        text = str(text)
        for a, b in (
            ("\\", r"\textbackslash{}"),
            ("_", r"\_"),
            ("%", r"\%"),
            ("&", r"\&"),
            ("#", r"\#"),
            ("σ̂", r"$\hat\sigma$"),
            ("σ", r"$\sigma$"),
            ("–", "--"),
        ):
            text = text.replace(a, b)
        return text

    disp = _display(table)
    lines = [
        r"\begin{tabular}{" + "l" * 3 + "r" * (len(disp.colnames) - 3) + "}",
        r"\hline",
        " & ".join(esc(c) for c in disp.colnames) + r" \\",
        r"\hline",
    ]
    lines += [" & ".join(esc(row[c]) for c in disp.colnames) + r" \\" for row in disp]
    lines += [r"\hline", r"\end{tabular}", ""]
    return "\n".join(lines)


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.+-]+", "_", name).strip("_") or "model"


def _write_text(path: Path, text: str) -> None:
    with atomic_write(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _write_table(table: Table, path: Path, fmt: str) -> None:
    with atomic_write(path) as tmp:
        table.write(tmp, format=fmt, overwrite=True)


def _versions() -> dict[str, str]:
    import astropy
    import scipy

    out = {
        "astroclustermass": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "astropy": astropy.__version__,
    }
    try:
        import torch

        out["torch"] = torch.__version__
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    out["machine"] = f"{platform.system()} {platform.machine()}"
    return out


# ------------------------------------------------------------------ the report
def write_report(
    out_dir: str | Path,
    *,
    predictions: Mapping[str, Any] | Sequence[Any] | None = None,
    proxy_table: Table | None = None,
    correlation: tuple[Any, Sequence[str], int | None] | None = None,
    config: Mapping[str, Any] | None = None,
    timings: Mapping[str, float] | None = None,
    notes: Sequence[str] = (),
    figure_models: Sequence[str] | None = None,
    title: str = "astroclustermass benchmark",
    alerts: Sequence[str] = (),
    paper: bool = True,
    proxy_r500c: str | None = None,
) -> Path:
    """Write the benchmark report (Markdown + HTML, tables, figures, predictions).

    Parameters
    ----------
    out_dir : path-like
        Output directory (created).
    predictions : mapping name → MassPrediction, or sequence
        Out-of-fold predictions of every cross-validated model; each is saved
        as ``predictions/<name>.ecsv``.
    proxy_table : astropy.table.Table, optional
        Eq. 7 scatter of scalar proxies (see `benchmark_table`).
    correlation : (matrix, names, n_ideal), optional
        Residual correlation matrix of the scalar observables (Fig. 3).
    config : mapping, optional
        Run configuration (JSON-safe), shown in the report and saved as
        ``config.json``.
    timings : mapping stage → seconds, optional
    notes : sequence of str
        Extra remarks (listed under "Notes").
    figure_models : sequence of str, optional
        Which predictions the Fig. 4-style plot shows (default: all).
    title : str
    alerts : sequence of str
        What a reader must know before reading the table (e.g. folds that
        fell back from octants), shown first under "Read this first".
    paper : bool
        Put Ho et al. (2023)'s numbers beside ours (the built-in mock only).
    proxy_r500c : str, optional
        Which R500c the Eq. 7 rows' R500c-scaled observables used, in words.

    Returns
    -------
    pathlib.Path
        The path of ``report.md``.

    Examples
    --------
    >>> import tempfile
    >>> from astropy.table import Table
    >>> d = tempfile.mkdtemp()
    >>> _ = write_report(d, proxy_table=Table({"model": ["T"], "scatter_dex": [0.05]}))
    >>> sorted(p.name for p in __import__("pathlib").Path(d).iterdir())[:3]
    ['report.html', 'report.md', 'table3.ecsv']
    """
    out = Path(out_dir)
    preds = _as_dict(predictions)
    table = benchmark_table(proxy_table, preds, paper=paper)
    out.mkdir(parents=True, exist_ok=True)
    figdir = out / "figures"
    blocks: list[tuple[str, Any]] = [("h1", title)]
    r500c = f", with {proxy_r500c} for the R500c-scaled observables" if proxy_r500c else ""
    reference = (
        "The paper's numbers come from the Magneticum mocks of Ho et al. (2023) and are "
        "shown for orientation only: they are not the same data."
        if paper
        else "These are not the paper's mocks, so its numbers are not shown."
    )
    blocks.append(
        (
            "p",
            f"astroclustermass {__version__}. Scatter is the standard deviation of "
            "ε = log10(M_pred/M_true) (ddof=0) in dex and in per cent as σ_lnM = ln(10)·σ_dex; "
            "bias is the mean of ε. Proxy rows (method `Eq. 7`) give the predictive scatter "
            "of Ho et al. (2023) Eq. 7, **in-sample**: the relation is fitted and scored on "
            f"the same clusters{r500c}. Cross-validated rows are out-of-fold predictions. "
            + reference,
        )
    )
    if alerts:
        blocks += [("h2", "Read this first"), ("ul", [f"**{a}**" for a in alerts])]
    blocks += [
        ("h2", "Table 3: residual scatter"),
        ("table", table),
        (
            "p",
            "± columns: bootstrap standard errors (300 resamples of the clusters); "
            "differences smaller than about twice them are not a ranking.",
        ),
    ]
    calibration, calibration_bins = calibration_table(preds) if preds else (Table(), Table())
    if len(calibration):
        blocks += [
            ("h2", "Calibration of the intervals"),
            (
                "p",
                "Out-of-fold coverage of the central 68/90/95% intervals (the estimator's "
                "interval columns, else the Gaussian μ ± zσ), bootstrap errors, mean widths "
                "(dex: a trivially wide interval covers everything), the largest miss over "
                "5 true-mass bins, the KS distance of the PIT from uniform, CRPS and mean "
                "Gaussian NLL. `flags` lists the levels whose coverage misses nominal by "
                "more than the binomial 2σ for that N; per-bin numbers are in "
                "`calibration_bins.ecsv`.",
            ),
            ("table", calibration),
        ]

    from .plots import (
        plot_coverage,
        plot_mass_bin_bias,
        plot_predictions,
        plot_reliability,
        plot_residual_correlation,
    )

    figures = []
    if preds:
        names = list(figure_models) if figure_models is not None else list(preds)
        unknown = [n for n in names if n not in preds]
        if unknown:
            raise InputError(f"figure_models {unknown} are not among the predictions {list(preds)}")
        plot_predictions(
            *[preds[n] for n in names], names=names, path=figdir / "fig4_predictions.png"
        )
        figures.append(
            (
                "figures/fig4_predictions.png",
                "Figure 4: median and 16-84% of predicted vs true mass, residuals, "
                "and true-mass histogram",
            )
        )
        plot_mass_bin_bias(*preds.values(), names=list(preds), path=figdir / "mass_bin_bias.png")
        figures.append(
            (
                "figures/mass_bin_bias.png",
                "Mean residual per true-mass bin (Krippendorf et al. 2023 Fig. 5)",
            )
        )
        calibrated = [n for n, p in preds.items() if has_per_cluster_sigma(p)]
        if calibrated:
            plot_coverage(
                *[preds[n] for n in calibrated], names=calibrated, path=figdir / "coverage.png"
            )
            figures.append(
                (
                    "figures/coverage.png",
                    "Calibration of the per-cluster sigma: interval coverage and PIT",
                )
            )
        for name in calibration["model"] if len(calibration) else []:
            rel = f"figures/reliability_{_safe_name(str(name))}.png"
            plot_reliability(preds[str(name)], name=str(name), path=out / rel)
            figures.append(
                (rel, f"{name}: coverage against nominal level, overall and per true-mass bin")
            )
    if correlation is not None:
        matrix, corr_names, n_ideal = correlation
        plot_residual_correlation(
            matrix, corr_names, figdir / "fig3_residual_correlation.png", n_ideal=n_ideal
        )
        figures.append(
            (
                "figures/fig3_residual_correlation.png",
                "Figure 3: residual correlation of the scalar observables",
            )
        )
    if figures:
        blocks.append(("h2", "Figures"))
        blocks += [("img", f) for f in figures]

    if preds:
        (out / "predictions").mkdir(exist_ok=True)
        files = []
        for name, pred in preds.items():
            rel = f"predictions/{_safe_name(name)}.ecsv"
            _write_table(pred, out / rel, "ascii.ecsv")
            files.append(f"`{rel}` ({name}, {len(pred)} clusters)")
        blocks += [("h2", "Out-of-fold predictions"), ("ul", files)]
    if timings:
        t = Table({"stage": list(timings), "seconds": [float(v) for v in timings.values()]})
        t["seconds"].format = ".1f"
        total = float(sum(timings.values()))
        blocks += [("h2", "Timings"), ("table", t), ("p", f"Total: {total:.1f} s.")]
    if config:
        text = json.dumps(dict(config), indent=2, default=str)
        _write_text(out / "config.json", text + "\n")
        blocks += [("h2", "Configuration"), ("pre", text)]
    blocks += [("h2", "Versions"), ("pre", json.dumps(_versions(), indent=2))]
    if notes:
        blocks += [("h2", "Notes"), ("ul", list(notes))]

    _write_table(table, out / "table3.ecsv", "ascii.ecsv")
    if len(calibration):
        _write_table(calibration, out / "calibration.ecsv", "ascii.ecsv")
        _write_table(calibration_bins, out / "calibration_bins.ecsv", "ascii.ecsv")
    _write_text(out / "table3.tex", _latex(table))
    md, page = _render(blocks)
    _write_text(out / "report.html", page)
    _write_text(out / "report.md", md)
    return out / "report.md"
