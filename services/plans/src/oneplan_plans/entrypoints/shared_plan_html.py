"""The shared plan as a printable, accessible page a family can keep: one heading per section
in statutory order, provenance beside each line, the team, what was withheld and why, and the
journey as a table with a caption and header cells. Every value is escaped."""

from __future__ import annotations

from html import escape

from oneplan_plans.entrypoints.shared_plan_schemas import LineOut, SharedPlanOut

__all__ = ["render_plan"]

_STYLE = """
body { font-family: system-ui, sans-serif; line-height: 1.5; max-width: 48rem; margin: 2rem auto;
       padding: 0 1rem; color: #1b1b1b; }
h1 { font-size: 1.8rem; } h2 { border-bottom: 2px solid #1d70b8; margin-top: 2rem; }
.provenance { color: #505a5f; font-size: 0.9rem; margin-top: 0; }
.line { margin-bottom: 1.25rem; } .empty { color: #505a5f; font-style: italic; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: 0.3rem;
        border-bottom: 1px solid #b1b4b6; vertical-align: top; }
.withheld { background: #fff7e6; padding: 0.5rem 1rem; border-left: 4px solid #f47738; }
@media print { body { margin: 0; max-width: none; } h2 { break-after: avoid; }
               .line { break-inside: avoid; } }
"""


def render_plan(plan: SharedPlanOut) -> str:
    """The page for ``plan`` (already filtered for its reader)."""
    when = f"as it stood on {plan.as_of}" if plan.as_of else "as it stands today"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en-GB">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Shared plan for child {escape(str(plan.child_id))}</title>",
        f"<style>{_STYLE}</style>",
        "</head>",
        "<body>",
        "<main>",
        f'<h1>Shared plan <span class="provenance">({escape(when)})</span></h1>',
        f"<p>Child reference: {escape(str(plan.child_id))}</p>",
        *_lead(plan),
        *_withheld(plan),
        '<nav aria-label="Sections"><ol>',
        *(
            f'<li><a href="#section-{escape(s.section)}">Section {escape(s.section)}: '
            f"{escape(s.title)}</a></li>"
            for s in plan.sections
        ),
        "</ol></nav>",
    ]
    for section in plan.sections:
        parts.append(
            f'<section aria-labelledby="section-{escape(section.section)}">'
            f'<h2 id="section-{escape(section.section)}">Section {escape(section.section)}: '
            f"{escape(section.title)}</h2>"
        )
        if not section.lines:
            parts.append('<p class="empty">Nothing recorded here that you may see.</p>')
        parts.extend(_line(line) for line in section.lines)
        parts.append("</section>")
    parts.extend(_team(plan))
    parts.extend(_timeline(plan))
    parts.extend(["</main>", "</body>", "</html>"])
    return "\n".join(parts)


def _line(line: LineOut) -> str:
    origin = line.provenance
    role = f", {escape(origin.author_role)}" if origin.author_role else ""
    revised = f", revision {origin.revision}" if origin.revision > 1 else ""
    paragraphs = "".join(f"<p>{escape(p)}</p>" for p in line.content.split("\n") if p.strip())
    return (
        '<article class="line">'
        f"<h3>{escape(line.title)}</h3>{paragraphs}"
        f'<p class="provenance">From {escape(origin.author)}{role} ({escape(origin.agency)}), '
        f"recorded {origin.recorded_at:%d %B %Y}{revised}.</p>"
        "</article>"
    )


def _lead(plan: SharedPlanOut) -> list[str]:
    lead = plan.lead_professional
    if lead is None:
        return ["<p>No lead professional has been named yet.</p>"]
    return [
        "<p><strong>Your lead professional</strong> (whom to call): "
        f"{escape(lead.name)}, {escape(lead.role)} ({escape(lead.agency)}), "
        f"{escape(lead.contact)}.</p>"
    ]


def _withheld(plan: SharedPlanOut) -> list[str]:
    if not plan.withheld:
        return []
    items = "".join(
        f"<li>Section {escape(w.section)}: {escape(w.agency)}'s {escape(w.data_class)} "
        f"information ({escape(w.reason)})</li>"
        for w in plan.withheld
    )
    return [
        '<div class="withheld" role="note"><p>Some information is not shown to this reader:'
        f"</p><ul>{items}</ul></div>"
    ]


def _team(plan: SharedPlanOut) -> list[str]:
    rows = "".join(
        f"<tr><td>{escape(m.name)}{' (lead professional)' if m.lead else ''}</td>"
        f"<td>{escape(m.agency)}</td><td>{escape(m.role or '')}</td>"
        f"<td>{escape(m.contact or '')}</td></tr>"
        for m in plan.team
    )
    return [
        '<section aria-labelledby="team"><h2 id="team">The team around the child</h2>',
        "<table><caption>Professionals involved</caption><thead><tr>"
        '<th scope="col">Name</th><th scope="col">Agency</th><th scope="col">Role</th>'
        f'<th scope="col">Contact</th></tr></thead><tbody>{rows}</tbody></table></section>',
    ]


def _timeline(plan: SharedPlanOut) -> list[str]:
    rows = "".join(
        f"<tr><td>{step.occurred_on:%d %B %Y}</td><td>{escape(step.label)}</td>"
        f"<td>{escape(step.agency)}</td></tr>"
        for step in plan.timeline
    )
    return [
        '<section aria-labelledby="journey"><h2 id="journey">The journey so far</h2>',
        "<table><caption>What happened, oldest first</caption><thead><tr>"
        '<th scope="col">Date</th><th scope="col">What happened</th>'
        f'<th scope="col">Agency</th></tr></thead><tbody>{rows}</tbody></table></section>',
    ]
