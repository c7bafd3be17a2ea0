"""The report as one self-contained HTML page: inline SVG charts, inline CSS, no script.

The page must open offline, years later, from a copy of the data directory, so
nothing is fetched: pygal renders the bar charts and its script (configuration
and the tooltip loader it points at a CDN) is stripped; hovering a bar still
names its value through an SVG ``<title>``. The coverage grid (sites × months)
is drawn here as plain SVG because pygal has no heat map, and a grid is what
makes a month without articles stand out. Every text that comes from the
catalog (site names, error messages, URLs) is escaped: sites are untrusted.
"""

from __future__ import annotations

from html import escape

import pygal
from lxml import etree
from pygal.style import Style

from archive.report import CrawlFigures, Report

MAX_CRAWLS_CHARTED = 60  # the latest ones; older crawls stay in the catalog
SERIES_COLOURS = ("#2563eb", "#d97706", "#059669", "#db2777", "#7c3aed", "#0891b2", "#65a30d", "#dc2626",
                  "#475569", "#ea580c")
STATUS_COLOURS = {"finished": "#059669", "running": "#2563eb", "interrupted": "#d97706", "failed": "#dc2626"}
CHANGE_COLOURS = ("#059669", "#d97706", "#dc2626")  # new, changed, removed
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Noto Sans', 'DejaVu Sans', sans-serif"
SVG_NS = "http://www.w3.org/2000/svg"
MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

_STYLE = Style(
    background="transparent", plot_background="transparent", foreground="#334155",
    foreground_strong="#0f172a", foreground_subtle="#94a3b8", opacity=".9", opacity_hover="1",
    colors=SERIES_COLOURS, font_family=FONT, label_font_size=12, major_label_font_size=12,
    legend_font_size=13, title_font_size=15, value_font_size=11, no_data_font_size=18,
    guide_stroke_color="#e2e8f0", major_guide_stroke_color="#cbd5e1", transition="120ms ease-in",
)


# -- the page ----------------------------------------------------------------------


def render_html(report: Report, *, title: str = "newsarchive report") -> str:
    """The whole report page; ``report`` from :func:`archive.report.gather`."""
    scope = ("sites " + ", ".join(report.selected_sites)) if report.selected_sites else "all sites"
    sections = [
        _section("Articles per month", "coverage",
                 "Each row is a site, each column a month of publication; darker means more articles "
                 "(each row on its own scale). Red cells are gaps: months without a single article "
                 "between a site's first and last, missed by the crawls or a silent site.",
                 coverage_grid(report) + _older_note(report)),
        _section("Articles published per month", "monthly", "Stacked by site.", monthly_chart(report)),
        _section("Crawl durations", "durations",
                 "Wall-clock time of each crawl, coloured by how it ended: " + _status_legend() + "."
                 + (" A crawl may have covered other sites too." if report.selected_sites else ""),
                 duration_chart(report)),
        _section("Fetch errors per crawl", "errors",
                 "Requests that brought no response back (timeouts, refused connections, DNS)"
                 + (" on the selected sites." if report.selected_sites else "."), errors_chart(report)),
        _section("New, changed and removed articles per crawl", "changes",
                 "What each crawl found compared with the archive before it.", changes_chart(report)),
        _section("Sites", "sites", "", sites_table(report)),
        _section("Crawls", "crawls", f"The latest {min(len(report.crawls), 15)} crawls, newest first.",
                 crawls_table(report)),
        _section("Most frequent errors", "frequent-errors", "Grouped by the words before the first colon.",
                 errors_table(report)),
    ]
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body><main>"
        f"<header><h1>{escape(title)}</h1><p class=\"meta\">{escape(scope)} · generated "
        f"{escape(_when(report.generated_at))} UTC</p></header>"
        f"{_cards(report)}{''.join(sections)}"
        "<footer>Made by <code>newsarchive report</code> from the catalog; one file, no network needed.</footer>"
        "</main></body></html>\n"
    )


def _section(heading: str, anchor: str, caption: str, body: str) -> str:
    note = f"<p class=\"caption\">{caption}</p>" if caption else ""  # captions are ours, not catalog text
    return f"<section id=\"{anchor}\"><h2>{escape(heading)}</h2>{note}{body}</section>"


def _cards(report: Report) -> str:
    last = report.crawls[-1] if report.crawls else None
    cards = [
        ("sites", str(len(report.sites)), ""),
        ("articles", f"{report.total_articles:,}", ""),
        ("months covered", str(report.months_covered),
         f"{report.months[0]} – {report.months[-1]}" if report.months else "no dated articles"),
        ("gap months", str(report.gap_count), "months without articles" if report.gap_count else "none"),
        ("crawls", str(len(report.crawls)), ""),
        ("last crawl", escape(last.status) if last else "none",
         escape(_when(last.started_at)) if last else "no crawls yet"),
    ]
    items = "".join(
        f"<div class=\"card{' alert' if name == 'gap months' and report.gap_count else ''}\">"
        f"<div class=\"value\">{value}</div><div class=\"name\">{name}</div>"
        f"<div class=\"sub\">{escape(sub)}</div></div>" for name, value, sub in cards)
    return f"<div class=\"cards\">{items}</div>"


def _status_legend() -> str:
    return ", ".join(f"<span class=\"swatch\" style=\"background:{colour}\"></span>{status}"
                     for status, colour in STATUS_COLOURS.items())


def _older_note(report: Report) -> str:
    if not report.older_articles:
        return ""
    return (f"<p class=\"note\">{report.older_articles:,} articles published before {escape(report.months[0])} "
            "are counted in the totals but not drawn.</p>")


def _empty(text: str) -> str:
    return f"<div class=\"empty\">{escape(text)}</div>"


# -- the coverage grid (plain SVG) --------------------------------------------------


def coverage_grid(report: Report) -> str:
    """Sites × months; a gap month is red, months outside a site's coverage are blank."""
    if not report.sites or not report.months:
        return _empty("No dated articles yet: crawl a site, then run the report again.")
    months = report.months
    label_width, total_width, row_height, top = 230, 70, 28, 42
    cell = max(5.0, min(56.0, 820 / len(months)))
    # Never narrower than the legend; drawn at its natural size (CSS only shrinks it to fit).
    grid_right = label_width + cell * len(months) + total_width
    width = max(grid_right, label_width + 620)
    height = top + row_height * len(report.sites) + 34
    parts = [(f"<svg xmlns=\"{SVG_NS}\" class=\"grid\" viewBox=\"0 0 {width:.0f} {height}\" width=\"{width:.0f}\" "
              f"height=\"{height}\" role=\"img\" "
              f"aria-label=\"Articles per month per site\" font-family=\"{escape(FONT)}\">")]
    for index, month in enumerate(months):  # year above January (and the first column), month below
        x = label_width + index * cell
        if index == 0 or month.endswith("-01"):
            parts.append(f"<text x=\"{x:.1f}\" y=\"14\" class=\"year\">{month[:4]}</text>")
            if index:
                parts.append(f"<line x1=\"{x - 1:.1f}\" x2=\"{x - 1:.1f}\" y1=\"18\" y2=\"{height - 34}\" "
                             "class=\"year-rule\"/>")
        number = int(month[5:])
        if cell >= 30:
            parts.append(f"<text x=\"{x + cell / 2:.1f}\" y=\"32\" class=\"month\">{MONTH_NAMES[number - 1]}</text>")
        elif cell >= 16 or (cell >= 7 and number % 3 == 1):
            parts.append(f"<text x=\"{x + cell / 2:.1f}\" y=\"32\" class=\"month\">{number}</text>")
    for row, site in enumerate(report.sites):
        y = top + row * row_height
        gaps = set(site.gaps)
        peak = max(site.months.values(), default=1)
        label = site.label if len(site.label) <= 32 else site.label[:31] + "…"
        parts.append(f"<text x=\"{label_width - 10}\" y=\"{y + row_height / 2 + 4:.1f}\" class=\"site\">"
                     f"<title>{escape(site.label)}</title>{escape(label)}</text>")
        for index, month in enumerate(months):
            count = site.months.get(month, 0)
            x = label_width + index * cell
            if month in gaps:
                css, fill, what = "gap", "", "gap: no articles"
            elif count:
                css, fill, what = "has", f" fill=\"{_shade(count / peak)}\"", f"{count} article{'s' * (count != 1)}"
            else:
                css, fill, what = "none", "", "outside the site's coverage"
            parts.append(f"<rect x=\"{x + 1:.1f}\" y=\"{y + 2}\" width=\"{max(cell - 2, 1):.1f}\" "
                         f"height=\"{row_height - 4}\" rx=\"2\" class=\"{css}\"{fill}>"
                         f"<title>{escape(site.label)} · {month}: {what}</title></rect>")
        parts.append(f"<text x=\"{grid_right - 6:.1f}\" y=\"{y + row_height / 2 + 4:.1f}\" class=\"total\">"
                     f"{site.total:,}</text>")
    legend_y = height - 14
    parts.append(
        f"<g class=\"legend\" transform=\"translate({label_width},{legend_y})\">"
        f"<rect width=\"14\" height=\"12\" y=\"-10\" rx=\"2\" fill=\"{_shade(0.15)}\"/>"
        f"<rect x=\"16\" width=\"14\" height=\"12\" y=\"-10\" rx=\"2\" fill=\"{_shade(1)}\"/>"
        "<text x=\"36\">few → many articles</text>"
        "<rect x=\"190\" width=\"14\" height=\"12\" y=\"-10\" rx=\"2\" class=\"gap\"/><text x=\"210\">gap month</text>"
        "<rect x=\"300\" width=\"14\" height=\"12\" y=\"-10\" rx=\"2\" class=\"none\"/>"
        "<text x=\"320\">before the first / after the last article</text></g>")
    parts.append(f"<text x=\"{grid_right - 6:.1f}\" y=\"32\" class=\"total-head\">total</text></svg>")
    return "".join(parts)


def _shade(share: float) -> str:
    """A blue from pale (few articles) to deep (the site's busiest month)."""
    share = min(1.0, max(0.0, share))
    low, high = (191, 219, 254), (30, 64, 175)
    return "#" + "".join(f"{round(a + (b - a) * share):02x}" for a, b in zip(low, high))


# -- pygal charts ------------------------------------------------------------------


def monthly_chart(report: Report) -> str:
    if not report.months:
        return _empty("No dated articles yet.")
    many = len(report.months) > 24  # then one label a year
    chart = _chart(pygal.StackedBar, y_title="articles", x_labels=report.months,
                   x_label_rotation=-45 if len(report.months) > 14 else 0,
                   show_minor_x_labels=not many, x_labels_major_every=12 if many else None)
    names = []
    for site in report.sites[:len(SERIES_COLOURS)]:
        chart.add(site.label, [site.months.get(month, 0) or None for month in report.months])
        names.append(site.label)
    rest = report.sites[len(SERIES_COLOURS):]
    if rest:
        chart.add(f"{len(rest)} more sites", [sum(s.months.get(m, 0) for s in rest) or None for m in report.months])
        names.append(f"{len(rest)} more sites")
    return _svg(chart, names)


def duration_chart(report: Report) -> str:
    crawls = [c for c in _charted(report) if c.duration_seconds is not None]
    if not crawls:
        return _empty("No finished crawls yet.")
    longest = max(c.duration_seconds for c in crawls)
    unit, divisor = ("seconds", 1) if longest < 180 else ("minutes", 60) if longest < 3 * 3600 else ("hours", 3600)
    chart = _chart(pygal.Bar, y_title=unit, show_legend=False, **_crawl_axis(crawls))
    chart.add("duration", [
        {"value": round(c.duration_seconds / divisor, 2), "color": STATUS_COLOURS.get(c.status, "#475569"),
         "label": f"{c.status}, {c.pages:,} pages"} for c in crawls])
    return _svg(chart, ["duration"], unit=unit)


def errors_chart(report: Report) -> str:
    crawls = _charted(report)
    if not crawls:
        return _empty("No crawls yet.")
    if not any(c.errors for c in crawls):
        return _empty(f"No fetch errors in {'this crawl' if len(crawls) == 1 else f'these {len(crawls)} crawls'}.")
    chart = _chart(pygal.Bar, y_title="errors", range=(0, max(4, max(c.errors for c in crawls))), show_legend=False,
                   style=_style(("#dc2626",)), **_crawl_axis(crawls))
    chart.add("fetch errors", [{"value": c.errors, "label": f"of {c.pages:,} pages"} for c in crawls])
    return _svg(chart, ["fetch errors"])


def changes_chart(report: Report) -> str:
    crawls = _charted(report)
    if not crawls:
        return _empty("No crawls yet.")
    if not report.changes_recorded:
        return _empty("Not recorded: this catalog does not count new, changed and removed articles per crawl "
                      "(a newer newsarchive does, from its next crawl on).")
    recorded = [c for c in crawls if c.new is not None]
    if not recorded:
        return _empty("Not recorded for these crawls: they ran before the catalog counted changes.")
    note = ""
    if len(recorded) > 1 and recorded[0] is report.crawls[0]:
        # Everything is new to an empty archive; drawn, that bar would flatten every later one.
        first, recorded = recorded[0], recorded[1:]
        note = (f"<p class=\"note\">The first crawl ({_when(first.started_at)}, {first.new or 0:,} new articles) "
                "is left out: everything is new to an empty archive.</p>")
    if not any((c.new or 0) + (c.changed or 0) + (c.removed or 0) for c in recorded):
        return _empty("No article was new, changed or removed in these crawls.") + note
    names = ["new", "changed", "removed"]
    chart = _chart(pygal.StackedBar, y_title="articles", style=_style(CHANGE_COLOURS), **_crawl_axis(recorded))
    for name, values in zip(names, ([c.new for c in recorded], [c.changed for c in recorded],
                                    [c.removed for c in recorded])):
        chart.add(name, [v or None for v in values])
    return _svg(chart, names) + note


def _charted(report: Report) -> list[CrawlFigures]:
    return report.crawls[-MAX_CRAWLS_CHARTED:]


def _crawl_axis(crawls: list[CrawlFigures]) -> dict:
    """One bar per crawl, labelled by its start; past 20 crawls only a dozen labels are written."""
    return {"x_labels": _crawl_labels(crawls), "x_label_rotation": -35 if len(crawls) > 6 else 0,
            "show_minor_x_labels": len(crawls) <= 20, "x_labels_major_count": 12}


def _crawl_labels(crawls: list[CrawlFigures]) -> list[str]:
    """Start times to the minute, or to the second when two crawls started in the same minute."""
    labels = [_when(c.started_at) for c in crawls]
    if len(set(labels)) < len(labels):
        labels = [(c.started_at or "")[:19].replace("T", " ") for c in crawls]
    return labels


def _style(colours: tuple[str, ...]) -> Style:
    style = Style(**{k: v for k, v in _STYLE.to_dict().items() if k != "colors"}, colors=colours)
    return style


def _chart(kind, **config):
    config = {k: v for k, v in config.items() if v is not None}
    config.setdefault("style", _STYLE)
    return kind(js=[], disable_xml_declaration=True, width=960, height=340, explicit_size=False,
                legend_at_bottom=True, legend_at_bottom_columns=3, truncate_legend=40, truncate_label=-1,
                margin=12, margin_bottom=28 if config.get("show_legend", True) else 12, spacing=12,
                min_scale=3, max_scale=6, print_values=False, no_data_text="no data", show_y_guides=True,
                **config)


def _svg(chart, series_names: list[str], unit: str = "") -> str:
    """The chart's SVG without pygal's script, with a ``<title>`` on each bar so hovering names it."""
    tree = chart.render_tree()  # pygal's elements are unqualified, under a default SVG namespace
    for node in tree.xpath("//*[local-name()='script'] | //comment()"):
        node.getparent().remove(node)
    for legend in tree.xpath("//*[starts-with(@id, 'activate-serie')]"):  # ids repeat from chart to chart
        del legend.attrib["id"]
    for index, name in enumerate(series_names):
        for bar in tree.xpath(f"//*[contains(concat(' ', @class, ' '), ' serie-{index} ')]"
                              "//*[*[local-name()='desc'][@class='value']]"):
            descs = {d.get("class"): d.text or "" for d in bar.xpath("*[local-name()='desc']")}
            text = f"{descs.get('x_label', '')} · {name}: {descs.get('value', '')}{' ' + unit if unit else ''}"
            if descs.get("label"):
                text += f" ({descs['label']})"
            title = etree.SubElement(bar, "title")
            title.text = text
            bar.insert(0, title)
    tree.set("class", (tree.get("class") or "") + " chart")
    return etree.tostring(tree, encoding="unicode")


# -- tables ------------------------------------------------------------------------


def sites_table(report: Report) -> str:
    if not report.sites:
        return _empty("No articles yet.")
    rows = []
    for site in report.sites:
        gaps = site.gaps
        last = report.last_crawls.get(site.site)
        gap_text = ", ".join(gaps[:6]) + (f" and {len(gaps) - 6} more" if len(gaps) > 6 else "") if gaps else "none"
        crawl = (f"<span class=\"status {escape(last.status)}\">{escape(last.status)}</span> "
                 f"{escape(_when(last.started_at))} · {last.pages:,} pages · {last.errors:,} errors"
                 if last else "never crawled")
        name = escape(site.label) + (f"<div class=\"sub\">{escape(site.site)}</div>" if site.name else "")
        rows.append(
            f"<tr><td>{name}</td><td class=\"num\">{site.total:,}</td>"
            f"<td>{escape(site.first_month or '–')}</td><td>{escape(site.last_month or '–')}</td>"
            f"<td class=\"{'warn' if gaps else ''}\">{escape(gap_text)}</td>"
            f"<td class=\"num\">{site.undated:,}</td><td>{crawl}</td></tr>")
    return ("<table><thead><tr><th>site</th><th class=\"num\">articles</th><th>first month</th>"
            "<th>last month</th><th>gap months</th><th class=\"num\">undated</th><th>last crawl</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def crawls_table(report: Report) -> str:
    if not report.crawls:
        return _empty("No crawls yet.")
    rows = []
    for crawl in reversed(report.crawls[-15:]):
        changes = ("–" if crawl.new is None
                   else f"+{crawl.new or 0:,} / ~{crawl.changed or 0:,} / −{crawl.removed or 0:,}")
        rows.append(
            f"<tr><td><code>{escape(crawl.id)}</code></td><td>{escape(_when(crawl.started_at))}</td>"
            f"<td>{escape(_duration(crawl.duration_seconds))}</td>"
            f"<td><span class=\"status {escape(crawl.status)}\">{escape(crawl.status)}</span></td>"
            f"<td class=\"num\">{crawl.pages:,}</td><td class=\"num\">{crawl.articles:,}</td>"
            f"<td class=\"num\">{crawl.errors:,}</td><td class=\"num\">{crawl.bytes / 1e6:,.1f}</td>"
            f"<td class=\"num\">{changes}</td></tr>")
    return ("<table><thead><tr><th>crawl</th><th>started (UTC)</th><th>took</th><th>status</th>"
            "<th class=\"num\">pages</th><th class=\"num\">articles</th><th class=\"num\">errors</th>"
            "<th class=\"num\">MB</th><th class=\"num\">new / changed / removed</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def errors_table(report: Report) -> str:
    if not report.errors:
        return _empty("No errors recorded.")
    rows = "".join(
        f"<tr><td>{escape(e.kind)}</td><td class=\"num\">{e.count:,}</td><td>{escape(_when(e.last_at))}</td>"
        f"<td class=\"url\">{escape(e.example_url or '')}</td></tr>" for e in report.errors)
    return ("<table><thead><tr><th>error</th><th class=\"num\">count</th><th>last seen</th><th>last URL</th>"
            f"</tr></thead><tbody>{rows}</tbody></table>")


def _when(iso: str | None) -> str:
    return (iso or "")[:16].replace("T", " ")


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    seconds = round(seconds)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


_CSS = """
:root{--ink:#0f172a;--muted:#64748b;--line:#e2e8f0;--bg:#f8fafc;--card:#fff;--accent:#2563eb;--red:#dc2626}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:15px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,
'Noto Sans','DejaVu Sans',sans-serif}
main{max-width:1120px;margin:0 auto;padding:28px 24px 40px}
header h1{margin:0;font-size:26px;letter-spacing:-.01em}
.meta{margin:4px 0 20px;color:var(--muted)}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:12px;margin-bottom:22px}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px 14px}
.card .value{font-size:26px;font-weight:650;line-height:1.2}
.card .name{color:var(--muted);font-size:13px;text-transform:uppercase;letter-spacing:.04em}
.card .sub{color:var(--muted);font-size:12px;min-height:1em}
.card.alert .value{color:var(--red)}
section{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:18px 20px;margin:0 0 18px}
h2{font-size:18px;margin:0 0 4px}
.caption{color:var(--muted);margin:0 0 10px;font-size:14px}
.swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin:0 4px 0 6px}
svg.chart{width:100%;height:auto;display:block}
svg.grid{max-width:100%;height:auto;display:block}
svg.grid text{font-size:13px;fill:#334155}
svg.grid .year{font-weight:650;fill:#0f172a}
svg.grid .month{text-anchor:middle;fill:#94a3b8;font-size:11px}
svg.grid .site{text-anchor:end}
svg.grid .total,svg.grid .total-head{text-anchor:end;font-variant-numeric:tabular-nums}
svg.grid .total-head{fill:#94a3b8;font-size:11px}
svg.grid .year-rule{stroke:#cbd5e1;stroke-width:1}
svg.grid rect.gap{fill:#fee2e2;stroke:#dc2626;stroke-width:1.2}
svg.grid rect.none{fill:#f1f5f9}
svg.grid rect:hover{stroke:#0f172a;stroke-width:1.5}
.empty{padding:28px;text-align:center;color:var(--muted);background:var(--bg);border:1px dashed #cbd5e1;
border-radius:8px}
.note{color:var(--muted);font-size:13px}
table{width:100%;border-collapse:collapse;font-size:14px}
th{text-align:left;font-weight:600;color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.03em;
border-bottom:1px solid var(--line);padding:6px 8px}
td{border-bottom:1px solid var(--line);padding:7px 8px;vertical-align:top}
td .sub{color:var(--muted);font-size:12px}
.num{text-align:right;font-variant-numeric:tabular-nums}
td.warn{color:var(--red)}
td.url{word-break:break-all;color:var(--muted);font-size:13px}
code{font-size:12.5px}
.status{display:inline-block;padding:0 7px;border-radius:9px;font-size:12px;color:#fff;background:#475569}
.status.finished{background:#059669}.status.running{background:#2563eb}
.status.interrupted{background:#d97706}.status.failed{background:#dc2626}
footer{color:var(--muted);font-size:13px;text-align:center;margin-top:10px}
"""
