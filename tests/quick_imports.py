"""A pytest plugin ``./lab test`` loads first (``-p tests.quick_imports``), before nbval.

jsonschema, which nbformat validates notebooks with, imports ``rfc3987_syntax`` when it is
installed (jupyter-events asks for it) to check the ``iri`` string format; that import
builds a grammar with lark and costs 1.4 to 2.5 s in every pytest process here (the
controller and each of ``./lab test``'s workers). No notebook schema uses that format, so
the tests' processes do without it: jsonschema then leaves ``iri`` unchecked, and nothing
else changes.
"""

import sys

sys.modules.setdefault("rfc3987_syntax", None)  # an import of it raises ImportError
