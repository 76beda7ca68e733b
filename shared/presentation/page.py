"""The dashboard as one self-contained HTML page (inline CSS, SVG and a few lines of script).

No external resource is loaded (no fonts, no CDN): the file opens offline,
from disk or from the ``report`` HTTP function, and passes a strict CSP.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from html import escape
from urllib.parse import quote
from zoneinfo import ZoneInfo

from shared.core.context import PLATFORMS
from shared.core.lift import Interval, LiftRow
from shared.presentation.charts import Series, line_chart, probability_bars
from shared.presentation.data import INTERACTIONS, BestTimeRow, FollowerRow, LatestPost, StandoutPost, WhatWorksRow
from shared.presentation.view import ALL, BUCKETS, CellView, DashboardView, EngagementView, ThenAndNow

CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data: https: file:"

_CSS = """
:root { --ink:#1d2733; --muted:#5b6b7c; --line:#d9e0e7; --accent:#e76f51; --base:#264653; --ok:#2a9d8f; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink);
  margin: 0; background: #f6f8fa; }
header { background: var(--base); color: #fff; padding: 16px 24px; }
header h1 { margin: 0 0 4px; font-size: 20px; }
header .meta { color: #cfe0e6; }
main { padding: 16px 24px 40px; max-width: 1280px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 14px 18px; margin: 14px 0; }
h2 { font-size: 16px; margin: 0 0 8px; }
.controls { display: flex; gap: 16px; flex-wrap: wrap; align-items: center; }
.controls button { border: 1px solid var(--line); background: #fff; padding: 5px 12px;
  border-radius: 14px; cursor: pointer; }
.controls button[aria-pressed="true"] { background: var(--base); color: #fff; border-color: var(--base); }
.view { display: none; } .view.shown { display: block; }
.grid3 { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(420px, 100%), 1fr)); gap: 8px 18px; }
.charts2 { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(560px, 100%), 1fr)); gap: 8px 18px; }
.scroll { overflow-x: auto; }
svg { max-width: 100%; height: auto; }
.sentences li { margin: 4px 0; } .sentences li.unsure { color: var(--muted); }
h3 { font-size: 14px; margin: 10px 0 2px; }
@media (max-width: 640px) { main { padding: 8px 10px 24px; } section { padding: 10px 12px; }
  header { padding: 12px 14px; } td .prompt { max-width: 220px; } }
svg text { font: 12px system-ui, sans-serif; fill: var(--ink); }
svg .chart-title { font-weight: 600; }
svg .axis, svg .pct { fill: var(--muted); }
svg .bar { fill: #9fb7c6; } svg .bar.top { fill: var(--accent); }
svg .grid { stroke: var(--line); }
svg .series { fill: none; stroke-width: 2; }
svg .reward { stroke: var(--accent); fill: var(--accent); } svg polyline.reward, svg line.reward { fill: none; }
svg .baseline { stroke: var(--base); fill: var(--base); stroke-dasharray: 5 3; }
svg polyline.baseline, svg line.baseline { fill: none; }
svg .explore { stroke: var(--ok); fill: var(--ok); } svg polyline.explore, svg line.explore { fill: none; }
.note { color: var(--muted); }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid var(--line); padding: 6px 8px; text-align: left; vertical-align: top; }
th { font-weight: 600; background: #fafbfc; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td .prompt { color: var(--muted); font-size: 12px; max-width: 380px; white-space: pre-wrap; }
.action { font-size: 12px; }
.unavailable { color: var(--muted); font-style: italic; }
nav.businesses { display: flex; gap: 6px; flex-wrap: wrap; align-items: center; }
nav.businesses a { border: 1px solid var(--line); border-radius: 14px; padding: 3px 10px; color: var(--ink);
  text-decoration: none; background: #fff; }
nav.businesses a[aria-current="page"] { background: var(--base); color: #fff; border-color: var(--base); }
tr.hidden { display: none; }
"""

# Platform and time-bucket switches: show the matching view, filter the posts table.
_SCRIPT = """
(function () {
  const state = { platform: document.body.dataset.platform, bucket: "all" };
  function render() {
    document.querySelectorAll(".view").forEach(function (el) {
      const match = el.dataset.platform === state.platform && (el.dataset.bucket === state.bucket);
      el.classList.toggle("shown", match);
    });
    document.querySelectorAll("button[data-set]").forEach(function (b) {
      b.setAttribute("aria-pressed", String(state[b.dataset.set] === b.dataset.value));
    });
    document.querySelectorAll("#posts tbody tr").forEach(function (tr) {
      const hide = tr.dataset.platform !== state.platform
        || (state.bucket !== "all" && tr.dataset.bucket !== state.bucket);
      tr.classList.toggle("hidden", hide);
    });
    document.getElementById("posts-empty").hidden =
      document.querySelectorAll("#posts tbody tr:not(.hidden)").length > 0;
  }
  document.querySelectorAll("button[data-set]").forEach(function (b) {
    b.addEventListener("click", function () { state[b.dataset.set] = b.dataset.value; render(); });
  });
  render();
  document.body.dataset.ready = "true";
})();
"""


def _buttons(kind: str, values: tuple[str, ...]) -> str:
    return "".join(
        f'<button type="button" data-set="{kind}" data-value="{escape(v)}" aria-pressed="false">{escape(v)}</button>'
        for v in values
    )


def _cell_views(cell: CellView, period: str) -> tuple[str, str, str]:
    """(policy bars, reward chart, exploration chart) for one platform × bucket."""
    attrs = f'class="view" data-platform="{cell.platform}" data-bucket="{cell.bucket}"'
    if cell.bucket == ALL:
        bars = '<p class="note">Preferences are learned per time bucket: pick one above to see them.</p>'
    else:
        bars = (
            f'<p class="note">Next-post probabilities on {escape(cell.platform)} in the {escape(cell.bucket)},'
            f" at the average context of its latest decisions ({cell.decisions} decisions so far);"
            " the most likely value is highlighted.</p>"
            f'<div class="grid3">{"".join(probability_bars(d.name, d.bars) for d in cell.dimensions)}</div>'
        )
    reward = line_chart(
        f"Mean reward per {period} vs the {cell.platform} baseline",
        [
            Series(f"reward ({cell.bucket})", cell.reward, "reward"),
            Series("platform baseline", cell.baseline, "baseline"),
        ],
    )
    explore = line_chart(
        f"Exploration share per {period}",
        [Series("choices off the most likely value", cell.exploration, "explore", percent=True)],
        y_min=0.0,
        y_max=1.0,
    )
    return f"<div {attrs}>{bars}</div>", f"<div {attrs}>{reward}</div>", f"<div {attrs}>{explore}</div>"


def _action(action: dict[str, str]) -> str:
    return "<br>".join(f"{escape(k.lower())}: <b>{escape(v)}</b>" for k, v in action.items())


def _post_row(p: LatestPost) -> str:
    reward = "" if p.reward is None else f"{p.reward:+.3f}"
    reward_cell = f"{reward} <span class='note'>{escape(p.reward_status or 'not published')}</span>"
    image = f'<br><a href="{escape(p.image_url)}">image</a>' if p.image_url else ""
    return (
        f'<tr data-platform="{escape(p.platform)}" data-bucket="{escape(p.time_bucket)}">'
        f"<td>{escape(_local(p.scheduled_for, p.time_zone))}<br><span class='note'>{escape(p.time_zone)} ·"
        f" {escape(p.business)}</span></td>"
        f"<td>{escape(p.platform)}<br><span class='note'>{escape(p.time_bucket)}</span></td>"
        f"<td class='action'>{_action(p.action)}<br><span class='note'>"
        + ("holdback (fixed action)" if p.holdback else f"drawn with probability {_percent(p.joint_propensity)}")
        + f", policy v{p.policy_version}</span></td>"
        f"<td>{escape(p.caption or '')}{image}<br><span class='note'>{escape(p.mode)} · "
        f"{escape(p.content_source or 'offline')} · {escape(p.content_status)}</span></td>"
        f"<td><div class='prompt'><b>caption:</b> {escape(p.caption_prompt)}</div>"
        f"<div class='prompt'><b>image:</b> {escape(p.image_prompt)}</div></td>"
        f"<td class='num'>{reward_cell}</td></tr>"
    )


def _local(at: datetime, time_zone: str) -> str:
    """A time as the business reads it, in its own zone (the zone is named beside it)."""
    try:
        return at.astimezone(ZoneInfo(time_zone)).strftime("%Y-%m-%d %H:%M")
    except (KeyError, ValueError):  # a zone this machine does not know: UTC, labelled so
        return at.strftime("%Y-%m-%d %H:%M UTC")


def _percent(p: float) -> str:
    """A probability as people read it: 12%, 0.21%, or below 0.01% in scientific notation."""
    if p >= 0.1:
        return f"{p:.0%}"
    if p >= 1e-4:
        return f"{p:.2%}"
    return f"{p:.1e}"


_BASELINE = "logging policy (as run)"

# Below this, a share of the reference would mislead (12% of 0.01 is nothing): the difference is said in reward.
_RELATIVE_FROM = 0.05


def _how_much(diff: float, reference: float) -> str:
    """ "about 12% more", or near a zero reference "0.012 less reward per post"."""
    direction = "more" if diff >= 0 else "less"
    if abs(reference) >= _RELATIVE_FROM:
        return f"about {abs(diff) / abs(reference):.0%} {direction}"
    return f"{abs(diff):.3f} {direction} reward per post"


def what_if_sentences(view: DashboardView) -> list[str]:
    """Each what-if against what the posts actually earned, in a sentence (doubly robust
    estimates, 95% intervals): "… would have earned about 12% more (95% interval …)"."""
    dr = {e.policy: e for e in view.what_if or () if e.estimator == "DR"}
    base = dr.get(_BASELINE)
    if base is None:
        return []
    out = []
    for name, e in dr.items():
        if name == _BASELINE:
            continue
        diff = e.value - base.value
        size = _how_much(diff, base.value)
        sure = (
            "the interval includes what the posts earned, so it is not clearly different"
            if e.ci_low <= base.value <= e.ci_high
            else "clearly different"
        )
        out.append(
            f"{name[0].upper()}{name[1:]} would have earned {size} than the posts did: "
            f"{e.value:.3f} (95% interval {e.ci_low:.3f} to {e.ci_high:.3f}) against {base.value:.3f}; {sure}."
        )
    return out


def what_works_sentence(r: WhatWorksRow) -> str:
    """ "Hook type: a question earned +0.052 over the platform's average reward (42 of 180 posts;
    95% interval +0.011 to +0.093)." """
    how = "" if r.sure else "; not sure yet: the interval includes 0"
    return (
        f"{r.dimension}: {r.value} earned {r.lift:+.3f} over the platform's average reward ({r.posts} of"
        f" {r.platform_posts} posts; 95% interval {r.low:+.3f} to {r.high:+.3f}{how})."
    )


def _what_works(rows: Sequence[WhatWorksRow]) -> str:
    if not rows:
        return (
            '<p class="unavailable" id="what-works-none">Not enough rewarded posts yet: once a value has 5'
            " rewarded posts on a platform (and the scheduled sweep has run), what earned most shows here.</p>"
        )
    parts = []
    for platform in dict.fromkeys(r.platform for r in rows):
        items = "".join(
            ("<li>" if r.sure else '<li class="unsure">') + escape(what_works_sentence(r)) + "</li>"
            for r in rows
            if r.platform == platform
        )
        heading = f"<h3>On {escape(platform)}</h3>"
        parts.append(f'{heading}<ul class="sentences" data-platform="{escape(platform)}">{items}</ul>')
    return (
        '<p class="note">Over the last 90 days: for each dimension, the value whose posts earned most against'
        " the platform's average (values with at least 5 rewarded posts; the best is picked after the fact, so"
        " its interval is a little optimistic).</p>" + "".join(parts)
    )


def _best_times(rows: Sequence[BestTimeRow]) -> str:
    if not rows:
        return (
            '<p class="unavailable" id="best-times-none">No rewarded posts yet: once posts have final rewards,'
            " each business's best time to post on each platform shows here (docs/best-time.md).</p>"
        )
    body = "".join(
        f"<tr><td>{escape(r.business)}</td><td>{escape(r.platform)}</td>"
        f"<td>{escape(r.slot)}<br><span class='note'>{escape(r.time_zone)}</span></td>"
        f"<td class='num'>{r.expected:+.3f}<br><span class='note'>[{r.low:+.3f}, {r.high:+.3f}]</span></td>"
        f"<td class='num'>{r.posts}</td>"
        f"<td>{escape(r.next_time.strftime('%a %d %b %H:%M'))} <span class='note'>{escape(r.time_zone)}</span>"
        "</td></tr>"
        for r in rows
    )
    return (
        '<p class="note">The slot with the highest expected reward for each business and platform: its own'
        " rewards, shrunk toward what every business earned in that slot (95% intervals; local times in the"
        " business's own time zone). A draft sent without a time is scheduled at the next one.</p>"
        '<div class="scroll"><table id="best-times"><thead><tr><th>business</th><th>platform</th><th>best time'
        "</th><th>expected reward</th><th>own posts</th><th>next</th></tr></thead>"
        f"<tbody>{body}</tbody></table></div>"
    )


def _what_if(view: DashboardView) -> str:
    if not view.what_if:
        return (
            '<p class="unavailable" id="what-if-unavailable">Not computed yet: once 20 posts have a final'
            " reward, the scheduled sweep (every 15 minutes by default) evaluates the policy each time it has"
            " moved on since the last evaluation. This table then compares other policies (IPS, SNIPS and DR"
            " estimates with confidence intervals) on the logged decisions.</p>"
        )
    rows = "".join(
        f"<tr><td>{escape(r.policy)}</td><td>{escape(r.estimator)}</td><td class='num'>{r.value:.3f}</td>"
        f"<td class='num'>[{r.ci_low:.3f}, {r.ci_high:.3f}]</td><td class='num'>{r.n}</td></tr>"
        for r in view.what_if
    )
    sentences = "".join(f"<li>{escape(s)}</li>" for s in what_if_sentences(view))
    return (
        f'<ul class="sentences" id="what-if-sentences">{sentences}</ul>'
        "<details><summary>Every estimate (IPS, self-normalised IPS, doubly robust)</summary>"
        '<div class="scroll"><table id="what-if"><thead><tr><th>policy</th><th>estimator</th><th>estimated reward'
        f"</th><th>95% interval</th><th>posts</th></tr></thead><tbody>{rows}</tbody></table></div></details>"
    )


def _interval(iv: Interval | None) -> str:
    if iv is None:
        return "–"
    if iv.low is None or iv.high is None:
        return f"{iv.estimate:+.3f}"
    return f"{iv.estimate:+.3f} [{iv.low:+.3f}, {iv.high:+.3f}]"


def holdback_sentence(row: LiftRow) -> str | None:
    """ "Posts the policy chose earned 0.052 more reward each than the fixed recipe …" for the
    "all" row; None without a lift to tell."""
    lift, base = row.lift, row.holdback_mean
    if lift is None or base is None:
        return None
    more = "more" if lift.estimate >= 0 else "less"
    size = f"{abs(lift.estimate):.3f} {more} reward per post"
    if abs(base.estimate) >= _RELATIVE_FROM:
        size += f" ({_how_much(lift.estimate, base.estimate)})"
    if lift.low is None or lift.high is None:
        sure = "too few holdback posts for an interval yet"
    elif lift.low > 0:
        sure = "clearly better"
    elif lift.high < 0:
        sure = "clearly worse"
    else:
        sure = "not clearly different yet: the interval includes 0"
    interval = "" if lift.low is None or lift.high is None else f", 95% interval {lift.low:+.3f} to {lift.high:+.3f}"
    return (
        f"Posts the policy chose earned {size} than posts with the fixed baseline recipe"
        f" ({row.policy.n} against {row.holdback.n} posts{interval}): {sure}."
    )


def _holdback(rows: Sequence[LiftRow], share: float) -> str:
    """Mean reward of the policy's posts and of the holdback arm's, and the lift (docs/lifecycle.md)."""
    if not rows or rows[0].holdback.n == 0:
        return (
            '<p class="unavailable" id="holdback-none">No holdback rewards yet'
            f" (holdback share {share:.0%}, POLICY_HOLDBACK_SHARE). With a share above 0, that share of posts"
            " takes a fixed baseline action, and this table compares the policy's mean reward with it.</p>"
        )
    body = "".join(
        f"<tr><td>{escape(r.platform)}</td><td class='num'>{_interval(r.policy_mean)}</td>"
        f"<td class='num'>{r.policy.n}</td><td class='num'>{_interval(r.holdback_mean)}</td>"
        f"<td class='num'>{r.holdback.n}</td><td class='num'>{_interval(r.lift)}</td></tr>"
        for r in rows
    )
    said = holdback_sentence(rows[0])
    sentence = "" if said is None else f'<p id="holdback-sentence">{escape(said)}</p>'
    return (
        sentence + f'<p class="note">Holdback share {share:.0%}: mean final reward with 95% intervals; lift = policy −'
        " holdback (Welch interval).</p>"
        '<div class="scroll"><table id="holdback"><thead><tr><th>platform</th><th>policy</th><th>posts</th>'
        "<th>holdback</th>"
        f"<th>posts</th><th>lift</th></tr></thead><tbody>{body}</tbody></table></div>"
    )


# Where the selector's links go: the report function's query parameter; files name their own.
BUSINESS_HREF = "?business={}"
ALL_HREF = "?"


def _selector(view: DashboardView, operator: bool, business_href: str, all_href: str) -> str:
    """Links to each business's page (and every business's, for operators)."""
    if not view.businesses:
        return ""
    links = []
    if operator or len(view.businesses) > 1:
        current = ' aria-current="page"' if view.business is None else ""
        label = "All businesses" if operator else "All my businesses"
        links.append(f'<a href="{escape(all_href)}"{current}>{label}</a>')
    for b in view.businesses:
        current = (
            ' aria-current="page"' if view.business is not None and view.business.business_id == b.business_id else ""
        )
        href = business_href.format(quote(b.business_id))
        links.append(f'<a href="{escape(href)}"{current}>{escape(b.name)}</a>')
    nav = f'<nav class="businesses" id="businesses" aria-label="business">Business: {"".join(links)}</nav>'
    return f"<section>{nav}</section>"


def _count(n: float) -> str:
    return f"{n:,.0f}" if n >= 100 or float(n).is_integer() else f"{n:.1f}"


def engagement_sentence(e: EngagementView) -> str:
    """ "On linkedin, the 12 posts of 7–13 days ago drew 34.5 interactions each (…), 15% more
    than the 10 posts of the week before (30.0 each)." """
    if e.recent_posts == 0:
        return f"On {e.platform}, no post of 7–13 days ago has engagement recorded yet."
    each = {k: v / e.recent_posts for k, v in e.recent.items()}
    parts = ", ".join(
        f"{k} {_count(each[k])}" for k in sorted(INTERACTIONS, key=lambda k: -each.get(k, 0)) if each.get(k, 0) > 0
    )
    total = sum(each.get(k, 0) for k in INTERACTIONS)
    out = f"On {e.platform}, the {e.recent_posts} posts of 7–13 days ago drew {_count(total)} interactions each"
    out += f" ({parts})" if parts else ""
    if e.recent.get("impressions"):
        out += f" and {_count(each['impressions'])} impressions"
    if e.previous_posts:
        before = sum(e.previous.get(k, 0) for k in INTERACTIONS) / e.previous_posts
        if before > 0:
            change = total / before - 1
            out += f", {abs(change):.0%} {'more' if change >= 0 else 'fewer'} than"
        else:
            out += ", against"
        out += f" the {e.previous_posts} posts of the week before ({_count(before)} each)"
    return out + "."


def _followers_table(rows: Sequence[FollowerRow]) -> str:
    if not rows:
        return ""
    body = "".join(
        f"<tr><td>{escape(r.business)}</td><td>{escape(r.platform)}</td><td class='num'>{r.followers:,}"
        f"<br><span class='note'>{r.day.isoformat()}</span></td><td class='num'>{r.followers - r.earlier:+,}"
        + (f" ({(r.followers - r.earlier) / r.earlier:+.1%})" if r.earlier else "")
        + f"<br><span class='note'>since {r.earlier_day.isoformat()}</span></td></tr>"
        for r in rows
    )
    return (
        '<div class="scroll"><table id="followers"><thead><tr><th>business</th><th>platform</th><th>followers</th>'
        f"<th>change</th></tr></thead><tbody>{body}</tbody></table></div>"
    )


def _engagement(view: DashboardView) -> str:
    if not view.engagement:
        return (
            '<p class="unavailable" id="engagement-none">No engagement recorded yet: once published posts report'
            " their likes, comments and shares (record_snapshot), they show here.</p>"
        )
    sentences = "".join(f"<li>{escape(engagement_sentence(e))}</li>" for e in view.engagement)
    charts = "".join(
        line_chart(
            f"Interactions per post on {e.platform}, per {view.period} the posts went out",
            [Series("interactions per post", e.per_post, "reward")],
            y_min=0.0,
        )
        for e in view.engagement
    )
    return (
        '<p class="note">What the posts drew, as the platforms counted it: each post\'s latest likes, comments,'
        " shares, saves, replies, reposts and reactions (the last week's posts are still collecting).</p>"
        f'<ul class="sentences" id="engagement-sentences">{sentences}</ul>'
        f'<div class="charts2">{charts}</div>{_followers_table(view.followers)}'
    )


def _standouts(rows: Sequence[StandoutPost]) -> str:
    if not rows:
        return (
            '<p class="unavailable" id="standouts-none">No rewarded posts in the last 90 days yet (or the scheduled'
            " sweep has not run since): the best and worst show here.</p>"
        )
    body = "".join(
        f"<tr><td>{'best' if r.best else 'worst'}</td><td class='num'>{r.reward:+.3f}</td>"
        f"<td>{escape(_local(r.scheduled_for, r.time_zone))}<br><span class='note'>{escape(r.time_zone)} ·"
        f" {escape(r.business)}</span></td><td>{escape(r.platform)}</td>"
        f"<td class='action'>{_action(r.action)}"
        + ("<br><span class='note'>holdback (fixed action)</span>" if r.holdback else "")
        + f"</td><td>{escape(r.caption or '')}</td></tr>"
        for r in rows
    )
    return (
        '<p class="note">The three best and three worst rewarded posts of the last 90 days, with the creative'
        " choices behind them.</p>"
        '<div class="scroll"><table id="standouts"><thead><tr><th></th><th>reward</th><th>when (local time)</th>'
        f"<th>platform</th><th>choices</th><th>caption</th></tr></thead><tbody>{body}</tbody></table></div>"
    )


def then_and_now_sentence(t: ThenAndNow) -> str:
    """ "Posts of the last 14 days earned 0.565 on average (1,008 posts), against 0.480 in the
    first 14 days (336 posts): about 18% more." """
    size = _how_much(t.last_mean - t.first_mean, t.first_mean)
    return (
        f"Posts of the last {t.days} days earned {t.last_mean:.3f} on average ({t.last_posts:,} posts), against"
        f" {t.first_mean:.3f} in the first {t.days} days ({t.first_posts:,} posts): {size}. (Reward is in [−1, 1];"
        " the audience may have changed too: the holdback below separates the policy's part.)"
    )


def _glance(
    view: DashboardView,
    holdback: Sequence[LiftRow],
    best_times: Sequence[BestTimeRow],
    what_works: Sequence[WhatWorksRow],
) -> str:
    """The page's answers in four sentences: what works, when to post, how sure, better than before."""
    items = []
    sure = sorted((r for r in what_works if r.sure and r.lift > 0), key=lambda r: -r.lift)
    if sure:
        r = sure[0]
        items.append(f"What works best on {r.platform}: " + what_works_sentence(r))
    if best_times:
        b = best_times[0]
        items.append(
            f"When to post: {b.business} on {b.platform}, {b.slot} ({b.time_zone}); next"
            f" {b.next_time.strftime('%a %d %b %H:%M')}."
        )
    busiest = max(PLATFORMS, key=lambda p: view.cell(p, ALL).decisions)
    explored = view.cell(busiest, ALL).exploration
    if explored:
        items.append(
            f"How sure: in the latest {view.period} on {busiest}, {explored[-1].value:.0%} of creative choices tried"
            " something other than the policy's favourite (it falls as the policy grows sure; the bars below"
            " give each value's chance)."
        )
    if view.then_and_now is not None:
        items.append("Better than before: " + then_and_now_sentence(view.then_and_now))
    said = holdback_sentence(holdback[0]) if holdback else None
    if said is not None:
        items.append("Against the fixed recipe: " + said)
    if not items:
        return ""
    body = "".join(f"<li>{escape(i)}</li>" for i in items)
    return f'<section id="glance"><h2>At a glance</h2><ul class="sentences">{body}</ul></section>'


def render(
    view: DashboardView,
    generated_at: datetime,
    *,
    holdback: Sequence[LiftRow] = (),
    holdback_share: float = 0.0,
    best_times: Sequence[BestTimeRow] = (),
    what_works: Sequence[WhatWorksRow] = (),
    operator: bool = True,
    business_href: str = BUSINESS_HREF,
    all_href: str = ALL_HREF,
) -> str:
    """The whole page. ``generated_at`` is a parameter (time is never read here). ``operator``:
    the page of someone who sees every business (the what-ifs, over every business, are theirs)."""
    bars, rewards, explores = [], [], []
    for cell in view.cells:
        b, r, e = _cell_views(cell, view.period)
        bars.append(b)
        rewards.append(r)
        explores.append(e)
    busiest = max(PLATFORMS, key=lambda p: view.cell(p, ALL).decisions)
    totals = view.totals
    summary = (
        f"{totals.get('businesses', 0)} businesses · {totals.get('posts', 0)} posts · "
        f"{totals.get('published', 0)} published · {totals.get('rewarded', 0)} rewarded · policy version {view.version}"
        f" · generated {generated_at.strftime('%Y-%m-%d %H:%M UTC')}"
    )
    posts = "".join(_post_row(p) for p in view.latest)
    title = "What the content learner has learned" + ("" if view.business is None else f": {view.business.name}")
    what_if = (
        f'<section id="what-if-section"><h2>What if: other policies on the same posts (off-policy evaluation)</h2>'
        f"{_what_if(view)}</section>"
        if operator and view.business is None
        else ""
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Content learner: what the policy has learned</title>
<style>{_CSS}</style></head>
<body data-platform="{busiest}">
<header><h1>{escape(title)}</h1><div class="meta">{escape(summary)}</div></header>
<main>
{_selector(view, operator, business_href, all_href)}
{_glance(view, holdback, best_times, what_works)}
<section class="controls" aria-label="filters">
  <div>Platform: {_buttons("platform", PLATFORMS)}</div>
  <div>Time of day: {_buttons("bucket", BUCKETS)}</div>
</section>
<section id="policy"><h2>What the policy prefers now</h2>{"".join(bars)}</section>
<section id="reward"><h2>Reward over time against the baseline</h2>
<p class="note">Reward is in [−1, 1]; the baseline is the platform's running average the policy compares
each reward with. Above the baseline, the chosen creative did better than usual.</p>{"".join(rewards)}</section>
<section id="exploration"><h2>Exploration</h2>
<p class="note">Share of creative choices (one per dimension per post) that took a value other than the policy's most
likely one at the time: how much the learner is still trying things. It falls as the policy grows confident, and
never to zero (the exploration floor ε).</p>{"".join(explores)}</section>
<section id="engagement-section"><h2>Engagement</h2>
{_engagement(view)}</section>
<section id="what-works-section"><h2>What works</h2>
{_what_works(what_works)}</section>
<section id="best-times-section"><h2>When to post</h2>
{_best_times(best_times)}</section>
<section id="standouts-section"><h2>Top and bottom posts</h2>
{_standouts(view.standouts)}</section>
{what_if}
<section id="holdback-section"><h2>Lift over a static prompt (holdback)</h2>
{_holdback(holdback, holdback_share)}</section>
<section id="latest"><h2>Latest posts</h2>
<div class="scroll"><table id="posts"><thead><tr><th>when (local time)</th><th>where</th><th>action</th><th>caption</th>
<th>prompts</th><th>reward</th></tr></thead><tbody>{posts}</tbody></table></div>
<p class="note" id="posts-empty" hidden>No posts for this platform and time of day among the latest.</p>
</section>
</main>
<script type="application/json" id="dashboard-data">{_summary_json(view)}</script>
<script>{_SCRIPT}</script>
</body></html>
"""


def _summary_json(view: DashboardView) -> str:
    """A small machine-readable summary (tests and curious users); '<' escaped so it cannot close the tag."""
    data = {"version": view.version, "totals": view.totals, "period": view.period}
    return json.dumps(data).replace("<", "\\u003c")
