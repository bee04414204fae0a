"""Author–year citations in round brackets, and a reference list labelled the same way.

sphinxcontrib-bibtex's ``author_year`` style writes ``{cite:t}`` as "Ho et al. [2020]" and
``{cite:p}`` as "[Ho et al., 2020]", while its default bibliography style labels the list
alphabetically ("[HJA20]"). This extension registers

* ``author_year_round`` (for ``bibtex_reference_style``): ``{cite:t}`` gives
  "Ho et al. (2020)", ``{cite:p}`` (and plain ``{cite}``) "(Ho et al., 2020)", several keys
  "(Song and Ermon, 2019; Song et al., 2021b)";
* ``author_year`` (for ``bibtex_default_style``): pybtex's ``plain`` entries sorted by author
  and year, each labelled "Ho et al., 2020", the label the text cites.

Two works with the same authors' label and year get a letter ("Song et al., 2021a",
"Song et al., 2021b") in the list and in the text alike.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import pybtex.plugin
from pybtex.richtext import Text
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle
from pybtex.style.template import node
from sphinxcontrib.bibtex.plugin import register_plugin
from sphinxcontrib.bibtex.style.referencing import BracketStyle, PersonStyle
from sphinxcontrib.bibtex.style.referencing.author_year import AuthorYearReferenceStyle
from sphinxcontrib.bibtex.style.referencing.basic_author_year import (
    BasicAuthorYearParentheticalReferenceStyle,
    BasicAuthorYearTextualReferenceStyle,
)
from sphinxcontrib.bibtex.style.referencing.extra_author import ExtraAuthorReferenceStyle
from sphinxcontrib.bibtex.style.referencing.extra_empty import ExtraEmptyReferenceStyle
from sphinxcontrib.bibtex.style.referencing.extra_label import ExtraLabelReferenceStyle
from sphinxcontrib.bibtex.style.template import join, join2, post_text, pre_text, reference

REFERENCE_STYLE = "author_year_round"
BIBLIOGRAPHY_STYLE = "author_year"
_LABEL_STYLE = "author_year_label"


def _year(entry) -> str:
    return entry.fields.get("year", "n.d.")


def _authors(entry) -> str:
    """The authors as the text cites them: "Ho et al.", "Song and Ermon", "Bishop"."""
    style = AuthorYearReferenceStyle()
    template = style.person.author_or_editor_or_title(full=False)
    return template.format_data({"entry": entry, "style": style}).render_as("text")


def author_year_labels(entries) -> list[str]:
    """Labels "Ho et al., 2020", with a letter after the year where two would be equal."""
    labels = [f"{_authors(e)}, {_year(e)}" for e in entries]
    count, seen = Counter(labels), Counter()
    out = []
    for label in labels:
        if count[label] == 1:
            out.append(label)
        else:
            out.append(label + chr(ord("a") + seen[label]))
            seen[label] += 1
    return out


class AuthorYearLabelStyle(BaseLabelStyle):
    def format_labels(self, sorted_entries):
        return iter(author_year_labels(list(sorted_entries)))


class AuthorYearBibliographyStyle(PlainStyle):
    """pybtex's ``plain`` entries (sorted by author, year, title) with author–year labels."""

    default_label_style = _LABEL_STYLE


@node
def year_as_labelled(children, data):
    """The entry's year with the letter its label carries ("2021b"), if any."""
    assert not children
    year = _year(data["entry"])
    label = data["formatted_entry"].label
    suffix = label[-1] if re.search(re.escape(year) + r"[a-z]$", label) else ""
    return Text(year + suffix)


@dataclass
class _Parenthetical(BasicAuthorYearParentheticalReferenceStyle):
    def inner(self, role_name):
        return join2(sep1=self.pre_text_sep, sep2=self.post_text_sep)[
            pre_text,
            reference[join(sep=self.author_year_sep)[
                self.person.author_or_editor_or_title(full="s" in role_name), year_as_labelled]],
            post_text,
        ]


@dataclass
class _Textual(BasicAuthorYearTextualReferenceStyle):
    def inner(self, role_name):
        return join(sep=self.text_reference_sep)[
            self.person.author_or_editor_or_title(full="s" in role_name),
            join[
                self.bracket.left,
                join2(sep1=self.pre_text_sep, sep2=self.post_text_sep)[
                    pre_text, reference[year_as_labelled], post_text],
                self.bracket.right,
            ],
        ]


@dataclass
class _Year(ExtraLabelReferenceStyle):
    def role_names(self):
        return ["year", "yearpar"]

    def inner(self, role_name):
        return reference[year_as_labelled]


def _round(sep="; ", sep2=None, last_sep=None) -> BracketStyle:
    return BracketStyle(left="(", right=")", sep=sep, sep2=sep2, last_sep=last_sep)


@dataclass
class RoundAuthorYearReferenceStyle(AuthorYearReferenceStyle):
    """``author_year`` with round brackets and the labels' year letters."""

    bracket_textual: BracketStyle = field(default_factory=lambda: _round(", ", " and ", ", and "))
    bracket_parenthetical: BracketStyle = field(default_factory=_round)
    bracket_author: BracketStyle = field(default_factory=_round)
    bracket_label: BracketStyle = field(default_factory=_round)
    bracket_year: BracketStyle = field(default_factory=_round)
    person: PersonStyle = field(default_factory=PersonStyle)

    def __post_init__(self):
        self.styles.extend([
            _Parenthetical(bracket=self.bracket_parenthetical, person=self.person,
                           author_year_sep=self.author_year_sep, pre_text_sep=self.pre_text_sep,
                           post_text_sep=self.post_text_sep),
            _Textual(bracket=self.bracket_textual, person=self.person,
                     text_reference_sep=self.text_reference_sep, pre_text_sep=self.pre_text_sep,
                     post_text_sep=self.post_text_sep),
            ExtraAuthorReferenceStyle(bracket=self.bracket_author, person=self.person),
            ExtraLabelReferenceStyle(bracket=self.bracket_label),
            _Year(bracket=self.bracket_year),
            ExtraEmptyReferenceStyle(),
        ])
        # GroupReferenceStyle's __post_init__ (AuthorYearReferenceStyle's would add its own styles)
        super(AuthorYearReferenceStyle, self).__post_init__()


def setup(app):
    pybtex.plugin.register_plugin("pybtex.style.labels", _LABEL_STYLE, AuthorYearLabelStyle, force=True)
    pybtex.plugin.register_plugin("pybtex.style.formatting", BIBLIOGRAPHY_STYLE,
                                  AuthorYearBibliographyStyle, force=True)
    register_plugin("sphinxcontrib.bibtex.style.referencing", REFERENCE_STYLE,
                    RoundAuthorYearReferenceStyle, force=True)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
