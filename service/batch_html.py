"""The HTML report of a batch (`linli batch … --report FILE.html`).

One self-contained page: the overview, and the workbook's three charts (segments, seats
against demand, indicators against targets) drawn with matplotlib and embedded as base64
PNG, each followed by its table. Charts use the object API (`Figure`), never pyplot, so
reports can be drawn from several threads of the HTTP service.
"""

from __future__ import annotations

import base64
import html
import io
import logging
from functools import cache
from pathlib import Path

from matplotlib import font_manager
from matplotlib.figure import Figure

from service.batch_io import atomic_path
from service.batch_report import item_name, item_totals, kind_label, segment_name, text
from service.batch_run import BatchData

logger = logging.getLogger(__name__)

CJK_FONTS = ("WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "Noto Sans CJK SC", "Source Han Sans SC",
             "Microsoft YaHei", "SimHei", "PingFang SC")


@cache
def cjk_font() -> str | None:
    """Return the first installed font that has Chinese glyphs, or None."""
    installed = {f.name for f in font_manager.fontManager.ttflist}
    found = next((name for name in CJK_FONTS if name in installed), None)
    if found is None:
        logger.warning("no Chinese font found for report charts (tried %s); chart labels fall back to English",
                       ", ".join(CJK_FONTS))
    return found


def chart_lang(lang: str) -> str:
    """Chinese chart labels need a Chinese font; without one the charts are labelled in English."""
    return lang if lang == "en" or cjk_font() else "en"


def _figure(categories: int) -> Figure:
    return Figure(figsize=(7.5, max(3.0, 0.35 * categories + 1.5)), dpi=100, layout="constrained")


def _png(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _font_kwargs() -> dict:
    font = cjk_font()
    return {"fontfamily": font} if font else {}


def segments_chart(batch: BatchData, lang: str) -> str:
    lang = chart_lang(lang)
    ordered = sorted(batch.summary.segments.items(), key=lambda kv: (-kv[1], kv[0]))
    figure = _figure(len(ordered))
    axes = figure.add_subplot()
    names = [segment_name(batch, s, lang) for s, _ in ordered]
    axes.barh(range(len(ordered)), [c for _, c in ordered], color="#4472C4")
    axes.set_yticks(range(len(ordered)), names, **_font_kwargs())
    axes.invert_yaxis()
    axes.set_xlabel(text(lang, "households"), **_font_kwargs())
    axes.set_title(text(lang, "chart_segments"), **_font_kwargs())
    return _png(figure)


def items_chart(batch: BatchData, lang: str) -> str:
    lang = chart_lang(lang)
    rows = item_totals(batch.allocation)
    figure = _figure(len(rows))
    axes = figure.add_subplot()
    names = [item_name(batch, item_id, lang) for _, item_id, *_ in rows]
    positions = range(len(rows))
    width = 0.27
    series = (("seats", [r[2] or 0 for r in rows], "#A5A5A5"), ("demand", [r[3] for r in rows], "#ED7D31"),
              ("assigned_n", [r[4] for r in rows], "#4472C4"))
    for offset, (key, values, color) in enumerate(series):
        axes.barh([p + (offset - 1) * width for p in positions], values, height=width, color=color,
                  label=text(lang, key))
    axes.set_yticks(list(positions), names, **_font_kwargs())
    axes.invert_yaxis()
    axes.legend(prop={"family": cjk_font()} if cjk_font() else None)
    axes.set_title(text(lang, "chart_items"), **_font_kwargs())
    return _png(figure)


def indicators_chart(batch: BatchData, lang: str) -> str:
    lang = chart_lang(lang)
    results = batch.summary.indicators
    figure = _figure(len(results))
    axes = figure.add_subplot()
    names = [(r.indicator.name_en if lang == "en" else r.indicator.name) for r in results]
    positions = range(len(results))
    axes.barh([p - 0.2 for p in positions], [r.share for r in results], height=0.4, color="#4472C4",
              label=text(lang, "actual"))
    axes.barh([p + 0.2 for p in positions], [r.indicator.target or 0 for r in results], height=0.4,
              color="#A5A5A5", label=text(lang, "target"))
    axes.set_yticks(list(positions), names, **_font_kwargs())
    axes.invert_yaxis()
    axes.set_xlim(0, 1)
    axes.xaxis.set_major_formatter(lambda value, _: f"{value:.0%}")
    axes.legend(prop={"family": cjk_font()} if cjk_font() else None)
    axes.set_title(text(lang, "chart_indicators"), **_font_kwargs())
    return _png(figure)


def write_html_report(batch: BatchData, path: Path, lang: str) -> None:
    """Write the report page atomically."""
    page = render_report(batch, lang)
    with atomic_path(path) as temporary:
        temporary.write_text(page, encoding="utf-8")


def render_report(batch: BatchData, lang: str) -> str:
    summary = batch.summary
    e = html.escape
    overview = [("source", summary.source.name), ("rows", summary.rows), ("planned", summary.planned),
                ("failed", summary.failed), ("blank", summary.blank_rows), ("communities", len(summary.communities)),
                ("version", summary.ruleset_version), ("seats_total", summary.seats), ("waitlisted", summary.waitlisted),
                ("over_limit", summary.over_limit)]
    parts = [f"<h1>{e(text(lang, 'report_title'))}</h1>", f"<h2>{e(text(lang, 'overview'))}</h2>",
             _table([], [[text(lang, k), v] for k, v in overview])]

    if summary.segments:
        rows = [[segment_name(batch, s, lang), c, f"{c / summary.planned:.1%}"]
                for s, c in sorted(summary.segments.items(), key=lambda kv: (-kv[1], kv[0]))]
        parts += [f"<h2>{e(text(lang, 'segments'))}</h2>", _image(segments_chart(batch, lang), text(lang, "chart_segments")),
                  _table([text(lang, k) for k in ("segment", "households", "share")], rows)]

    totals = item_totals(batch.allocation)
    if totals:
        rows = [[item_name(batch, i, lang), kind_label(k, lang), text(lang, "unlimited") if s is None else s, d, a, w]
                for k, i, s, d, a, w in totals]
        parts += [f"<h2>{e(text(lang, 'items'))}</h2>", _image(items_chart(batch, lang), text(lang, "chart_items")),
                  _table([text(lang, k) for k in ("item", "kind", "seats", "demand", "assigned_n", "waiting_n")], rows)]

    if summary.indicators:
        rows = [[r.indicator.name_en if lang == "en" else r.indicator.name, r.households, f"{r.share:.1%}",
                 "" if r.indicator.target is None else f"{r.indicator.target:.0%}",
                 text(lang, "no_target") if r.reached is None else text(lang, "yes" if r.reached else "no")]
                for r in summary.indicators]
        parts += [f"<h2>{e(text(lang, 'indicators'))}</h2>",
                  _image(indicators_chart(batch, lang), text(lang, "chart_indicators")),
                  _table([text(lang, k) for k in ("indicator", "households", "share", "target", "reached")], rows)]

    body = "\n".join(parts)
    html_lang = "en" if lang == "en" else "zh-CN"
    return (f"<!DOCTYPE html>\n<html lang=\"{html_lang}\"><head><meta charset=\"utf-8\">"
            f"<title>{e(text(lang, 'report_title'))}</title><style>{STYLE}</style></head>\n<body>\n{body}\n</body></html>\n")


def _image(png: str, alt: str) -> str:
    return f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{png}"></figure>'


def _table(headers: list[str], rows: list[list[object]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table>{'<thead><tr>' + head + '</tr></thead>' if headers else ''}<tbody>{body}</tbody></table>"


STYLE = ("body{font-family:'Noto Sans CJK SC','Microsoft YaHei',sans-serif;margin:2em;max-width:60em}"
         "table{border-collapse:collapse;margin:0.5em 0 1.5em}td,th{border:1px solid #ccc;padding:0.25em 0.6em}"
         "th{background:#DDEBF7}img{max-width:100%}")
