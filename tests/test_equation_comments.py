"""Equation labels in code comments become equation numbers on the page (book/_ext/equation_comments.py)."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "book" / "_ext"))
from equation_comments import number_labels_in_comments  # noqa: E402

NUMBERS = {"eq-elbo": "(3.2)", "eq-kl-std": "(3.7)", "eq-x0-from-eps": "(6.5)"}


def test_labels_in_comments_become_numbers_and_code_is_left_alone():
    code = ('x = glue("eq-elbo", 1)  # eq-elbo per unit, see (eq-kl-std)\n'
            '# equation eq-x0-from-eps and eq-unknown\n'
            's = "# eq-elbo is in a string"\n')
    new, unknown = number_labels_in_comments(code, NUMBERS.get)
    assert new == ('x = glue("eq-elbo", 1)  # (3.2) per unit, see (3.7)\n'
                   '# equation (6.5) and eq-unknown\n'
                   's = "# eq-elbo is in a string"\n'), new
    assert unknown == ["eq-unknown"]


def test_a_fragment_that_does_not_parse_still_has_its_comments_numbered():
    code = "    return x  # eq-elbo\n  else:\n"   # bad indentation: tokenize fails
    new, unknown = number_labels_in_comments(code, NUMBERS.get)
    assert new == "    return x  # (3.2)\n  else:\n" and not unknown


def test_a_label_that_only_starts_like_one_is_not_touched():
    new, _ = number_labels_in_comments("y = 1  # eq-elbo-gap and eq-elbo\n", NUMBERS.get)
    assert new == "y = 1  # eq-elbo-gap and (3.2)\n", new
