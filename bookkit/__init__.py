"""Book tooling, apart from the mathematics in :mod:`companion`: the family map's data and link
reader (:mod:`bookkit.families`) and the API page's index (:mod:`bookkit.api_index`).

The chapters import it as they import ``companion``; ``companion`` never imports it.
"""
