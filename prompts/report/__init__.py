"""HTML templates of `aia report` (jinja2, autoescaped by `evals.report`); a package so they ship with the wheel."""
