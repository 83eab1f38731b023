"""{% outcome_summary counts %}: the counts in the one vocabulary and a stacked bar of rows by outcome, drawn as inline SVG."""
from django import template

from ..outcomes import BAR_WIDTH, WORDS, outcome_bar, outcome_counts

register = template.Library()


@register.inclusion_tag("imports/_outcomes.html")
def outcome_summary(counts, skipped=0, label="Rows by outcome"):
    words = outcome_counts(counts or {}, skipped=skipped or 0)
    return {
        "words": [(key, word, words[key]) for key, word in WORDS], "parts": outcome_bar(words),
        "width": BAR_WIDTH, "label": label,
    }


@register.inclusion_tag("imports/_share_bar.html")
def share_bar(percent, threshold):
    """The share of the district an import changes, against the district's limit (both in %)."""
    percent, threshold = float(percent or 0), float(threshold or 0)
    return {
        "percent": percent, "threshold": threshold, "width": BAR_WIDTH,
        "fill": round(BAR_WIDTH * min(percent, 100) / 100, 2), "mark": round(BAR_WIDTH * min(threshold, 100) / 100, 2),
        "over": percent > threshold,
    }


@register.filter
def outcome_word(key):
    return dict(WORDS).get(key, key)
