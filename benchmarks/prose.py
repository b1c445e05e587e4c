"""The findings of RESULTS.md as Markdown beside the results: ``findings/NAME.md`` is a Jinja2 template of one
section's prose, filled in with that section's numbers. The renderers build the tables; what the numbers say
is read and edited as Markdown, not as strings inside Python."""
from __future__ import annotations

from pathlib import Path

import jinja2

FINDINGS = Path(__file__).parent / "findings"

_environment = jinja2.Environment(loader=jinja2.FileSystemLoader(FINDINGS), undefined=jinja2.StrictUndefined,
                                  trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False,
                                  autoescape=False)  # Markdown, not HTML
_environment.filters["signed"] = lambda value, digits=2: f"{value:+.{digits}f}"
_environment.filters["fixed"] = lambda value, digits=2: f"{value:.{digits}f}"
_environment.filters["g"] = lambda value: f"{value:g}"
_environment.filters["percent"] = lambda share: f"{100 * share:.0f}"


def prose(name: str, **values) -> list[str]:
    """The lines of ``findings/NAME.md`` filled in with ``values``."""
    text = _environment.get_template(f"{name}.md").render(**values)
    # A block ending the template ({% endif %}, {% endfor %}) leaves its last line's newline: the end of the text
    return text.removesuffix("\n").split("\n")
